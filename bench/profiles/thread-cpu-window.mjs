// node bench/profiles/thread-cpu-window.mjs <out>: per-thread CPU s inside each stage window of a run sampled by thread-cpu.sh (run start = last sample − durationMs)
import { readFileSync } from 'node:fs';
const out = process.argv[2];
const log = readFileSync(out + '.log', 'utf8');
const st = /^stage +wall s[\s\S]*?^total/m.exec(log)[0].split('\n').slice(1, -1).map((l) => l.trim().split(/\s+/)).map(([s, w, , c]) => [s, +w, +c]);
const dur = +/"durationMs": (\d+)/.exec(log)[1] / 1000;
const rows = readFileSync(out + '.samples', 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([t, tid, comm, c]) => ({ t: +t, tid, comm, c: +c / 100 }));
const end = rows.at(-1).t, start = end - dur;
let from = start;
for (const [stage, w, cpu] of st) {
  const to = from + w;
  const by = new Map();
  for (const r of rows) { if (r.t < from || r.t > to) continue; const e = by.get(r.tid) ?? { comm: r.comm, min: r.c, max: r.c }; e.min = Math.min(e.min, r.c); e.max = Math.max(e.max, r.c); by.set(r.tid, e); }
  const list = [...by].map(([tid, e]) => [tid, e.comm, e.max - e.min]).filter((x) => x[2] >= 0.1).sort((a, b) => b[2] - a[2]);
  const sum = list.reduce((a, x) => a + x[2], 0);
  console.log(`${stage}: wall ${w} s, stage CPU ${cpu} s, sampled ${sum.toFixed(2)} s: ${list.map(([tid, c, s]) => `${c}/${tid} ${s.toFixed(2)}`).join(', ')}`);
  from = to;
}
