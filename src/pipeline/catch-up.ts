import type { Bus, GroupLag, TopicName } from '../bus/index.js';

/**
 * "Has the group processed everything published so far?" — true when its committed offset reached
 * the end offset on every partition of the topics. Services commit only after their effects are
 * durable, so a caught-up group means its outputs are on the bus too.
 */
export async function caughtUp(bus: Bus, groupId: string, topics: readonly TopicName[]): Promise<boolean> {
  const lag = await bus.lag(groupId, topics);
  return lag.every((l) => l.lag === 0);
}

/** Where a group stands while it is waited for. */
export interface CatchUpProgress {
  groupId: string;
  /** messages published and not yet committed by the group, over its topics */
  lag: number;
  /** messages the group committed since the wait began */
  done: number;
  elapsedMs: number;
}

export interface WaitCaughtUpOptions {
  /** told every `progressEveryMs` (default 10 s) while the group is behind */
  onProgress?: (progress: CatchUpProgress) => void;
  progressEveryMs?: number;
}

/**
 * Polls `caughtUp` (tests, `--once` runs). Rejects when the group has committed nothing for
 * `stallMs`: a stalled consumer, not a slow one — a 1 M-line drop on a loaded machine takes longer
 * than any fixed budget while its group commits every few seconds, and failing such a run after
 * ten minutes of good work would only make the operator run it again (measured: the 1 M-line bench
 * stopped at 600 s of liquidation, load 12–16, bench/README.md "Session 10 — lead").
 */
export async function waitCaughtUp(bus: Bus, groupId: string, topics: readonly TopicName[], stallMs = 30_000, pollMs = 50, options: WaitCaughtUpOptions = {}): Promise<void> {
  const started = Date.now();
  const progressEveryMs = options.progressEveryMs ?? 10_000;
  let lastCommitted: number | undefined;
  let firstCommitted: number | undefined;
  let movedAt = started;
  let toldAt = started;
  for (;;) {
    const lag = await bus.lag(groupId, topics);
    if (lag.every((l) => l.lag === 0)) return;
    const now = Date.now();
    const committed = committedOf(lag);
    firstCommitted ??= committed;
    if (lastCommitted === undefined || committed > lastCommitted) {
      lastCommitted = committed;
      movedAt = now;
    }
    const behind = lag.reduce((n, l) => n + l.lag, 0);
    if (now - movedAt > stallMs) {
      throw new Error(`group ${groupId} committed nothing on ${topics.join(', ')} for ${stallMs} ms (${behind} message(s) behind after ${now - started} ms): is its service running?`);
    }
    if (options.onProgress && now - toldAt >= progressEveryMs) {
      toldAt = now;
      options.onProgress({ groupId, lag: behind, done: committed - firstCommitted, elapsedMs: now - started });
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The group's committed offsets summed: it only grows while the group works (from `end - lag` where it never committed). */
function committedOf(lag: readonly GroupLag[]): number {
  return lag.reduce((n, l) => n + (l.end - l.lag), 0);
}

/** Snapshot of the end offsets: what "everything published so far" means for a one-shot consumer. */
export async function endOffsetsOf(bus: Bus, topics: readonly TopicName[]): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  for (const t of topics) for (const p of await bus.endOffsets(t)) ends.set(`${t}/${p.partition}`, p.high);
  return ends;
}
