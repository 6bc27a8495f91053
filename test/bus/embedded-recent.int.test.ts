import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRUSTED, type BusRecord } from '../../src/bus/bus.js';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import type { LineMessage } from '../../src/bus/messages.js';
import { readAll } from './bus-suite.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * The embedded bus hands the records this process appended last to its own consumers as the
 * objects produced (partition-log.ts "recent"): no file read, no JSON.parse. What they read must be
 * exactly what a reader of the file reads, batch by batch, and nobody may change those shared
 * objects (the suite runs with NOEMIE_BUS_VERIFY=1: checked against their bytes, and frozen).
 */
let dir = '';
const opened: EmbeddedBus[] = [];
const open = async (readOnly = false) => {
  const bus = await openEmbeddedBus({ dir, readOnly, fsync: false });
  opened.push(bus);
  return bus;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-bus-recent-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

const nir = NIRS[0];
const p = partitionFor(`${nir}-1`);
const values = (from: number, n: number) => Array.from({ length: n }, (_, i) => lineMessage(nir, 1, from + i));

/** A subscription collecting every batch, in order, until `expected` records arrived. */
async function collect(bus: EmbeddedBus, groupId: string, expected: number, maxBatch: number, produce: () => Promise<void>): Promise<BusRecord<'decompte-lines'>[][]> {
  const batches: BusRecord<'decompte-lines'>[][] = [];
  const sub = await bus.consume({ groupId, topics: ['decompte-lines'], maxBatch, handler: async (b) => void batches.push(b.records as BusRecord<'decompte-lines'>[]) });
  await produce();
  for (let i = 0; i < 500 && batches.flat().length < expected; i++) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  return batches;
}

describe('embedded bus: the records a process appended last, read back by its own consumers', () => {
  it('a consumer of the process gets the produced objects themselves, in the batches and with the records a reader of the file gets', async () => {
    const bus = await open();
    const produced = values(1, 300);
    const batches = await collect(bus, 'g', 300, 64, async () => {
      for (let i = 0; i < 300; i += 100) await bus.produce('decompte-lines', produced.slice(i, i + 100).map((value) => ({ value, key: `${nir}-1` })), TRUSTED);
    });
    const consumed = batches.flat();
    expect(consumed.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // no copy: the very objects produced (the file was neither read nor parsed)
    consumed.forEach((r, i) => expect(r.value).toBe(produced[i]));
    expect(batches.every((b) => b.length <= 64)).toBe(true);
    // what a reader of the file gets (another bus, read-only: nothing in memory, every record parsed and checked)
    await bus.close();
    const fromFile = (await readAll((await open(true)).readRange('decompte-lines', p, { from: 0, maxBatch: 64 }))).flat();
    expect(consumed).toEqual(fromFile);
  });

  it('the shared objects are frozen and must be what their bytes say: a trusted value with an undefined field is refused', async () => {
    const bus = await open();
    const [value] = values(1, 1) as [LineMessage];
    const batches = await collect(bus, 'g', 1, 10, () => bus.produce('decompte-lines', [{ value, key: `${nir}-1` }], TRUSTED));
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.line)).toBe(true);
    expect(() => {
      (batches[0]![0]!.value.line as { lineNo: number }).lineNo = 99;
    }).toThrow(TypeError);
    // JSON drops an undefined field: a reader of the file would not see the key this object has
    const odd = { ...values(2, 1)[0]!, recordId: undefined } as unknown as LineMessage;
    await expect(bus.produce('decompte-lines', [{ value: odd, key: `${nir}-1` }], TRUSTED)).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE' });
  });

  it('a topic no consumer of the process reads keeps nothing: a consumer arriving later reads the file', async () => {
    const bus = await open();
    const produced = values(1, 5);
    await bus.produce('decompte-lines', produced.map((value) => ({ value, key: `${nir}-1` })), TRUSTED);
    const consumed = (await collect(bus, 'late', 5, 10, async () => undefined)).flat();
    expect(consumed.map((r) => r.value)).toEqual(produced);
    consumed.forEach((r, i) => expect(r.value).not.toBe(produced[i]));
  });

  it('a consumer further behind than what is kept reads the file, then the kept records', async () => {
    const bus = await open();
    // 9 000 records > the 8 192 kept: the first ones are read from the file
    const produced = values(1, 9_000);
    const batches = await collect(bus, 'g', 9_000, 4_096, async () => {
      // produced before the consumer's first read can run (one produce call, awaited in one go)
      await bus.produce('decompte-lines', produced.map((value) => ({ value, key: `${nir}-1` })), TRUSTED);
    });
    const consumed = batches.flat();
    expect(consumed.map((r) => r.value.line.lineNo)).toEqual(produced.map((v) => v.line.lineNo));
    expect(consumed[0]!.value).not.toBe(produced[0]);
    expect(consumed[8_999]!.value).toBe(produced[8_999]);
  });
});
