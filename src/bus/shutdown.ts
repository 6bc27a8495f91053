import type { Logger } from '../log.js';

/**
 * SIGINT/SIGTERM → `close()` once (subscriptions finish their batch in flight and commit, then
 * leave their group; files and connections are released), then the process exits with 0, or 1
 * if closing failed. A second signal while closing exits at once with 130. Returns a disposer.
 */
export function onShutdownSignals(close: () => Promise<void>, logger?: Logger): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      logger?.warn({ signal }, 'second signal while shutting down: exiting now');
      process.exit(130);
    }
    closing = true;
    logger?.info({ signal }, 'shutting down: finishing batches in flight');
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger?.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
