import { describe, expect, it } from 'vitest';
import { BoundedJobs } from '../../src/pipeline/bounded-jobs.js';

/** a job the test finishes by hand */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

describe('BoundedJobs', () => {
  it('waits in add while `limit` jobs run, and drain waits for all', async () => {
    const jobs = new BoundedJobs(2);
    const a = gate();
    const b = gate();
    await jobs.add(() => a.done);
    let third = false;
    const adding = jobs.add(() => b.done).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    expect(jobs.size).toBe(2);
    a.open();
    await adding;
    expect(third).toBe(true);
    let drained = false;
    const draining = jobs.drain().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false);
    b.open();
    await draining;
    expect(jobs.size).toBe(0);
  });

  it('keeps the first failure, wrapped: the next add starts nothing and throws it, drain throws it', async () => {
    const jobs = new BoundedJobs(4, (cause) => new Error(`wrapped: ${(cause as Error).message}`));
    const a = gate();
    const b = gate();
    await jobs.add(() => a.done);
    await jobs.add(() => b.done);
    a.fail(new Error('first'));
    b.fail(new Error('second'));
    await jobs.settle();
    let started = false;
    await expect(jobs.add(async () => void (started = true))).rejects.toThrow('wrapped: first');
    expect(started).toBe(false);
    await expect(jobs.drain()).rejects.toThrow('wrapped: first');
  });
});
