import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ClassicLevel } from 'classic-level';
import { open as openLmdb } from 'lmdb';
import { pack, unpack } from 'msgpackr';
import { root, runChild } from './support.js';

/**
 * The embedded key-value store for the pipeline's state, chosen by measurement: LMDB (`lmdb`) vs
 * LevelDB (`classic-level`) on the access pattern of the pipeline's state stores —
 *   load     batches of 4 096 puts (a ~200-byte record keyed by lineKey + a family → lineKey index
 *            key) with 16 gets each, ONE durable commit per batch (lmdb: one transaction, fsync on
 *            commit; LevelDB: `batch(ops, { sync: true })`);
 *   update   durable batches of 4 096 re-writes of random existing lines (new versions);
 *   get      random point reads of existing lines;
 *   scan     prefix scans family → its lineKeys, then a get of each line (what a statement does);
 *   reader   a second reader of the same store from a worker thread while the main thread holds it
 *            open (a piscina worker reading state): ops/s, or the error.
 * Load and update also report the bytes the child wrote to storage (/proc/self/io write_bytes).
 * Each backend runs in a fresh child process (peak RSS = its own maxRSS). Values are encoded with
 * msgpackr for both (lmdb's default encoding), so both store the same bytes.
 *
 *   npm run bench:state-store [-- --keys 1000000] [--dir <dir>]
 */
const { values } = parseArgs({ options: { keys: { type: 'string' }, dir: { type: 'string' }, child: { type: 'string' }, path: { type: 'string' }, reader: { type: 'string' } } });

const BATCH = 4096;
const FAMILIES_PER_KEY = 40; // one family per 40 lines, as the generator's default population
const mb = (kb: number) => Math.round(kb / 1024);

/** A settled line's facts, as the payment stage keeps them (~200 bytes once encoded). */
function record(i: number, version: number) {
  return {
    settlement: { version, status: 'paid', annulled: false, tiersPayant: i % 3 === 0, adherentId: `ADH${String(i % 25_000).padStart(7, '0')}`, amcAmount: `${(i % 9000) / 100 + 1}.00`.replace(/\.(\d)\.00$/, '.$10') },
    tp: i % 3 === 0 ? { version, kind: 'matched', payee: `ps:${100000000 + (i % 5000)}`, owed: '12.50' } : null,
    paid: { [`member:ADH${String(i % 25_000).padStart(7, '0')}`]: '21.50' },
    careDate: '2025-03-04',
    act: 'C',
  };
}
const lineKey = (i: number) => `noemie-${Math.floor(i / 100_000)}:D${String(i).padStart(8, '0')}:1`;
const family = (i: number) => `ADH${String(Math.floor(i / FAMILIES_PER_KEY)).padStart(7, '0')}`;
const lineK = (i: number) => `l\u0000${lineKey(i)}`;
const famK = (i: number) => `f\u0000${family(i)}\u0000${lineKey(i)}`;

/** Deterministic pseudo-random indices (same for both backends). */
function* randomIndices(n: number, max: number, seed = 7): Generator<number> {
  let x = seed;
  for (let k = 0; k < n; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    yield x % max;
  }
}

/** Bytes this process caused to be written to storage (/proc/self/io write_bytes). */
function writtenBytes(): number {
  try {
    return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  } catch {
    return Number.NaN;
  }
}

function duBytes(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  return readdirSync(path).reduce((s, f) => s + duBytes(join(path, f)), 0);
}

