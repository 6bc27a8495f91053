import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { waitCaughtUp, type CatchUpProgress } from '../../src/pipeline/catch-up.js';
import { lineMessage, NIRS } from '../bus/fixtures.js';

/**
 * `noemie run --once` waits for its services with `waitCaughtUp`: a slow group (a large drop on a
 * loaded machine) is waited for as long as it commits, and its progress is told; a group that
 * commits nothing for the stall budget is an error that says how far behind it is.
 */
let dir = '';
let bus: EmbeddedBus;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-catch-up-'));
  bus = await openEmbeddedBus({ dir, fsync: false });
  await bus.produce('decompte-lines', Array.from({ length: 12 }, (_, i) => ({ value: lineMessage(NIRS[0], 1, i + 1) })));
});
afterEach(async () => {
  await bus.close();
  await rm(dir, { recursive: true, force: true });
});

describe('waitCaughtUp', () => {
  it('waits for a group that commits more slowly than the stall budget in all, and tells its progress', async () => {
    // 12 records, one per batch, 50 ms each: ≈ 600 ms of work, twice the 300 ms stall budget,
    // while a gap between two commits stays far below it.
    const sub = await bus.consume({ groupId: 'slow', topics: ['decompte-lines'], maxBatch: 1, handler: () => sleep(50) });
    const told: CatchUpProgress[] = [];
    const started = Date.now();
    await waitCaughtUp(bus, 'slow', ['decompte-lines'], 300, 10, { onProgress: (p) => told.push(p), progressEveryMs: 50 });
    expect(Date.now() - started).toBeGreaterThan(300);
    expect((await bus.lag('slow', ['decompte-lines'])).every((l) => l.lag === 0)).toBe(true);
    expect(told.length).toBeGreaterThan(0);
    // each report counts what was committed since the wait began and what is left: together, what
    // was left when the wait began (the same in every report, at most the topic's 12)
    const left = told[0]!.done + told[0]!.lag;
    expect(left).toBeLessThanOrEqual(12);
    for (const p of told) {
      expect(p.groupId).toBe('slow');
      expect(p.done + p.lag).toBe(left);
    }
    expect(told.at(-1)!.done).toBeGreaterThan(0);
    expect(told.map((p) => p.done)).toEqual([...told.map((p) => p.done)].sort((a, b) => a - b));
    await sub.stop();
  });

  it('rejects a group that commits nothing for the stall budget, saying how far behind it is', async () => {
    let release = () => undefined as void;
    const sub = await bus.consume({ groupId: 'stuck', topics: ['decompte-lines'], handler: () => new Promise<void>((r) => (release = r)) });
    const started = Date.now();
    await expect(waitCaughtUp(bus, 'stuck', ['decompte-lines'], 150, 10)).rejects.toThrow(/group stuck committed nothing on decompte-lines for 150 ms \(12 message\(s\) behind/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    release();
    await sub.stop();
  });

  it('returns at once for a group already caught up', async () => {
    const sub = await bus.consume({ groupId: 'quick', topics: ['decompte-lines'], handler: async () => undefined });
    await waitCaughtUp(bus, 'quick', ['decompte-lines'], 5_000, 10);
    const lag = await bus.lag('quick', ['decompte-lines']);
    expect(lag.reduce((n, l) => n + l.lag, 0)).toBe(0);
    await sub.stop();
    await waitCaughtUp(bus, 'quick', ['decompte-lines'], 1, 10);
  });
});
