import type { RetryOptions } from 'kafkajs';

/**
 * About 4 s of backoff (0.3, 0.6, 1.2, 2 s, ±20 %) before a CLI command says the broker cannot be
 * reached: a refused or unresolved address fails at once each time, so the wait is the backoff; an
 * address that swallows packets adds kafkajs's connectionTimeout (1 s) per attempt. In a module of
 * its own: the commands name it without loading kafkajs (client.ts does) unless they use Kafka.
 */
export const CLI_CONNECT_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 2_000, retries: 3, factor: 0.2, multiplier: 2 };
