import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { movePaymentsToLevel, PAYMENTS_SUB_STORES } from '../src/pipeline/payments-move.js';
import { StateStore } from '../src/state/kv-store.js';
import { LevelStore, levelDirOf } from '../src/state/level-store.js';

/**
 * The one-time move of a home's payment state from LMDB to LevelDB (src/pipeline/payments-move.ts)
 * on a real home: a copy of `--home` (a home kept by `bench:run -- --keep`), moved; prints the keys
 * moved per sub-store, seconds, CPU seconds, bytes written (/proc/self/io), the LevelDB folder
 * before and after, peak RSS. The home given is not changed.
 *
 *   node dist/bench/payments-move.bench.js --home <home> [--dir <scratch parent>]
 */
const { values } = parseArgs({ options: { home: { type: 'string' }, dir: { type: 'string' } } });
if (values.home === undefined) throw new Error('--home <a home with a payment state> is required');

const writeBytes = () => Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
const sizeOf = (dir: string): number => {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? sizeOf(join(dir, e.name)) : statSync(join(dir, e.name)).blocks * 512;
  return n;
};
const mb = (b: number) => (b / 1048576).toFixed(1);

const scratch = mkdtempSync(join(resolve(values.dir ?? tmpdir()), 'noemie-payments-move-'));
try {
  const home = join(scratch, 'home');
  cpSync(join(resolve(values.home), 'state'), join(home, 'state'), { recursive: true });
  const kv = StateStore.open(home);
  const keys = Object.fromEntries(PAYMENTS_SUB_STORES.map((s) => [s.from, kv.sub(s.from).keysAfter(null, Number.MAX_SAFE_INTEGER).length]));
  const level = await LevelStore.open(home);
  const levelBefore = sizeOf(levelDirOf(home));
  const w0 = writeBytes();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await movePaymentsToLevel(kv, level);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const written = writeBytes() - w0;
  await level.close();
  await kv.close();
  const levelAfter = sizeOf(levelDirOf(home));
  console.log(`keys per LMDB sub-store: ${Object.entries(keys).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`moved ${report.copied} keys (removed ${report.removed}) in ${seconds.toFixed(2)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU s, wrote ${mb(written)} MB; state/level ${mb(levelBefore)} → ${mb(levelAfter)} MB (after close); peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  console.log(JSON.stringify({ copied: report.copied, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, writtenBytes: written, levelBefore, levelAfter, keys }));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
