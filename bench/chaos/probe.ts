import { join } from 'node:path';
import { openEmbeddedBus, type Bus, type TopicName } from '../../src/bus/index.js';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { KafkaSettings } from '../../src/config.js';
import { LIQUIDATION_GROUP, LINE_TOPICS } from '../../src/pipeline/keys.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS } from '../../src/pipeline/reconcile-service.js';

/**
 * "Has the liquidation group caught up?" asked from outside the child, while it runs: the one stage
 * boundary the child prints nothing for. Embedded: a fresh read-only open per question (a read-only
 * bus takes the end offsets it finds at open, so it must be reopened to see new records). Kafka: one
 * client in the harness, asking the brokers. Any error (a log half-written at that instant, the bus
 * not created yet) reads as "don't know" and the next poll asks again.
 */
export interface LagProbe {
  liquidationLag(): Promise<number | null>;
  /** asked after a kill: records the reconcile service still had to take (its work cut by the kill) */
  reconcileLag(): Promise<number | null>;
  close(): Promise<void>;
}

export function embeddedProbe(home: string): LagProbe {
  const lagOf = async (group: string, topics: readonly TopicName[]) => {
    let bus: Bus | undefined;
    try {
      bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
      const lag = await bus.lag(group, topics);
      return lag.reduce((s, l) => s + l.lag, 0);
    } catch {
      return null;
    } finally {
      await bus?.close().catch(() => undefined);
    }
  };
  return {
    liquidationLag: () => lagOf(LIQUIDATION_GROUP, LINE_TOPICS),
    reconcileLag: () => lagOf(RECONCILE_GROUP, RECONCILE_TOPICS),
    async close() {},
  };
}

export async function kafkaProbe(settings: KafkaSettings): Promise<LagProbe> {
  const bus = await openKafkaBus(settings);
  const lagOf = async (group: string, topics: readonly TopicName[]) => {
    try {
      const lag = await bus.lag(group, topics);
      return lag.reduce((s, l) => s + l.lag, 0);
    } catch {
      return null;
    }
  };
  return {
    liquidationLag: () => lagOf(LIQUIDATION_GROUP, LINE_TOPICS),
    reconcileLag: () => lagOf(RECONCILE_GROUP, RECONCILE_TOPICS),
    close: () => bus.close(),
  };
}
