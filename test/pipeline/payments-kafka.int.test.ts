import { randomUUID } from 'node:crypto';
import { it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { tempDir } from './stages-given.js';
import { paymentScenario } from './payments-scenario.js';

// Against the mock broker every consumer-group join waits ~3 s (its session timeout), and the
// whole suite runs two files at once: the 30 s default is too short and, worse, a timed-out test
// keeps running (its cleanup lands in the next test). A real hang still fails, later.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/**
 * The same payment scenario over TCP against librdkafka's mock cluster (kcat), or the Kafka named
 * by KAFKA_BROKERS: consumer groups `reconcile` and `payments`, commits after effects, the second
 * run finding nothing new. A fresh topic prefix isolates the test on a shared broker.
 */
const broker = useTestBroker();

it('Kafka: the payment runs are idempotent and a replay that lowers an amount is recovered', async () => {
  const { dir: home, cleanup } = await tempDir('payments-kafka-');
  const bus = await openKafkaBus(testBusOptions(broker, `p${randomUUID().slice(0, 8)}.`));
  try {
    await paymentScenario(bus, home);
  } finally {
    await bus.close();
    await cleanup();
  }
}, 120_000);
