import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositeKey } from '../../src/state/kv-store.js';
import { LevelStore, levelDirOf, type BinaryCodec } from '../../src/state/level-store.js';
import { collectAll as collect } from '../support/iterables.js';

/**
 * The home's log-structured store (src/state/level-store.ts, classic-level): one batch per commit,
 * synchronous point reads, async scans, one database per home shared in a process.
 */
let home = '';
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-level-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

it('a commit is one batch: its puts and removes read back synchronously, scans in key order within the sub-store and prefix', async () => {
  const store = await LevelStore.open(home);
  const rows = store.sub<string>('rows', 'text');
  const meta = store.sub<{ n: number }>('meta');
  await store.commit(() => {
    rows.put(compositeKey('b', '2'), 'two');
    rows.put(compositeKey('a', '1'), 'one');
    rows.put(compositeKey('b', '1'), 'b-one');
    meta.put('last', { n: 3 });
  });
  expect(rows.get(compositeKey('a', '1'))).toBe('one');
  expect(meta.get('last')).toEqual({ n: 3 });
  expect(meta.get('none')).toBeUndefined();
  // the sub-store's keys only (not meta's), in byte order; a prefix is a contiguous range
  expect(await collect(rows.keys())).toEqual([compositeKey('a', '1'), compositeKey('b', '1'), compositeKey('b', '2')]);
  expect(await collect(rows.entries(compositeKey('b', '')))).toEqual([[compositeKey('b', '1'), 'b-one'], [compositeKey('b', '2'), 'two']]);
  await store.commit(() => rows.remove(compositeKey('b', '1')));
  expect(rows.get(compositeKey('b', '1'))).toBeUndefined();
  await rows.clear(compositeKey('b', ''));
  expect(await collect(rows.keys())).toEqual([compositeKey('a', '1')]);
  // a write outside commit is refused (it would not be in any batch); a commit whose write throws writes nothing
  expect(() => rows.put('x', 'y')).toThrow(/outside commit/);
  await expect(store.commit(() => {
    rows.put('x', 'y');
    throw new Error('decided wrong');
  })).rejects.toThrow('decided wrong');
  expect(rows.get('x')).toBeUndefined();
  await store.close();
});

it('one database per home in a process: a second open shares the first (LevelDB LOCK allows one opener), the last close closes it', async () => {
  const a = await LevelStore.open(home);
  const b = await LevelStore.open(home);
  expect(b).toBe(a);
  await a.commit(() => a.sub<string>('s', 'text').put('k', 'v'));
  await a.close();
  // still open for b
  expect(b.sub<string>('s', 'text').get('k')).toBe('v');
  await b.close();
  const again = await LevelStore.open(home);
  expect(again.sub<string>('s', 'text').get('k')).toBe('v');
  expect(again.dir).toBe(resolve(levelDirOf(home)));
  await again.close();
});

