import { join } from 'node:path';
import type { Bus } from './bus.js';
import { openEmbeddedBus } from './embedded/embedded-bus.js';
import type { KafkaBusOptions } from './kafka/kafka-bus.js';
import type { Logger } from '../log.js';

/** The bus between stages: topics, one interface, two implementations (README "Bus"). */
export * from './bus.js';
export * from './errors.js';
export * from './messages.js';
export { partitionCount, TOPICS, TOPIC_NAMES, partitionFor, topicDef, type MessageOf, type TopicDef, type TopicName } from './topics.js';
export { openEmbeddedBus, EmbeddedBus, type EmbeddedBusOptions } from './embedded/embedded-bus.js';
// Kafka's bus is loaded when a command opens it (openBus), not with this module: kafkajs costs
// ≈ 0.12 CPU s to load, paid by every start on the embedded bus until session 24 (bench/README.md
// "Session 24 — restart"). Its modules are imported from src/bus/kafka/ by what needs them.
export type { KafkaBus, KafkaBusOptions } from './kafka/kafka-bus.js';
export { CLI_CONNECT_RETRY } from './kafka/cli-retry.js';
export { onShutdownSignals } from './shutdown.js';

export interface OpenBusOptions {
  /** NOEMIE_HOME: the embedded bus lives in `<home>/bus` */
  home: string;
  /** set (from --kafka / KAFKA_BROKERS, see kafkaSettings in src/config.ts) to use Kafka instead */
  kafka?: KafkaBusOptions;
  /** embedded only: inspect a bus another process is writing (noemie topics) */
  readOnly?: boolean;
  logger?: Logger;
}

export async function openBus(options: OpenBusOptions): Promise<Bus> {
  if (options.kafka) {
    const { openKafkaBus } = await import('./kafka/kafka-bus.js');
    return openKafkaBus({ ...options.kafka, ...(options.logger ? { logger: options.logger } : {}) });
  }
  return openEmbeddedBus({ dir: join(options.home, 'bus'), readOnly: options.readOnly ?? false, ...(options.logger ? { logger: options.logger } : {}) });
}
