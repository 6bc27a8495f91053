/**
 * Calls made while an earlier one is in flight go out together in the next one, as a group commit
 * does: produce calls share a kafkajs `sendBatch` (one Produce request per leader broker for all of
 * them, `sends.ts`), offset commits share an OffsetCommit (`commits.ts`).
 *
 * Why: on Kafka the liquidation service handles batches of several partitions at once, and each
 * batch awaits its settlements, then its ledger pieces (acks −1), then its offset commit. Each was a
 * request round trip of its own, queued behind the others' on the broker connections
 * (maxInFlightRequests 1), for ≈ 30 records each on the test broker (bench/README.md "Session 9 —
 * kafka").
 *
 * What a caller is promised does not change: its call resolves once the group holding it went
 * through, and rejects with the group's error otherwise (nothing of the call is then known to be
 * done: the caller fails as it would have on its own request failing); a call made after awaiting
 * another goes in a later group; a call is never split. The first call goes at once: nothing waits
 * for company.
 */
export class CallGroups<T> {
  private waiting: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  /**
   * @param run carries out one group's calls (oldest first)
   * @param take how many of the oldest calls waiting go in the next group (at least one is taken)
   */
  constructor(
    private readonly run: (items: T[]) => Promise<unknown>,
    private readonly take: (waiting: readonly T[]) => number = (w) => w.length,
  ) {}

  push(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const n = Math.max(1, Math.min(this.waiting.length, this.take(this.waiting.map((w) => w.item))));
      const group = this.waiting.splice(0, n);
      try {
        await this.run(group.map((w) => w.item));
        for (const w of group) w.resolve();
      } catch (e) {
        for (const w of group) w.reject(e);
      }
    }
    this.running = false;
  }
}
