/**
 * Exclusive holds on partition numbers, for a service handling batches of several partitions at
 * once (the Kafka bus's `concurrency`). A batch holds its own partition number — the same number of
 * the co-partitioned line and request topics shares the same ledgers — and the changelog partition
 * of every family it writes (a line keyed under a family the member file no longer gives it lands
 * on another partition than its ledger). Holders of one number run one after the other, in the
 * order they asked; numbers are taken in ascending order, so two holders never wait on each other.
 */
export class PartitionLocks {
  private readonly tails = new Map<number, Promise<void>>();

  /** Resolves once every number of `partitions` is held; call the returned function to let them go. */
  async acquire(partitions: Iterable<number>): Promise<() => void> {
    const numbers = [...new Set(partitions)].sort((a, b) => a - b);
    const releases: (() => void)[] = [];
    for (const p of numbers) {
      const before = this.tails.get(p) ?? Promise.resolve();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      this.tails.set(p, held);
      await before;
      releases.push(() => {
        release();
        if (this.tails.get(p) === held) this.tails.delete(p);
      });
    }
    return () => {
      for (const r of releases) r();
    };
  }

  /** numbers held or waited for now (tests) */
  get busy(): number {
    return this.tails.size;
  }
}
