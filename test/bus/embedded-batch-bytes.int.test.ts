import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { batchBytes } from '../../src/bus/embedded/subscription.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * A consumer's batch is as large as its `maxBatch` says, not cut at a fixed 1 MiB of log: every
 * batch is a store commit (and fsyncs) in the stages, so a cut batch multiplies the bytes written
 * (bench/README.md, session 6). The byte bound still holds: 2 KiB per record asked for, at least 1 MiB.
 */
let dir = '';
let bus: EmbeddedBus | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-bus-batch-'));
});
afterEach(async () => {
  await bus?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('embedded bus: batch size of a consumer', () => {
  it('hands maxBatch records per batch when they take more than 1 MiB of log', async () => {
    bus = await openEmbeddedBus({ dir });
    const nir = NIRS[0];
    const n = 3_000;
    for (let i = 0; i < n; i += 500) await bus.produce('decompte-lines', Array.from({ length: 500 }, (_, k) => ({ value: lineMessage(nir, 1, i + k + 1) })));
    const stored = Array.from({ length: 2_048 }, (_, k) => Buffer.byteLength(JSON.stringify(lineMessage(nir, 1, k + 1)))).reduce((a, b) => a + b, 0);
    const sizes: number[] = [];
    const sub = await bus.consume({ groupId: 'g', topics: ['decompte-lines'], maxBatch: 2_048, handler: async (b) => void sizes.push(b.records.length) });
    for (let i = 0; i < 500 && sizes.reduce((a, b) => a + b, 0) < n; i++) await new Promise((r) => setTimeout(r, 10));
    await sub.stop();
    // the values alone of 2 048 records take more than the old fixed 1 MiB cut
    expect(stored).toBeGreaterThan(1024 * 1024);
    expect(sizes).toEqual([2_048, n - 2_048]);
  });

  it('bounds the bytes of a batch by the records asked for', () => {
    expect(batchBytes(1)).toBe(1024 * 1024);
    expect(batchBytes(4_096)).toBe(4_096 * 2_048);
  });
});
