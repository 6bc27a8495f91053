import { CLI_CONNECT_RETRY, type KafkaBusOptions } from '../bus/index.js';
import { kafkaSettings, type Env } from '../config.js';

/**
 * Kafka options of the one-shot commands (topics, payments, replay, statement): the settings of
 * src/config.ts, and a first connection that gives up in seconds (CLI_CONNECT_RETRY) — an operator
 * who typed a wrong address is told so, with the address, instead of waiting minutes for nothing.
 * `noemie run` keeps the long backoff: a service outlives a broker restart.
 */
export function cliKafkaOptions(env: Env, brokers?: string): KafkaBusOptions {
  return { ...kafkaSettings(env, brokers), connectRetry: CLI_CONNECT_RETRY };
}
