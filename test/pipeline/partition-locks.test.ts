import { describe, expect, it } from 'vitest';
import { PartitionLocks } from '../../src/pipeline/partition-locks.js';

/** src/pipeline/partition-locks.ts: the liquidation service's holds when batches of several partitions run at once. */
describe('partition locks', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('holders of one number run one after the other, in the order they asked', async () => {
    const locks = new PartitionLocks();
    const log: string[] = [];
    const hold = async (name: string, numbers: number[]) => {
      const release = await locks.acquire(numbers);
      log.push(`${name} in`);
      await tick();
      await tick();
      log.push(`${name} out`);
      release();
    };
    await Promise.all([hold('a', [2]), hold('b', [2]), hold('c', [2])]);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
    expect(locks.busy).toBe(0);
  });

  it('holders of different numbers run at once', async () => {
    const locks = new PartitionLocks();
    const first = await locks.acquire([0, 1]);
    let second = false;
    const other = locks.acquire([2, 3]).then((release) => ((second = true), release));
    await tick();
    expect(second).toBe(true);
    first();
    (await other)();
    expect(locks.busy).toBe(0);
  });

  it('a holder of several numbers waits for each; two asking for the same numbers in other orders both get them (no deadlock)', async () => {
    const locks = new PartitionLocks();
    const held = await locks.acquire([1]);
    const order: string[] = [];
    const x = locks.acquire([3, 1]).then((release) => (order.push('x'), release));
    const y = locks.acquire([1, 3]).then((release) => (order.push('y'), release));
    await tick();
    expect(order).toEqual([]); // both wait for 1
    held();
    (await x)();
    (await y)();
    expect(order).toEqual(['x', 'y']);
    expect(locks.busy).toBe(0);
  });
});