interface Backend {
  write(ops: { key: string; value: unknown }[]): Promise<void>;
  get(key: string): Promise<unknown>;
  scan(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

async function openBackend(kind: string, path: string): Promise<Backend> {
  if (kind === 'lmdb') {
    // overlappingSync off: the commit promise resolves once the transaction is fsynced
    const db = openLmdb<unknown, string>({ path, overlappingSync: false, mapSize: 8 * 1024 ** 3 });
    return {
      write: (ops) => db.transaction(() => { for (const o of ops) db.put(o.key, o.value); }),
      get: async (key) => db.get(key),
      scan: async (prefix) => [...db.getKeys({ start: prefix, end: `${prefix}\uffff` })] as string[],
      close: () => db.close(),
    };
  }
  const db = new ClassicLevel<string, Uint8Array>(path, { valueEncoding: 'view' });
  await db.open();
  return {
    write: (ops) => db.batch(ops.map((o) => ({ type: 'put' as const, key: o.key, value: pack(o.value) })), { sync: true }),
    get: async (key) => {
      const v = await db.get(key);
      return v === undefined ? undefined : unpack(v);
    },
    scan: async (prefix) => db.keys({ gte: prefix, lt: `${prefix}\uffff` }).all(),
    close: () => db.close(),
  };
}

/** The worker-thread reader: opens the store the main thread holds open and reads random lines. */
async function readerChild(kind: string, path: string, keys: number): Promise<object> {
  const n = 50_000;
  try {
    const b = await openBackend(kind, path);
    const t0 = performance.now();
    let found = 0;
    for (const i of randomIndices(n, keys, 99)) if ((await b.get(lineK(i))) !== undefined) found += 1;
    const s = (performance.now() - t0) / 1000;
    await b.close();
    return { ok: true, getsPerSec: Math.round(n / s), found };
  } catch (e) {
    return { ok: false, error: String((e as Error).message).slice(0, 120) };
  }
}

async function child(kind: string, path: string, keys: number): Promise<object> {
  rmSync(path, { recursive: true, force: true });
  rmSync(`${path}-lock`, { force: true });
  mkdirSync(resolve(path, '..'), { recursive: true });
  const b = await openBackend(kind, path);
  const rss = () => mb(process.resourceUsage().maxRSS);

  // load: batches of puts (record + index key), a few gets each, one durable commit per batch
  let w0 = writtenBytes();
  let t0 = performance.now();
  let gets = 0;
  for (let start = 0; start < keys; start += BATCH) {
    const ops: { key: string; value: unknown }[] = [];
    for (let i = start; i < Math.min(keys, start + BATCH); i++) ops.push({ key: lineK(i), value: record(i, 1) }, { key: famK(i), value: null });
    for (let g = 0; g < 16 && start > 0; g++) {
      await b.get(lineK((start * 7 + g * 131) % start));
      gets += 1;
    }
    await b.write(ops);
  }
  const loadS = (performance.now() - t0) / 1000;
  const loadWritten = writtenBytes() - w0;
  const loadBytes = duBytes(path);

  // update: durable batches re-writing random existing lines (version 2)
  const updateBatches = Math.max(1, Math.min(50, Math.floor(keys / BATCH / 4)));
  w0 = writtenBytes();
  t0 = performance.now();
  const rand = randomIndices(updateBatches * BATCH, keys, 11);
  for (let u = 0; u < updateBatches; u++) {
    const ops: { key: string; value: unknown }[] = [];
    for (let k = 0; k < BATCH; k++) {
      const i = rand.next().value as number;
      ops.push({ key: lineK(i), value: record(i, 2) });
    }
    await b.write(ops);
  }
  const updateS = (performance.now() - t0) / 1000;
  const updateWritten = writtenBytes() - w0;

  // point reads
  const nGets = 100_000;
  t0 = performance.now();
  for (const i of randomIndices(nGets, keys, 23)) await b.get(lineK(i));
  const getS = (performance.now() - t0) / 1000;

  // prefix scans: family → its lineKeys → each line
  const nFamilies = 2_000;
  t0 = performance.now();
  let scanned = 0;
  for (const i of randomIndices(nFamilies, keys, 31)) {
    const ks = await b.scan(`f\u0000${family(i)}\u0000`);
    for (const k of ks) await b.get(`l\u0000${k.slice(k.lastIndexOf('\u0000') + 1)}`);
    scanned += ks.length;
  }
  const scanS = (performance.now() - t0) / 1000;

  // a second reader (worker thread) while this one still holds the store open
  const reader = await new Promise<object>((res) => {
    const w = new Worker(fileURLToPath(import.meta.url), { argv: ['--reader', kind, '--path', path, '--keys', String(keys)] });
    w.once('message', res);
    w.once('error', (e) => res({ ok: false, error: String(e.message).slice(0, 120) }));
  });
  await b.close();
  return {
    backend: kind, keys, loadSeconds: loadS, loadPutsPerSec: Math.round((2 * keys) / loadS), batchesPerSec: Math.round(keys / BATCH / loadS), getsDuringLoad: gets,
    loadWrittenPerLine: Math.round(loadWritten / keys),
    updatePutsPerSec: Math.round((updateBatches * BATCH) / updateS), updateBatches, updateWrittenPerPut: Math.round(updateWritten / (updateBatches * BATCH)),
    getsPerSec: Math.round(nGets / getS), scanFamiliesPerSec: Math.round(nFamilies / scanS), scannedLines: scanned,
    bytesOnDiskAfterLoad: loadBytes, bytesOnDisk: duBytes(path), bytesPerKey: Math.round(loadBytes / keys), peakRssMb: rss(), reader,
  };
}

async function main(): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  if (values.reader !== undefined) {
    parentPort!.postMessage(await readerChild(values.reader, values.path!, Number(values.keys)));
    return;
  }
  const keys = Number(values.keys ?? 1_000_000);
  if (values.child !== undefined) {
    console.log(JSON.stringify(await child(values.child, values.path!, keys)));
    return;
  }
  const dir = resolve(values.dir ?? join(tmpdir(), 'noemie-bench-state'));
  const rows: object[] = [];
  for (const kind of ['lmdb', 'classic-level']) {
    const path = join(dir, kind === 'lmdb' ? 'bench.mdb' : 'bench.level');
    const row = await runChild(import.meta.url, ['--child', kind, '--path', path, '--keys', String(keys)]);
    rows.push(row);
    console.log(JSON.stringify(row));
    rmSync(path, { recursive: true, force: true });
    rmSync(`${path}-lock`, { force: true });
  }
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  writeFileSync(join(root, 'bench', 'out', 'state-store.json'), JSON.stringify({ node: process.version, platform: process.platform, date: new Date().toISOString(), rows }, null, 2));
}

await main();
