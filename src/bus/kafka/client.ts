import { readFile } from 'node:fs/promises';
import { Kafka, logLevel, type LogEntry, type RetryOptions, type SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../../config.js';
import type { Logger } from '../../log.js';
import { installGzipCodec } from './gzip-codec.js';

/**
 * Builds the kafkajs client from src/config.ts settings. Reconnection is kafkajs's own: every
 * request, the producer and the consumers retry with exponential backoff (RETRY below), and a
 * consumer that crashed on a retriable error restarts itself; `brokers` may be a function, asked
 * again whenever kafkajs needs a new seed broker (the test broker changes ports on restart).
 */
export interface KafkaBusOptions extends Omit<KafkaSettings, 'brokers'> {
  brokers: string[] | (() => string[] | Promise<string[]>);
  logger?: Logger;
  /** kafkajs retry options; default RETRY */
  retry?: RetryOptions;
  /**
   * set: before the bus's own clients, a probe client with this retry connects once (kafkajs
   * applies the client-level retry to the first connection, whatever the admin's or producer's
   * own); unset: none. One-shot CLI commands pass CLI_CONNECT_RETRY: a broker that cannot be
   * reached is reported in seconds with the address tried, not after RETRY's ~2 minutes of silence,
   * while the bus keeps RETRY for the work once connected.
   */
  connectRetry?: RetryOptions;
  /**
   * Ask the broker for offsets by timestamp (ListOffsets). librdkafka's mock cluster answers it
   * wrongly, so the test harness turns it off and offsetForTime scans the partition instead.
   */
  timestampLookup?: boolean;
}

/** ~3 minutes of backoff (0.3 s doubling to 30 s) before an operation gives up. */
export const RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 30_000, retries: 10, factor: 0.2, multiplier: 2 };

export { CLI_CONNECT_RETRY } from './cli-retry.js';

/** The seed brokers as the operator gave them, for error messages. */
export function brokersTried(options: Pick<KafkaBusOptions, 'brokers'>): string {
  return Array.isArray(options.brokers) ? options.brokers.join(',') : 'the brokers of the bus factory';
}

export async function createKafka(options: KafkaBusOptions, retry: RetryOptions = options.retry ?? RETRY): Promise<Kafka> {
  installGzipCodec();
  const ssl = options.ssl === false ? false : options.ssl.caFile ? { rejectUnauthorized: options.ssl.rejectUnauthorized, ca: [await readFile(options.ssl.caFile, 'utf8')] } : { rejectUnauthorized: options.ssl.rejectUnauthorized };
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl,
    ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    retry,
    logLevel: options.logger?.isLevelEnabled('debug') ? logLevel.INFO : logLevel.WARN,
    logCreator: () => (entry: LogEntry) => log(options.logger, entry),
  });
}

function log(logger: Logger | undefined, { namespace, level, log: { message, timestamp: _t, logger: _l, ...extra } }: LogEntry): void {
  if (!logger) return;
  const fields = { kafkajs: namespace, ...extra };
  if (level === logLevel.ERROR) logger.error(fields, message);
  else if (level === logLevel.WARN) logger.warn(fields, message);
  else if (level === logLevel.INFO) logger.info(fields, message);
  else logger.debug(fields, message);
}
