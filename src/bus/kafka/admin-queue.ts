/**
 * One kafkajs admin request at a time per admin client. kafkajs 2.2 mixes up the responses of
 * concurrent `fetchTopicOffsets` calls on one client (they share a ListOffsets lookup; one call
 * then fails with "Cannot destructure property 'partitions' of 'high.pop(...)' as it is
 * undefined"), and the pipeline does issue them at once: `lag` asks every topic's end and
 * committed offsets together while the liquidation service asks the changelog's end per batch.
 * These are small metadata calls: queueing them costs nothing visible. The same TypeError also
 * comes when the client's metadata lacks the topic's partitions for a moment (a broker just
 * restarted and auto-creating its topics), so a call failing with it is tried again, twice, after
 * a metadata refresh has had time to land (https://github.com/tulios/kafkajs/issues/461).
 */
export class AdminQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(call: () => Promise<T>): Promise<T> {
    const once = () => retryKafkajsTypeError(call);
    const result = this.tail.then(once, once);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

async function retryKafkajsTypeError<T>(call: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof TypeError) || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}
