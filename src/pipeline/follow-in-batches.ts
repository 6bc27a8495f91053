import type { Bus, TopicName } from '../bus/index.js';
import type { Logger } from '../log.js';

/**
 * Runs a stage's one-shot catch-up (`updateStatementIndex`, the payment stage's consumption) while
 * the topics fill, but only once one partition is at least `minBatch` records behind: the catch-up
 * then takes full batches (a batch is one partition's records, one durable store commit each), as
 * the stage's own catch-up at the end does. A consumer running all the time would commit whatever
 * small batch had just arrived: measured on `noemie run --once` (bench/README.md "run"), that wrote
 * 1.76× the bytes per line, the store's pages rewritten by many small commits; a trigger on the
 * group's total lag (4 096 over 4 partitions: batches of ≈ 1 000) still 1.35×.
 * What is left when `stop()` is called is the stage's own catch-up.
 */
export interface BatchFollower {
  /** waits for the catch-up in flight (if any); starts no other */
  stop(): Promise<void>;
}

export interface FollowOptions {
  bus: Bus;
  groupId: string;
  topics: readonly TopicName[];
  /** records behind on one partition before a catch-up starts */
  minBatch: number;
  /** how often the lag is read */
  everyMs?: number;
  catchUp: () => Promise<unknown>;
  logger?: Logger;
  /** what to say when a catch-up fails (the stage's own catch-up after stop() will meet the cause again) */
  what: string;
}

export function followInBatches(o: FollowOptions): BatchFollower {
  let stopping = false;
  let wake: (() => void) | null = null;
  const pause = () => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, o.everyMs ?? 250);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const loop = (async () => {
    while (!stopping) {
      try {
        const behind = Math.max(0, ...(await o.bus.lag(o.groupId, o.topics)).map((l) => l.lag));
        if (behind >= o.minBatch && !stopping) await o.catchUp();
      } catch (e) {
        o.logger?.warn({ err: e }, `${o.what}: a catch-up while following failed; the stage catches up itself`);
        return;
      }
      if (!stopping) await pause();
    }
  })();
  return {
    async stop() {
      stopping = true;
      (wake as (() => void) | null)?.();
      await loop;
    },
  };
}
