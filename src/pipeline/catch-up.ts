import type { Bus, TopicName } from '../bus/index.js';

/**
 * "Has the group processed everything published so far?" — true when its committed offset reached
 * the end offset on every partition of the topics. Services commit only after their effects are
 * durable, so a caught-up group means its outputs are on the bus too.
 */
export async function caughtUp(bus: Bus, groupId: string, topics: readonly TopicName[]): Promise<boolean> {
  const lag = await bus.lag(groupId, topics);
  return lag.every((l) => l.lag === 0);
}

/** Polls `caughtUp` (tests, `--once` runs); rejects after `timeoutMs`. */
export async function waitCaughtUp(bus: Bus, groupId: string, topics: readonly TopicName[], timeoutMs = 30_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await caughtUp(bus, groupId, topics)) return;
    if (Date.now() > deadline) throw new Error(`group ${groupId} did not catch up with ${topics.join(', ')} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Snapshot of the end offsets: what "everything published so far" means for a one-shot consumer. */
export async function endOffsetsOf(bus: Bus, topics: readonly TopicName[]): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  for (const t of topics) for (const p of await bus.endOffsets(t)) ends.set(`${t}/${p.partition}`, p.high);
  return ends;
}
