/**
 * At most `limit` jobs in flight: `add` waits while that many are running (backpressure on the
 * caller, bounded memory), `drain` waits for all of them. The first job that fails is kept and
 * thrown by the next `add` or `drain` — the jobs after it still run to their end (a file half
 * written is not left behind by a stop in the middle), but nothing new is accepted.
 * Used by the statement pass's writers: on this thread (StatementFiles) and in its workers
 * (StatementRenderPool).
 */
export class BoundedJobs {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(
    private readonly limit: number,
    /** what the first failure is thrown as (default: itself) */
    private readonly wrap: (cause: unknown) => unknown = (cause) => cause,
  ) {}

  get size(): number {
    return this.running.size;
  }

  /** Starts `start()` unless a job failed; then waits while `limit` jobs are in flight. */
  async add(start: () => Promise<unknown>): Promise<void> {
    this.throwIfFailed();
    const job = start().then(
      () => undefined,
      (cause: unknown) => {
        this.failure ??= this.wrap(cause);
      },
    );
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwIfFailed();
  }

  /** Waits for every job added so far; throws the first that failed. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwIfFailed();
  }

  /** Waits for every job, whatever their outcome (a close after a failure). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.running);
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}
