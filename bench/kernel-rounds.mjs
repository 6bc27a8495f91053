// The kernel of several builds on the bench's drop, interleaved, in ONE process (bench/README.md "Session 8 — kernel"):
// the drop (seed 1, as npm run bench:liquidate) is generated first, cut in chunks of 50 000 lines, then each build's
// LiquidationKernel runs over the chunks with its ledgers carried from chunk to chunk, build after build, for N rounds;
// it prints the CPU ms of each build and round, then each build's median (round 0, the JIT's warm-up, left out) and best. A build is a
// directory holding dist/src/engine (+ dist/src/model) compiled from a commit (kernel-steps.mjs says how); generation
// and reference loading come from this repository's dist. PROFILE=<path> writes a .cpuprofile of each build's last round.
//   [CHUNK=50000] [MODE=batch|line|exclusive] [FRESH=1] [KEEP=all|json|none] node --expose-gc bench/kernel-rounds.mjs <lines> <rounds> <build dir>...
// CHUNK: lines per liquidateAll call; MODE: batch = liquidateAll (the default), line = kernel.liquidate line by line (the
// workers' call), exclusive = kernel.exclusive() line by line (noemie liquidate's shards).
// KEEP (line and exclusive modes): all = each chunk's settlements kept until the chunk ends (the default, as a worker
// keeps its task's), json = each settlement's JSON made as soon as it is decided and only the text kept, none = the
// settlement dropped at once (what the kernel costs when nothing it returns outlives the line; ledgers are kept in all).
// Each round also prints the CPU of the main thread and of the process's other threads (V8's GC helpers, the
// compiler's), read from /proc/self/task (Linux; at the kernel's clock tick, 10 ms): the process figure counts both.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { kernelDrop } from './kernel-drop.mjs';
const [linesArg, roundsArg, ...dists] = process.argv.slice(2);
const N = Number(linesArg), rounds = Number(roundsArg), CHUNK = Number(process.env.CHUNK ?? 50000), MODE = process.env.MODE ?? 'batch', FRESH = process.env.FRESH === '1', KEEP = process.env.KEEP ?? 'all';
if (!['all', 'json', 'none'].includes(KEEP) || (KEEP !== 'all' && MODE === 'batch')) throw new Error(`KEEP is all, json or none (json and none with MODE=line or exclusive); got ${KEEP}`);
if (!['batch', 'line', 'exclusive'].includes(MODE)) throw new Error(`MODE is batch, line or exclusive; got ${MODE}`);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { ctx, all } = await kernelDrop(root, N);
const chunks = []; for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.slice(i, i + CHUNK));
const mods = []; for (const d of dists) mods.push(await import(join(d, 'dist/src/engine/index.js')));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
// CPU ms of the main thread (its tid is the pid) and of all threads, from /proc (utime + stime, fields 14 and 15).
const threadCpu = () => {
  let main = 0, all = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * 10;
      all += ms;
      if (tid === String(process.pid)) main = ms;
    }
  } catch { return undefined; }
  return { main, all };
};
const best = dists.map(() => Infinity);
const times = dists.map(() => []);
const prof = process.env.PROFILE;
let session;
if (prof) { session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 200 }); }
let outs = [];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < dists.length; i++) {
    globalThis.gc?.();
    outs = [];
    const k = new mods[i].LiquidationKernel(ctx);
    // FRESH=1: each chunk's requests structured-cloned just before the timed run, as a worker receives its batch
    // (young, in input order in memory) instead of lines generated long before and read cold; beneficiaries cloned
    // with them, as in a pool task. Outside the timed section.
    const runChunks = FRESH ? chunks.map((c) => structuredClone(c)) : chunks;
    if (prof && r === rounds - 1) await session.post('Profiler.start');
    const th0 = threadCpu(); const c0 = cpu(); const t0 = performance.now();
    let ledgers = {};
    if (MODE === 'batch') for (const c of runChunks) { const o = k.liquidateAll(c, ctx.asOf, ledgers); ledgers = o.ledgers; outs.push(o.settlements); if (outs.length > 1) outs.shift(); }
    else {
      // One line at a time, each family's state kept by the caller: 'line' = kernel.liquidate (the given state never
      // changed, as src/pipeline/liquidate-lines.ts calls it in the workers), 'exclusive' = kernel.exclusive() (the
      // state written in place, as noemie liquidate's shards, src/pipeline/drop-shard.ts).
      const one = MODE === 'exclusive' ? k.exclusive() : (request, asOf, state) => k.liquidate(request, asOf, state);
      const states = new Map();
      for (const c of runChunks) {
        const settlements = new Array(c.length);
        for (let j = 0; j < c.length; j++) {
          const family = mods[i].stateKeyOf(c[j]);
          const o = one(c[j], ctx.asOf, states.get(family) ?? mods[i].emptyState());
          states.set(family, o.state);
          settlements[j] = KEEP === 'all' ? o.settlement : KEEP === 'json' ? JSON.stringify(o.settlement) : undefined;
        }
        outs.push(settlements); if (outs.length > 1) outs.shift();
      }
    }
    const ms = cpu() - c0; const wall = performance.now() - t0; const th1 = threadCpu();
    const split = th0 && th1 ? `, main thread ${th1.main - th0.main} ms + other threads ${th1.all - th1.main - (th0.all - th0.main)} ms` : '';
    if (prof && r === rounds - 1) { const { profile } = await session.post('Profiler.stop'); writeFileSync(`${prof}.${i}.cpuprofile`, JSON.stringify(profile)); }
    best[i] = Math.min(best[i], ms);
    if (r > 0 || rounds === 1) times[i].push(ms);
    process.stderr.write(`round ${r} ${dists[i]}: ${ms.toFixed(0)} ms CPU${split}, ${wall.toFixed(0)} ms wall, fast ${k.stats.fast} fallback ${k.stats.fallback}\n`);
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const medians = times.map(median);
for (let i = 0; i < dists.length; i++) console.log(`${dists[i]}: median ${medians[i].toFixed(0)} ms CPU = ${Math.round(all.length / medians[i] * 1000)} lines/CPU s, x${(medians[0] / medians[i]).toFixed(3)} vs first; best ${best[i].toFixed(0)} ms CPU = ${Math.round(all.length / best[i] * 1000)} lines/CPU s, x${(best[0] / best[i]).toFixed(3)} vs first`);
