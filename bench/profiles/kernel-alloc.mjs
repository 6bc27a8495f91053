// Bytes per line the kernel allocates (ALL=1: everything, the collected included) or leaves alive (default), by the
// function that allocated them (HeapProfiler sampling, 512 B), over the bench's drop (seed 1) after one warm-up run.
//   node --expose-gc bench/profiles/kernel-alloc.mjs <lines> <build dir holding dist/src/engine>   (bench/README.md "Session 15 — kernel")
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { kernelDrop } from '../kernel-drop.mjs';
const [linesArg, dist] = process.argv.slice(2);
const N = Number(linesArg);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { ctx, all } = await kernelDrop(root, N);
const m = await import(join(dist, 'dist/src/engine/index.js'));
let k = new m.LiquidationKernel(ctx);
let out = k.liquidateAll(all, ctx.asOf, {});
out = null; globalThis.gc();
const s = new Session(); s.connect();
const ALL = process.env.ALL === '1';
await s.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: ALL, includeObjectsCollectedByMinorGC: ALL });
k = new m.LiquidationKernel(ctx);
out = k.liquidateAll(all, ctx.asOf, {});
const { profile } = await s.post('HeapProfiler.stopSampling');
const bySite = new Map(); let total = 0;
const walk = (n) => {
  const f = n.callFrame; const name = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  if (n.selfSize) { total += n.selfSize; bySite.set(name, (bySite.get(name) ?? 0) + n.selfSize); }
  for (const c of n.children) walk(c);
};
walk(profile.head);
console.log(`${ALL ? 'allocated' : 'surviving'}: ${(total / N).toFixed(0)} B per line`);
for (const [k2, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / N).toFixed(0).padStart(6), k2);