it('kill -9 in the middle of committing: every batch is there whole or not at all, and the marker names the last', async () => {
  // a child commits batches of 500 keys plus a `last` marker in the same batch (sync: fsynced), as
  // fast as it can, until it is killed; at the next open LevelDB replays its log: every batch up
  // to `last` must be whole and none after it begun
  const levelModule = resolve('dist/src/state/level-store.js');
  const script = `
    const { LevelStore } = await import(${JSON.stringify(levelModule)});
    const store = await LevelStore.open(process.argv[1]);
    const rows = store.sub('rows', 'text'), meta = store.sub('meta');
    for (let b = 0; ; b++) {
      await store.commit(() => { for (let k = 0; k < 500; k++) rows.put(b + '/' + String(k).padStart(3, '0'), 'x'.repeat(200)); meta.put('last', b); });
      if (b === 3) process.stdout.write('going\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, home], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => child.stdout.once('data', () => res()));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const store = await LevelStore.open(home);
  const last = store.sub<number>('meta').get('last')!;
  expect(last).toBeGreaterThanOrEqual(3);
  const perBatch = new Map<number, number>();
  for await (const key of store.sub<string>('rows', 'text').keys()) {
    const b = Number(key.split('/')[0]);
    perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
  }
  expect([...perBatch.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
  expect([...perBatch.values()].every((n) => n === 500)).toBe(true);
  await store.close();
}, 30_000);

it('read-your-writes inside a commit: a get sees the batch own puts and removes (before and after its first read), nothing of a commit that threw', async () => {
  const store = await LevelStore.open(home);
  const runs = store.sub<{ moved: string[] }>('runs');
  const other = store.sub<string>('other', 'text');
  await store.commit(() => {
    runs.put('L1␟R1', { moved: ['a'] });
    other.put('k', 'committed');
  });
  const seen: unknown[] = [];
  await store.commit(() => {
    // two writes before the first read (folded into the overlay at that read), then more after it
    runs.put('L1␟R1', { moved: ['a', 'returned'] });
    other.remove('k');
    seen.push(runs.get('L1␟R1'), other.get('k'), runs.get('L2␟R1'));
    runs.put('L2␟R1', { moved: ['b'] });
    seen.push(runs.get('L2␟R1'));
    // the second return of the same run on the same line reads the first's change, not the database
    runs.put('L1␟R1', { moved: [...runs.get('L1␟R1')!.moved, 'returned again'] });
    runs.remove('L2␟R1');
    seen.push(runs.get('L2␟R1'));
  });
  expect(seen).toEqual([{ moved: ['a', 'returned'] }, undefined, undefined, { moved: ['b'] }, undefined]);
  expect(runs.get('L1␟R1')).toEqual({ moved: ['a', 'returned', 'returned again'] });
  expect(other.get('k')).toBeUndefined();
  // a commit that throws leaves no overlay behind: the next commit reads the database
  await expect(store.commit(() => {
    other.put('k', 'never');
    expect(other.get('k')).toBe('never');
    throw new Error('decided wrong');
  })).rejects.toThrow('decided wrong');
  await store.commit(() => {
    seen.length = 0;
    // a read before any write of the commit (the database), then a write read back
    seen.push(other.get('k'), other.get('j'));
    other.put('j', 'x');
    seen.push(other.get('j'));
  });
  expect(seen).toEqual([undefined, undefined, 'x']);
  expect(other.get('k')).toBeUndefined();
  await store.close();
});

it('writesOnly: the rest of a commit only writes — its writes land whole, a read after it throws (a stale read is never served), the next commit reads and tracks again', async () => {
  const store = await LevelStore.open(home);
  const rows = store.sub<{ n: number }>('rows');
  const text = store.sub<string>('text', 'text');
  await store.commit(() => rows.put('a', { n: 1 }));
  await store.commit(() => {
    // a read, a write read back, then only writes
    expect(rows.get('a')).toEqual({ n: 1 });
    rows.put('a', { n: 2 });
    expect(rows.get('a')).toEqual({ n: 2 });
    store.writesOnly();
    rows.put('b', { n: 3 });
    text.put('t', 'x');
    rows.remove('a');
    // the batch holds a removal of `a` that is not tracked any more: reading it would be stale
    expect(() => rows.get('a')).toThrow(/after writesOnly/);
  });
  expect(rows.get('a')).toBeUndefined();
  expect(rows.get('b')).toEqual({ n: 3 });
  expect(text.get('t')).toBe('x');
  // the next commit tracks its writes again (read-your-writes)
  await store.commit(() => {
    rows.put('c', { n: 4 });
    expect(rows.get('c')).toEqual({ n: 4 });
  });
  expect(() => store.writesOnly()).toThrow(/outside commit/);
  await store.close();
});

it('update: an async decide (a scan) runs after the steps asked before it are written, and no commit lands between its read and its write', async () => {
  const store = await LevelStore.open(home);
  const due = store.sub<number>('due');
  const total = store.sub<number>('total');
  await store.commit(() => {
    for (let i = 0; i < 10; i++) due.put(String(i).padStart(3, '0'), i);
  });
  // ten updates asked in the same turn, each summing the due values by a scan and adding a key:
  // each must see all the writes of the ones before it
  const sums: number[] = [];
  await Promise.all(Array.from({ length: 10 }, (_, n) => store.update(async () => {
    let sum = 0;
    for await (const [, v] of due.entries()) sum += v;
    sums.push(sum);
    return () => {
      due.put(`n${n}`, 100);
      total.put('sum', sum);
    };
  })));
  expect(sums).toEqual(Array.from({ length: 10 }, (_, n) => 45 + 100 * n));
  expect(total.get('sum')).toBe(45 + 900);
  // a decide that writes nothing (null) and one that throws: neither blocks the next steps
  await store.update(() => null);
  await expect(store.update(async () => {
    throw new Error('cannot decide');
  })).rejects.toThrow('cannot decide');
  await store.commit(() => total.put('after', 1));
  expect(total.get('after')).toBe(1);
  await store.close();
});

it('a binary sub-store (its own codec) stores bytes: read back inside its commit, by point and range reads, beside JSON and text sub-stores', async () => {
  // a codec whose bytes are not text: one byte per number, and a first byte 0xff that utf8 would not keep
  const bytes: BinaryCodec<number[]> = { encode: (v) => Uint8Array.from([0xff, ...v]), decode: (raw) => (raw[0] === 0xff ? [...raw.subarray(1)] : (JSON.parse(raw.toString('utf8')) as number[])) };
  const store = await LevelStore.open(home);
  const packed = store.sub<number[]>('packed', bytes);
  const json = store.sub<number[]>('json');
  const seen: unknown[] = [];
  await store.commit(() => {
    json.put('a', [1]);
    packed.put('a', [0, 128, 255]);
    packed.put('b', [7]);
    seen.push(packed.get('a'), packed.get('c'));
  });
  expect(seen).toEqual([[0, 128, 255], undefined]);
  expect(packed.get('a')).toEqual([0, 128, 255]);
  expect(json.get('a')).toEqual([1]);
  expect(await packed.entriesIn()).toEqual([['a', [0, 128, 255]], ['b', [7]]]);
  expect(await collect(packed.entries())).toEqual([['a', [0, 128, 255]], ['b', [7]]]);
  // a value the same key held as JSON text before the codec (its decode tells them apart)
  await store.commit(() => store.sub<number[]>('packed', 'json').put('c', [3, 4]));
  expect(packed.get('c')).toEqual([3, 4]);
  expect((await packed.entriesIn()).map(([k]) => k)).toEqual(['a', 'b', 'c']);
  await store.close();
});

it('getMany reads many keys in one go (absent: undefined), binary sub-stores included; walk reads a range through one iterator, chunk by chunk, from a key', async () => {
  const store = await LevelStore.open(home);
  const rows = store.sub<{ n: number }>('rows');
  const other = store.sub<{ n: number }>('rows-other');
  const bytes: BinaryCodec<number> = { encode: (n) => Uint8Array.of(n), decode: (b) => b[0]! };
  const bin = store.sub<number>('bin', bytes);
  await store.commit(() => {
    for (let i = 0; i < 10; i++) rows.put(`k${i}`, { n: i });
    other.put('k0', { n: -1 });
    bin.put('a', 7);
  });
  expect(await rows.getMany(['k3', 'nope', 'k0', 'k3'])).toEqual([{ n: 3 }, undefined, { n: 0 }, { n: 3 }]);
  expect(await rows.getMany([])).toEqual([]);
  expect(await bin.getMany(['a', 'b'])).toEqual([7, undefined]);
  // chunks of 4, the sub-store's keys only (not rows-other's), in key order, then from a key on
  const chunks: [string, { n: number }][][] = [];
  for await (const c of rows.walk(null, 4)) chunks.push(c);
  expect(chunks.map((c) => c.length)).toEqual([4, 4, 2]);
  expect(chunks.flat().map(([k, v]) => `${k}=${v.n}`)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}=${i}`));
  const from: string[] = [];
  for await (const c of rows.walk('k7', 2)) for (const [k] of c) from.push(k);
  expect(from).toEqual(['k7', 'k8', 'k9']);
  // a walk stopped early closes its iterator: the store still closes
  for await (const c of rows.walk(null, 1)) if (c.length > 0) break;
  await store.close();
});

