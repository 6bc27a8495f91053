import { watch, type FSWatcher } from 'node:fs';
import { InboxScanner } from './complete.js';
import { INCOMPLETE_GRACE_MS } from './settled.js';
import { failure, openInbox, processCandidate, quarantineFailed, refuseSpecial, sleep, type InboxOptions, type InboxOutcome } from './process.js';

export interface WatchOptions extends InboxOptions {
  /** periodic rescan, the safety net under fs.watch (default 2000 ms) */
  pollMs?: number;
  /** unexpected failures of one file before it is quarantined (default 3) */
  maxAttempts?: number;
}

/**
 * The service loop: handles complete files one at a time, oldest first, until `signal` aborts.
 * The same signal reaches ingestDrop: a drop being read when it aborts has its part aborted in the
 * sink and stays in the inbox, read again at the next start.
 * fs.watch wakes the loop early; a rescan every `pollMs` covers file systems where it is silent or
 * unsupported (NFS, some containers). A handler error is logged, never stops the loop.
 */
export async function watchInbox(home: string, handler: (o: InboxOutcome) => void | Promise<void>, options: WatchOptions = {}): Promise<void> {
  const ctx = await openInbox(home, options);
  const { signal } = options;
  const pollMs = options.pollMs ?? 2000;
  const stableMs = options.stableMs ?? 1000;
  const maxAttempts = options.maxAttempts ?? 3;
  const scanner = new InboxScanner(ctx.layout.inbox, options.completeWhen, stableMs);
  const attempts = new Map<string, number>();
  /** files left as still being written, by size + mtime: not looked at again until they change or their grace ends */
  const incomplete = new Map<string, string>();
  const grace = options.incompleteGraceMs ?? INCOMPLETE_GRACE_MS;

  let wake: (() => void) | undefined;
  let poked = false;
  const poke = () => {
    poked = true;
    wake?.();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(ctx.layout.inbox, { persistent: false }, poke);
    watcher.on('error', (e) => ctx.logger.warn({ err: e }, 'fs.watch failed, relying on the periodic rescan'));
  } catch (e) {
    ctx.logger.warn({ err: e }, 'fs.watch unavailable, relying on the periodic rescan');
  }

  try {
    while (!signal?.aborted) {
      poked = false;
      const ready = await scanner.scan().catch((e: unknown) => {
        ctx.logger.error({ err: e, inbox: ctx.layout.inbox }, 'cannot list the inbox');
        return [];
      });
      for (const sp of scanner.specials) {
        if (signal?.aborted) break;
        const outcome = await refuseSpecial(ctx, sp).catch((e: unknown) => failure(ctx, { name: sp.name, path: sp.path, size: 0, mtimeMs: 0 }, e));
        try {
          await handler(outcome);
        } catch (e) {
          ctx.logger.error({ err: e, file: sp.name }, 'inbox handler failed');
        }
      }
      for (const c of ready) {
        if (signal?.aborted) break;
        const look = `${c.size}:${c.mtimeMs}`;
        if (incomplete.get(c.name) === look && Date.now() - c.mtimeMs < grace) continue;
        incomplete.delete(c.name);
        let outcome: InboxOutcome;
        try {
          outcome = await processCandidate(ctx, c);
          attempts.delete(c.name);
          if (outcome.incomplete) incomplete.set(c.name, look);
        } catch (e) {
          const n = (attempts.get(c.name) ?? 0) + 1;
          attempts.set(c.name, n);
          outcome = failure(ctx, c, e);
          if (n >= maxAttempts && !signal?.aborted) {
            outcome = await quarantineFailed(ctx, c, e, n).catch((e2: unknown) => failure(ctx, c, e2));
            attempts.delete(c.name);
          }
        }
        scanner.forget(c.name);
        try {
          await handler(outcome);
        } catch (e) {
          ctx.logger.error({ err: e, file: c.name }, 'inbox handler failed');
        }
      }
      if (poked) continue;
      // a file seen but not yet stable is looked at again after stableMs, not a whole poll later
      const wait = scanner.waiting > 0 ? Math.min(stableMs + 10, pollMs) : pollMs;
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(wait, signal).then(resolve);
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
  }
}
