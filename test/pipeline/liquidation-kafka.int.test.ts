import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { readEnv } from '../../src/config.js';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { defineLiquidationSuite } from './liquidation-suite.js';

// Against the mock broker every consumer-group join waits ~3 s (its session timeout), and the
// whole suite runs two files at once: the 30 s default is too short and, worse, a timed-out test
// keeps running (its cleanup lands in the next test). A real hang still fails, later.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/**
 * The same pipeline suite over TCP against librdkafka's mock cluster (kcat), or the Kafka named by
 * KAFKA_BROKERS. Each namespace is a topic prefix.
 */
const broker = useTestBroker();

const options = (topicPrefix: string) => testBusOptions(broker, topicPrefix, 'noemie-pipeline-test');

// KAFKA_BROKERS set: an external cluster, which the tests cannot pause.
const broker_kind = () => (readEnv().KAFKA_BROKERS ? 'external' : 'mock');

defineLiquidationSuite({
  kind: 'kafka',
  fresh: async () => `p${randomUUID().slice(0, 8)}.`,
  open: (prefix) => openKafkaBus(options(prefix)),
  // The mock keeps its data in kcat's memory: a restart loses every topic and offset, which would
  // test nothing about the pipeline. SIGSTOP instead: connections stay open, nothing answers, and
  // kafkajs must time out, retry and carry on (the consumer may be kicked from its group and rejoin).
  ...(broker_kind() === 'mock'
    ? {
        outage: async (ms: number) => {
          await broker.pause();
          await new Promise((r) => setTimeout(r, ms));
          broker.resume();
        },
      }
    : {}),
  // a home of its own per run: without --home the service would keep its state (membership, ledgers) in ./var,
  // shared with every other run from this folder (a stale ./var once changed the members a line was read against)
  serviceArgs: (prefix) => ['--home', join(tmpdir(), `noemie-kafka-test-${prefix}`), '--kafka', broker.brokers().join(','), '--topic-prefix', prefix, '--session-timeout-ms', String(broker.kind === 'mock' ? 3_000 : 6_000)],
});
