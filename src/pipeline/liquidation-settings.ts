import type { Env } from '../config.js';
import type { LiquidationServiceOptions } from './liquidation-service.js';

/**
 * The liquidation service's state settings for a home, a bus and the environment, shared by
 * `noemie run` and the service process: its ledger store lives in the home's state store
 * (`<home>/state/store.mdb`, `ledger.*`), one namespace per bus the home talks to, so Kafka
 * namespaces (topic prefixes) never share one
 * (src/pipeline/README.md "State store"); cache bounds and the worker heap cap come from the
 * environment unless the command line says otherwise.
 */
export function liquidationState(
  home: string,
  kafka: { topicPrefix: string } | undefined,
  env: Env,
  overrides: { cacheSize?: number; cacheMb?: number } = {},
): Required<Pick<LiquidationServiceOptions, 'busId' | 'ledgers' | 'workerHeapMb'>> {
  const busId = kafka ? `kafka-${kafka.topicPrefix === '' ? 'default' : kafka.topicPrefix}` : 'embedded';
  return {
    busId,
    ledgers: {
      home,
      cacheSize: overrides.cacheSize ?? env.NOEMIE_LEDGER_CACHE,
      cacheBytes: (overrides.cacheMb ?? env.NOEMIE_LEDGER_CACHE_MB) * 1024 * 1024,
    },
    workerHeapMb: env.NOEMIE_WORKER_HEAP_MB,
  };
}
