import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord, ConsumeOptions } from '../../src/bus/bus.js';
import { BusError } from '../../src/bus/errors.js';
import { partitionFor, type TopicName } from '../../src/bus/topics.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * One behavioural suite, run unchanged on the embedded bus and on a Kafka-protocol broker.
 * `open()` must return a bus on the same storage as the previous calls of the test (a reopen),
 * `fresh()` isolates a test (a new directory, a new topic prefix).
 */
export interface BusWorld {
  fresh(): Promise<void>;
  open(): Promise<Bus>;
}

const key = (nir: string, rang: number) => `${nir}-${rang}`;

/** Consumes until `count` records arrived, then stops the subscription (after its commit). */
export async function collect<T extends TopicName>(bus: Bus, options: Omit<ConsumeOptions<T>, 'handler'> & { count: number; timeoutMs?: number }): Promise<BusRecord<T>[]> {
  const got: BusRecord<T>[] = [];
  let reached!: () => void;
  const done = new Promise<void>((r) => (reached = r));
  const sub = await bus.consume<T>({
    ...options,
    handler: async (batch) => {
      got.push(...(batch.records as BusRecord<T>[]));
      if (got.length >= options.count) reached();
    },
  });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`only ${got.length} of ${options.count} records after ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000).unref());
  try {
    await Promise.race([done, timeout, sub.done.then(() => Promise.reject(new Error('subscription ended early')))]);
  } finally {
    await sub.stop();
  }
  return got;
}

export function defineBusSuite(name: string, world: BusWorld): void {
  describe(`${name}: Bus behaviour`, () => {
    const opened: Bus[] = [];
    const open = async () => {
      const b = await world.open();
      opened.push(b);
      return b;
    };
    beforeEach(() => world.fresh());
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });

    it('delivers every message once, on the partition its key hashes to, with key, value and headers intact', async () => {
      const bus = await open();
      const sent = NIRS.flatMap((nir, i) => [1, 2, 3].map((n) => lineMessage(nir, 1 + (i % 2), 10 * i + n)));
      await bus.produce('decompte-lines', sent.map((value) => ({ value })));

      const got = await collect(bus, { groupId: 'g-deliver', topics: ['decompte-lines'], count: 12 });
      expect(got).toHaveLength(12);
      for (const r of got) {
        expect(r.key).toBe(key(r.value.line.nir, r.value.line.rang));
        expect(r.partition).toBe(partitionFor(r.key));
      }
      // Headers: origin of each line and lineKey = noemie-<caisse>:<décompte>:<line>, written out by hand for one.
      const first = got.find((r) => r.value.line.nir === NIRS[0] && r.value.line.lineNo === 1)!;
      expect(first.headers).toEqual({ file: 'drop-2025-03-10.csv', record: 2, lineKey: 'noemie-011751234:D0001:1' });
      expect(got.map((r) => r.value).sort(byLine)).toEqual([...sent].sort(byLine));
      // Offsets per partition are 0..n−1 with no gap: 12 messages, each once.
      const perPartition = new Map<number, number[]>();
      for (const r of got) perPartition.set(r.partition, [...(perPartition.get(r.partition) ?? []), r.offset]);
      for (const offsets of perPartition.values()) expect(offsets.sort((a, b) => a - b)).toEqual(offsets.map((_, i) => i));
    });

    it("keeps each beneficiary's lines in production order across produce calls", async () => {
      const bus = await open();
      // Three calls, each interleaving the four beneficiaries: line numbers 1..3, 4..6, 7..9 per NIR.
      for (const call of [0, 1, 2]) {
        await bus.produce('decompte-lines', [1, 2, 3].flatMap((n) => NIRS.map((nir) => ({ value: lineMessage(nir, 1, 3 * call + n) }))));
      }
      const got = await collect(bus, { groupId: 'g-order', topics: ['decompte-lines'], count: 36, maxBatch: 5 });
      for (const nir of NIRS) {
        expect(got.filter((r) => r.value.line.nir === nir).map((r) => r.value.line.lineNo)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      }
    });

    it('commits after the handler, and a reopened bus resumes the group after its commit', async () => {
      let bus = await open();
      const nir = NIRS[0];
      const p = partitionFor(key(nir, 1));
      await bus.produce('decompte-lines', [1, 2, 3, 4, 5, 6].map((n) => ({ value: lineMessage(nir, 1, n) })));

      const seen: number[] = [];
      const sub = await bus.consume({
        groupId: 'g-resume',
        topics: ['decompte-lines'],
        maxBatch: 2,
        handler: async (batch) => {
          seen.push(...batch.records.map((r) => r.offset));
          void sub.stop(); // stop after this batch: its commit still happens
        },
      });
      await sub.done;
      expect(seen).toEqual([0, 1]);
      await bus.close();

      bus = await open();
      // Two records handled → next offset 2; 6 − 2 = 4 left.
      expect((await bus.committedOffsets('g-resume', 'decompte-lines')).find((c) => c.partition === p)?.offset).toBe(2);
      expect((await bus.lag('g-resume', ['decompte-lines'])).find((l) => l.partition === p)).toEqual({ topic: 'decompte-lines', partition: p, committed: 2, end: 6, lag: 4 });
      const rest = await collect(bus, { groupId: 'g-resume', topics: ['decompte-lines'], count: 4 });
      expect(rest.map((r) => r.offset)).toEqual([2, 3, 4, 5]);
    });

    it('commits nothing when the handler fails, and delivers that batch again', async () => {
      const bus = await open();
      const p = partitionFor(key(NIRS[1], 1));
      await bus.produce('decompte-lines', [1, 2, 3].map((n) => ({ value: lineMessage(NIRS[1], 1, n) })));
      const boom = new Error('settlement store unavailable');
      const sub = await bus.consume({
        groupId: 'g-fail',
        topics: ['decompte-lines'],
        handler: async () => {
          throw boom;
        },
      });
      await expect(sub.done).rejects.toBe(boom);
      expect((await bus.committedOffsets('g-fail', 'decompte-lines')).find((c) => c.partition === p)?.offset ?? null).toBeNull();
      const again = await collect(bus, { groupId: 'g-fail', topics: ['decompte-lines'], count: 3 });
      expect(again.map((r) => r.offset)).toEqual([0, 1, 2]);
    });

    it("reads a replay range [from, to) of one partition without touching any group's offsets", async () => {
      const bus = await open();
      const nir = NIRS[2];
      const p = partitionFor(key(nir, 1));
      await bus.produce('decompte-lines', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ value: lineMessage(nir, 1, n) })));
      await collect(bus, { groupId: 'g-live', topics: ['decompte-lines'], count: 10 });
      const before = await bus.committedOffsets('g-live', 'decompte-lines');

      const range = await readAll(bus.readRange('decompte-lines', p, { from: 3, to: 7 }));
      expect(range.flat().map((r) => r.offset)).toEqual([3, 4, 5, 6]);
      expect(range.flat().map((r) => r.value.line.lineNo)).toEqual([4, 5, 6, 7]); // offset o holds line o+1
      expect((await readAll(bus.readRange('decompte-lines', p, { from: 8 }))).flat().map((r) => r.offset)).toEqual([8, 9]);
      expect((await readAll(bus.readRange('decompte-lines', p, { from: 0, maxBatch: 4 }))).map((b) => b.length)).toEqual([4, 4, 2]);
      expect(await readAll(bus.readRange('decompte-lines', p, { from: 10 }))).toEqual([]);
      await expect(readAll(bus.readRange('decompte-lines', p, { from: 11 }))).rejects.toMatchObject({ code: 'BUS_OFFSET_OUT_OF_RANGE' });

      expect(await bus.committedOffsets('g-live', 'decompte-lines')).toEqual(before);
      expect(before.find((c) => c.partition === p)?.offset).toBe(10);
    });

    it('reports end offsets and lag per group', async () => {
      const bus = await open();
      const pa = partitionFor(key(NIRS[0], 1));
      const pb = partitionFor(key(NIRS[3], 2));
      await bus.produce('decompte-lines', [
        { value: lineMessage(NIRS[0], 1, 1) },
        { value: lineMessage(NIRS[0], 1, 2) },
        { value: lineMessage(NIRS[3], 2, 1) },
      ]);
      const ends = await bus.endOffsets('decompte-lines');
      expect(ends.map((e) => e.partition)).toEqual([0, 1, 2, 3]);
      const expectedEnd = (partition: number) => (partition === pa ? 2 : 0) + (partition === pb ? 1 : 0);
      for (const e of ends) expect(e.high - e.low).toBe(expectedEnd(e.partition));

      const lagBefore = await bus.lag('g-lag', ['decompte-lines']);
      expect(lagBefore.reduce((s, l) => s + l.lag, 0)).toBe(3);
      expect(lagBefore.every((l) => l.committed === null)).toBe(true);
      await collect(bus, { groupId: 'g-lag', topics: ['decompte-lines'], count: 3 });
      const lagAfter = await bus.lag('g-lag', ['decompte-lines']);
      expect(lagAfter.filter((l) => l.end > 0).every((l) => l.lag === 0 && l.committed === l.end)).toBe(true);
    });

    it('refuses a message that fails its topic schema and writes nothing of the call', async () => {
      const bus = await open();
      const bad = lineMessage(NIRS[0], 1, 2);
      bad.line.expense = '30.5'; // Money needs two decimals
      const call = bus.produce('decompte-lines', [{ value: lineMessage(NIRS[0], 1, 1) }, { value: bad }]);
      await expect(call).rejects.toBeInstanceOf(BusError);
      await expect(call).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE', context: { index: 1 } });
      expect((await bus.endOffsets('decompte-lines')).every((e) => e.high === e.low)).toBe(true);
    });

    it('writes to an explicit partition (counters changelog follows its line)', async () => {
      const bus = await open();
      await bus.produce('counters-changelog', [{ value: { key: `${key(NIRS[0], 1)}:dentaire:2025`, value: '1', lineKey: 'noemie-011751234:D0001:1', version: 1 }, partition: 3 }]);
      const [batch] = await readAll(bus.readRange('counters-changelog', 3, { from: 0 }));
      expect(batch?.[0]).toMatchObject({ partition: 3, offset: 0, key: '1850375123456-1:dentaire:2025', headers: { lineKey: 'noemie-011751234:D0001:1' } });
    });

    it('finds the first offset at or after a time', async () => {
      const bus = await open();
      const p = partitionFor(key(NIRS[1], 2));
      await bus.produce('decompte-lines', [1, 2].map((n) => ({ value: lineMessage(NIRS[1], 2, n) })));
      await new Promise((r) => setTimeout(r, 50));
      const between = Date.now();
      await new Promise((r) => setTimeout(r, 50));
      await bus.produce('decompte-lines', [3, 4, 5].map((n) => ({ value: lineMessage(NIRS[1], 2, n) })));
      // Two records before `between`, three after: offsets 0,1 | 2,3,4.
      expect(await bus.offsetForTime('decompte-lines', p, between)).toBe(2);
      expect(await bus.offsetForTime('decompte-lines', p, 0)).toBe(0);
      expect(await bus.offsetForTime('decompte-lines', p, between + 3_600_000)).toBe(5);
    });
  });
}

export async function readAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function byLine(a: { line: { nir: string; lineNo: number } }, b: { line: { nir: string; lineNo: number } }): number {
  return a.line.nir.localeCompare(b.line.nir) || a.line.lineNo - b.line.lineNo;
}
