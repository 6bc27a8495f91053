import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../src/bus/bus.js';
import type { EmbeddedBus, EmbeddedBusOptions } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { embeddedBusPerTest } from '../support/embedded-bus.js';
import { readAll } from './bus-suite.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * The embedded bus keeps the newest appends of a partition in memory while a subscription of the
 * same process follows it (src/bus/embedded/tail.ts): a group that keeps up is handed them from
 * there, not read back from the file. What must not change: what a consumer is handed (the file's
 * records, each consumer's own objects), when (only once the append is durable), and what a
 * restart reads (the file) — within a byte budget.
 */
const tmp = embeddedBusPerTest('noemie-bus-tail-');
const open = (options: Partial<EmbeddedBusOptions> = {}) => tmp.open(options);

const nir = NIRS[0];
const p = partitionFor(`${nir}-1`);
const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ value: lineMessage(nir, 1, from + i) }));
type Line = BusRecord<'decompte-lines'>;

/** A group consuming decompte-lines into `got`, its handler optionally held back by `gate`. */
async function follow(bus: EmbeddedBus, groupId: string, got: Line[], options: { gate?: Promise<void>; entered?: () => void; mutate?: boolean; maxBatch?: number } = {}) {
  return bus.consume({
    groupId,
    topics: ['decompte-lines'],
    ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
    handler: async (b) => {
      options.entered?.();
      await options.gate;
      for (const r of b.records as Line[]) {
        got.push(structuredClone(r));
        // a consumer that changes what it was handed changes its own copy only
        if (options.mutate) r.value.line.nir = 'changed by g1';
      }
    },
  });
}

