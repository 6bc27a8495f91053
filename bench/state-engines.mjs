// LevelDB (classic-level, our options) against RocksDB (@nxtedition/rocksdb, NOT a dependency: install it
// apart, `npm i --no-save @nxtedition/rocksdb@12`) on our sub-stores' real entries (session 22, bench/README.md
// "Session 22 — … (lead)"):
//   node bench/state-engines.mjs dump <home>/state/level <file>          — a home's live entries, length-prefixed
//   node --max-old-space-size=8000 bench/state-engines.mjs replay <level|rocks|rocks-nowalz> <file> <dir> [puts a batch, 24000]
// The replay writes the entries shuffled (a drop's families come in any order), in batches, with 30 % of each
// batch put a second time (heads and payment lines are written more than once), then closes the store; it prints
// the bytes put, /proc/self/io's wchar / write_bytes / cancelled_write_bytes, the process CPU (the engine's
// compaction threads are the process's), wall, the store's size and the peak RSS (the entries are held in memory).
import { createWriteStream, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [mode, ...args] = process.argv.slice(2);

if (mode === 'dump') {
  const [src, out] = args;
  const { ClassicLevel } = require('classic-level');
  const db = new ClassicLevel(src, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const ws = createWriteStream(out);
  let n = 0;
  let bytes = 0;
  for await (const [k, v] of db.iterator()) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(k.length, 0);
    h.writeUInt32LE(v.length, 4);
    if (!ws.write(Buffer.concat([h, k, v]))) await new Promise((r) => ws.once('drain', r));
    n++;
    bytes += k.length + v.length;
  }
  await new Promise((r) => ws.end(r));
  await db.close();
  console.log(JSON.stringify({ entries: n, mb: Math.round(bytes / 1e6) }));
} else if (mode === 'replay') {
  const [engine, file, dir, batchArg] = args;
  const batch = Number(batchArg ?? 24000);
  const buf = readFileSync(file);
  const entries = [];
  for (let o = 0; o < buf.length; ) {
    const kl = buf.readUInt32LE(o);
    const vl = buf.readUInt32LE(o + 4);
    entries.push([buf.subarray(o + 8, o + 8 + kl), buf.subarray(o + 8 + kl, o + 8 + kl + vl)]);
    o += 8 + kl + vl;
  }
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let db;
  if (engine === 'level') {
    const { ClassicLevel } = require('classic-level');
    // src/state/level-store.ts's options: 64 MiB write buffer, 16 KiB blocks, 8 MiB block cache
    db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 64 << 20, blockSize: 16384, cacheSize: 8 << 20 });
  } else {
    const { RocksLevel } = require('@nxtedition/rocksdb');
    db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', cacheSize: 8 << 20, ...(engine === 'rocks-nowalz' ? { walCompression: false } : {}) });
  }
  await db.open();
  const io = () => {
    const t = readFileSync('/proc/self/io', 'utf8');
    const at = (k) => Number(new RegExp(`${k}: (\\d+)`).exec(t)[1]);
    return { wchar: at('wchar'), written: at('write_bytes'), cancelled: at('cancelled_write_bytes') };
  };
  const io0 = io();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let put = 0;
  for (let s = 0; s < entries.length; s += batch) {
    const ops = [];
    const end = Math.min(entries.length, s + batch);
    for (let i = s; i < end; i++) ops.push({ type: 'put', key: entries[i][0], value: entries[i][1] });
    for (let i = s; i < end; i++) if (rnd() < 0.3) ops.push({ type: 'put', key: entries[i][0], value: entries[i][1] });
    for (const op of ops) put += op.key.length + op.value.length;
    await db.batch(ops);
  }
  await db.close();
  const cpu = process.cpuUsage(cpu0);
  const io1 = io();
  const mb = (b) => Math.round(b / 1e6);
  console.log(JSON.stringify({
    engine, entries: entries.length, putMB: mb(put), wcharMB: mb(io1.wchar - io0.wchar), writeBytesMB: mb(io1.written - io0.written),
    cancelledMB: mb(io1.cancelled - io0.cancelled), cpuS: +((cpu.user + cpu.system) / 1e6).toFixed(1), wallS: +((performance.now() - t0) / 1000).toFixed(1),
    storeMB: Number(execFileSync('du', ['-sm', dir]).toString().split('\t')[0]), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }));
} else {
  console.error('usage: state-engines.mjs dump <level dir> <file> | replay <level|rocks|rocks-nowalz> <file> <dir> [batch]');
  process.exitCode = 2;
}
