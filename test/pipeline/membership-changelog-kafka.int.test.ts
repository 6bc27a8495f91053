import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { defineMembershipChangelogSuite } from './membership-changelog-suite.js';

// Every consumer-group join against the mock broker waits ~3 s (its session timeout).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

/**
 * members-changelog over TCP against librdkafka's mock cluster: the mock keeps at most 5 MiB per
 * partition and drops the oldest beyond, which is how `members` loses its head here (as retention
 * would on a real Kafka): 110 copies of a 60 kB event per partition ≈ 6.6 MB.
 */
const broker = useTestBroker();

defineMembershipChangelogSuite({
  kind: 'kafka',
  fresh: async () => `mc${randomUUID().slice(0, 8)}.`,
  open: (prefix) => openKafkaBus(testBusOptions(broker, prefix, 'noemie-members-changelog-test')),
  fillerCopies: 110,
  loseHead: async (_prefix, bus) => bus,
});
