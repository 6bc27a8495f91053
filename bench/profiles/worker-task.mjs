// A liquidation worker's task loop in one thread, without the pool (bench/README.md "Session 16 — kernel"): the bench's
// drop (seed 1) cut in tasks of TASK lines (1 024, the service's batch), each run by src/pipeline/liquidate-lines.ts
// `liquidateTask` with `write` (the service's path: settlements' JSON, ledger pieces, the UTF-8 buffers). Each task
// starts from empty ledgers (its families' heads then hold only the task's own counters and renewals: smaller than a
// drop's, so the encoding's share here is a floor; no heads to parse, no packed lines to unpack). Builds interleaved
// (A B A B …), CPU ms of each round, main thread and other threads; PROFILE=<path> writes each build's last round's
// .cpuprofile (node bench/profiles/summarise-cpuprofile.mjs <file> liquidateTask).
//   [TASK=1024] node --expose-gc bench/profiles/worker-task.mjs <lines> <rounds> <build dir holding dist/>...
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { kernelDrop } from '../kernel-drop.mjs';
const [linesArg, roundsArg, ...dists] = process.argv.slice(2);
const N = Number(linesArg), rounds = Number(roundsArg), TASK = Number(process.env.TASK ?? 1024);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { ctx, all } = await kernelDrop(root, N);
const reference = { grids: ctx.grids, nomenclature: ctx.nomenclature, pmss: ctx.pmss };
const mods = []; for (const d of dists) mods.push({ lines: await import(join(d, 'dist/src/pipeline/liquidate-lines.js')), engine: await import(join(d, 'dist/src/engine/index.js')) });
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const threadCpu = () => {
  let main = 0, every = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ms = (Number(f[11]) + Number(f[12])) * 10;
    every += ms;
    if (tid === String(process.pid)) main = ms;
  }
  return { main, every };
};
const prof = process.env.PROFILE;
let session;
if (prof) { session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 200 }); }
const times = dists.map(() => []);
let bytes = 0;
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < dists.length; i++) {
    globalThis.gc?.();
    const { lines: m, engine } = mods[i];
    if (prof && r === rounds - 1) await session.post('Profiler.start');
    const th0 = threadCpu(); const c0 = cpu();
    bytes = 0;
    for (let at = 0; at < all.length; at += TASK) {
      const chunk = all.slice(at, at + TASK);
      const requests = chunk.map((x) => ({ line: x.line, beneficiary: x.beneficiary ?? null, asOf: ctx.asOf }));
      const write = { recordIds: [], positions: [], seqs: {}, applied: {} };
      requests.forEach((q, k) => {
        const family = engine.stateKeyOf({ line: q.line, beneficiary: q.beneficiary ?? undefined });
        write.seqs[family] = 0;
        write.applied[family] = {};
        write.recordIds.push(`${at + k}`);
        write.positions.push(k);
      });
      const result = m.liquidateTask({ reference: 'bench', requests, ledgers: {}, write }, reference);
      for (const b of result.bytes ?? []) bytes += b.byteLength;
    }
    const ms = cpu() - c0; const th1 = threadCpu();
    if (prof && r === rounds - 1) { const { profile } = await session.post('Profiler.stop'); writeFileSync(`${prof}.${i}.cpuprofile`, JSON.stringify(profile)); }
    if (r > 0 || rounds === 1) times[i].push(ms);
    process.stderr.write(`round ${r} ${dists[i]}: ${ms.toFixed(0)} ms CPU, main thread ${th1.main - th0.main} ms + other threads ${th1.every - th1.main - (th0.every - th0.main)} ms, ${(bytes / all.length).toFixed(0)} B out a line\n`);
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const k = s.length >> 1; return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2; };
for (let i = 0; i < dists.length; i++) { const md = median(times[i]), best = Math.min(...times[i]); console.log(`${dists[i]}: median ${md.toFixed(0)} ms CPU = ${Math.round(all.length / md * 1000)} lines/CPU s, x${(median(times[0]) / md).toFixed(3)} vs first; best ${best.toFixed(0)} = ${Math.round(all.length / best * 1000)}, x${(Math.min(...times[0]) / best).toFixed(3)}`); }