it("NOEMIE_LEVEL_WRITE_BUFFER_MB reaches LevelDB: 3 MB of puts fill a 1 MiB memtable into table files, and stay in the log with the default (64 MiB)", async () => {
  // LevelDB writes a memtable out as a level-0 table (.ldb) once it passes the write buffer; below
  // it, the puts are only in the write-ahead log (.log) until the next open replays them.
  const tablesAfterPuts = async (dir: string, env: string | undefined): Promise<string[]> => {
    const was = process.env.NOEMIE_LEVEL_WRITE_BUFFER_MB;
    if (env === undefined) delete process.env.NOEMIE_LEVEL_WRITE_BUFFER_MB;
    else process.env.NOEMIE_LEVEL_WRITE_BUFFER_MB = env;
    try {
      const store = await LevelStore.open(dir, { sync: false });
      const rows = store.sub<string>('rows', 'text');
      const value = 'x'.repeat(1000);
      for (let c = 0; c < 30; c++) await store.commit(() => { for (let i = 0; i < 100; i++) rows.put(`${c}-${i}`, value); });
      // looked at before the close, which writes the memtable out as a table whatever its size
      const tables = (await readdir(levelDirOf(dir))).filter((f) => f.endsWith('.ldb'));
      await store.close();
      return tables;
    } finally {
      if (was === undefined) delete process.env.NOEMIE_LEVEL_WRITE_BUFFER_MB;
      else process.env.NOEMIE_LEVEL_WRITE_BUFFER_MB = was;
    }
  };
  expect((await tablesAfterPuts(join(home, 'small'), '1')).length).toBeGreaterThan(0);
  expect(await tablesAfterPuts(join(home, 'default'), undefined)).toEqual([]);
  await expect(tablesAfterPuts(join(home, 'bad'), '0')).rejects.toThrow(/NOEMIE_LEVEL_WRITE_BUFFER_MB/);
});

it('a clean close writes the memtable out as a table: the next open has no log to replay, and reads what was written', async () => {
  const store = await LevelStore.open(home);
  const rows = store.sub<string>('rows', 'text');
  await store.commit(() => {
    for (let i = 0; i < 500; i++) rows.put(compositeKey('k', String(i).padStart(4, '0')), `value ${i}`);
  });
  await store.close();
  const dir = levelDirOf(home);
  const files = await readdir(dir);
  // the write-ahead log the next open would replay is empty; the puts are in a table file
  const logBytes = files.filter((f) => f.endsWith('.log')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  expect(logBytes).toBe(0);
  expect(files.some((f) => f.endsWith('.ldb'))).toBe(true);
  const again = await LevelStore.open(home);
  const read = again.sub<string>('rows', 'text');
  expect(read.get(compositeKey('k', '0499'))).toBe('value 499');
  expect((await collect(read.keys())).length).toBe(500);
  await again.close();
});