async function until(what: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The partition as a fresh process reads it: from the file, checked with zod (codec.ts decode). */
async function fromFile(): Promise<Line[]> {
  await tmp.closeAll();
  const bus = await open({ readOnly: true });
  return (await readAll(bus.readRange('decompte-lines', p, { from: 0 }))).flat();
}

describe('embedded bus: the in-memory tail', () => {
  it('hands a group that keeps up the records from memory, the same records the file holds', async () => {
    const bus = await open();
    const got: Line[] = [];
    const sub = await follow(bus, 'g', got);
    for (let call = 0; call < 5; call++) await bus.produce('decompte-lines', lines(1 + call * 10, 10));
    await until(() => got.length === 50);
    await sub.stop();
    const s = bus.tailStats();
    expect(s.served).toBe(50); // every record from memory
    expect(s.kept).toBe(5); // one chunk per append
    expect(s.used).toBe(0); // let go once the only follower has read it
    expect(got).toEqual(await fromFile());
  });

  it('hands each group objects of its own: what one changes, the other does not see', async () => {
    const bus = await open();
    const g1: Line[] = [];
    const g2: Line[] = [];
    const subs = [await follow(bus, 'g1', g1, { mutate: true }), await follow(bus, 'g2', g2)];
    await bus.produce('decompte-lines', lines(1, 20));
    await until(() => g1.length === 20 && g2.length === 20);
    await Promise.all(subs.map((s) => s.stop()));
    expect(bus.tailStats().served).toBe(40);
    expect(g2.map((r) => r.value.line.nir)).toEqual(Array(20).fill(nir));
    expect(g2).toEqual(g1);
    // and a third group, started after, reads the file: the records as appended
    const g3: Line[] = [];
    const late = await follow(bus, 'g3', g3);
    await until(() => g3.length === 20);
    await late.stop();
    expect(g3).toEqual(g2);
  });

  it('keeps nothing for a partition no subscription follows', async () => {
    const bus = await open();
    await bus.produce('decompte-lines', lines(1, 10));
    expect(bus.tailStats()).toMatchObject({ kept: 0, used: 0 });
    const got: Line[] = [];
    const sub = await follow(bus, 'g', got);
    await until(() => got.length === 10);
    await sub.stop();
    expect(bus.tailStats()).toMatchObject({ served: 0, used: 0 }); // read from the file
    expect(got.map((r) => r.value.line.lineNo)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('stays within its byte budget: a group that lags reads the file up to what memory holds, then memory', async () => {
    const one = JSON.stringify(lineMessage(nir, 1, 1)).length;
    // room for about 25 records of the 60 produced while the group is held back
    const bus = await open({ tailBytes: 25 * (one + 150) });
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const got: Line[] = [];
    const sub = await follow(bus, 'g', got, { gate, maxBatch: 10 });
    let most = 0;
    for (let call = 0; call < 6; call++) {
      await bus.produce('decompte-lines', lines(1 + call * 10, 10));
      most = Math.max(most, bus.tailStats().used);
    }
    expect(most).toBeLessThanOrEqual(bus.tailStats().limit);
    expect(bus.tailStats().refused).toBeGreaterThan(0);
    release();
    await until(() => got.length === 60);
    // appends made after the group caught up are kept again
    await bus.produce('decompte-lines', lines(61, 10));
    await until(() => got.length === 70);
    await sub.stop();
    const s = bus.tailStats();
    expect(s.served).toBeGreaterThan(10);
    expect(s.missed).toBeGreaterThan(0);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 70 }, (_, i) => i));
    expect(got).toEqual(await fromFile());
  });

  it('keeps appends only for groups that keep up: one behind what memory holds reads the file, and is served from memory once it has caught up', async () => {
    const bus = await open();
    await bus.produce('decompte-lines', lines(1, 10)); // before any group: nothing kept
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const got: Line[] = [];
    let entered = false;
    const sub = await follow(bus, 'g', got, { gate, entered: () => (entered = true) });
    await until(() => entered); // following, its first batch (the first 10) in hand
    await bus.produce('decompte-lines', lines(11, 10)); // the group is 10 records behind it
    expect(bus.tailStats()).toMatchObject({ kept: 0, refused: 1, used: 0 });
    release();
    await until(() => got.length === 20);
    // its commit on disk (the group goes on once the offsets file is renamed into place and its folder synced)
    const offsetsFile = join(tmp.dir, 'groups', 'g', 'decompte-lines.json');
    await until(() => {
      try {
        return (JSON.parse(readFileSync(offsetsFile, 'utf8')) as Record<string, number>)[String(p)] === 20;
      } catch {
        return false;
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(bus.tailStats().served).toBe(0); // all of it from the file
    await bus.produce('decompte-lines', lines(21, 10)); // caught up: kept, and served from memory
    await until(() => got.length === 30);
    await sub.stop();
    expect(bus.tailStats()).toMatchObject({ kept: 1, served: 10 });
    expect(got.map((r) => r.value.line.lineNo)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('keeps nothing when told so (tailBytes 0): every read goes to the file', async () => {
    const bus = await open({ tailBytes: 0 });
    const got: Line[] = [];
    const sub = await follow(bus, 'g', got);
    await bus.produce('decompte-lines', lines(1, 10));
    await until(() => got.length === 10);
    await sub.stop();
    expect(bus.tailStats()).toMatchObject({ served: 0, kept: 0, limit: 0 });
  });

  it('holds a record only once its append is durable: an append whose sync fails is never handed out', async () => {
    const bus = await open();
    const got: Line[] = [];
    const sub = await follow(bus, 'g', got);
    await bus.produce('decompte-lines', lines(1, 5));
    await until(() => got.length === 5);
    // the next fdatasync of the process fails (a full disk, an I/O error): the append is undone
    const log = await bus.log('decompte-lines', p);
    const handle = (log as unknown as { log: object }).log;
    const datasync = vi.spyOn(Object.getPrototypeOf(handle) as { datasync: () => Promise<void> }, 'datasync').mockRejectedValueOnce(new Error('EIO'));
    await expect(bus.produce('decompte-lines', lines(6, 5))).rejects.toMatchObject({ code: 'BUS_CORRUPT_LOG' });
    expect(datasync).toHaveBeenCalled();
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toHaveLength(5);
    await bus.produce('decompte-lines', lines(11, 5));
    await until(() => got.length === 10);
    await sub.stop();
    expect(got.map((r) => [r.offset, r.value.line.lineNo])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((o) => [o, o < 5 ? o + 1 : o + 6]));
    expect(got).toEqual(await fromFile());
  });

  it('after kill -9, every record a group was handed from memory is in the file as it was handed, and a restart reads the file', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'bus-child.ts'), 'follow', tmp.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const handed = () => [...out.matchAll(/got (\d+):(\d+):(\d+)/g)];
    const served = () => Math.max(0, ...[...out.matchAll(/served (\d+)/g)].map((m) => Number(m[1])));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (handed().length >= 400) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', (code) => (handed().length >= 400 ? resolve() : reject(new Error(`child exited with ${code}: ${stderr}`))));
    });
    await new Promise((r) => child.once('close', r));
    expect(served()).toBeGreaterThan(0); // the child was handed records from memory

    const bus = await open(); // the dead writer's LOCK is stale and taken over
    const onDisk = new Map<string, number>();
    for (let partition = 0; partition < 4; partition++) {
      for (const r of (await readAll(bus.readRange('decompte-lines', partition, { from: 0 }))).flat()) onDisk.set(`${partition}:${r.offset}`, r.value.line.lineNo);
    }
    for (const [, partition, offset, lineNo] of handed()) expect(onDisk.get(`${partition}:${offset}`)).toBe(Number(lineNo));
    // the group goes on from what it committed, reading the file: every record after it, once
    const committed = new Map((await bus.committedOffsets('g-follow', 'decompte-lines')).map((c) => [c.partition, c.offset ?? 0]));
    const after: Line[] = [];
    const sub = await follow(bus, 'g-follow', after);
    const expected = [...onDisk.keys()].filter((k) => Number(k.split(':')[1]) >= committed.get(Number(k.split(':')[0]))!).length;
    await until(() => after.length === expected);
    await sub.stop();
    expect(new Set(after.map((r) => `${r.partition}:${r.offset}`)).size).toBe(expected);
    for (const r of after) expect(r.offset).toBeGreaterThanOrEqual(committed.get(r.partition)!);
  }, 30_000);
});
