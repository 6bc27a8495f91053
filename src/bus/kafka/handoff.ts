/**
 * A one-slot channel from a push callback (kafkajs eachBatch) to a pull loop (an async
 * generator): put() resolves only when the reader took the item, so the consumer fetches no
 * further than the reader reads (backpressure) and memory holds one batch.
 */
export class Handoff<T> {
  private item: { value: T; taken: () => void } | null = null;
  private wakeReader: (() => void) | null = null;
  private ended = false;
  private error: unknown = null;

  put(value: T): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((taken) => {
      this.item = { value, taken };
      this.signal();
    });
  }

  /** no more items: the reader finishes after the current one */
  end(): void {
    this.ended = true;
    this.signal();
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.end();
  }

  /** the reader went away: release a pending put */
  close(): void {
    this.ended = true;
    this.item?.taken();
    this.item = null;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.item) {
        const { value, taken } = this.item;
        this.item = null;
        taken();
        yield value;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private signal(): void {
    const w = this.wakeReader;
    this.wakeReader = null;
    w?.();
  }
}
