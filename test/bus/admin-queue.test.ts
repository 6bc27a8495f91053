import { describe, expect, it } from 'vitest';
import { AdminQueue } from '../../src/bus/kafka/admin-queue.js';

/** The Kafka bus's admin calls run one at a time (kafkajs breaks with concurrent offset lookups). */
describe('AdminQueue', () => {
  it('runs calls one at a time, in order, and a failed call does not stop the next', async () => {
    const q = new AdminQueue();
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const call = (n: number, fail = false) => async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      order.push(n);
      if (fail) throw new Error(`call ${n} failed`);
      return n;
    };
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => q.run(call(n, n === 2))));
    expect(most).toBe(1);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it("tries a call again when kafkajs fails with a TypeError (its offsets lookup on missing metadata), at most 3 times", async () => {
    const q = new AdminQueue();
    let tries = 0;
    const flaky = async () => {
      tries += 1;
      if (tries < 3) throw new TypeError("Cannot destructure property 'partitions' of 'high.pop(...)' as it is undefined.");
      return 'ok';
    };
    await expect(q.run(flaky)).resolves.toBe('ok');
    expect(tries).toBe(3);
    let always = 0;
    await expect(q.run(async () => { always += 1; throw new TypeError('still broken'); })).rejects.toThrow('still broken');
    expect(always).toBe(3);
  });
});
