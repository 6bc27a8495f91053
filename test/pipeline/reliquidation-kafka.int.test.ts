import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { defineReliquidationSuite } from './reliquidation-suite.js';

// Every consumer-group join against the mock broker waits ~3 s (its session timeout).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

/** Re-liquidation over TCP against librdkafka's mock cluster (kcat), or the Kafka named by KAFKA_BROKERS. */
const broker = useTestBroker();

// 'proofs' is left to the embedded bus: what it adds is the fold's and the engine's reading, not the
// bus's (≈ 45 s more here); 'removed' runs here too (recovery and a redelivery by a new group, ≈ 32 s).
defineReliquidationSuite({
  kind: 'kafka',
  fresh: async () => `r${randomUUID().slice(0, 8)}.`,
  open: (prefix) => openKafkaBus(testBusOptions(broker, prefix, 'noemie-reliq-test')),
  // a home of its own per run: without --home the service would keep its state (membership, ledgers) in ./var,
  // shared with every other run from this folder (a stale ./var once changed the members a line was read against)
  serviceArgs: (prefix) => ['--home', join(tmpdir(), `noemie-kafka-test-${prefix}`), '--kafka', broker.brokers().join(','), '--topic-prefix', prefix, '--session-timeout-ms', String(broker.kind === 'mock' ? 3_000 : 6_000)],
}, { only: ['résiliation', 'unknown', 'handover', 'counters', 'kill', 'removed'] });
