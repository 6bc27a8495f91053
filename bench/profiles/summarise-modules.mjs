// CPU profile (`node --cpu-prof`) of one thread, by function, by project module and by library,
// over the first N seconds of the profile (the ingest window of `noemie run --once`) or until the
// first sample in a module whose path holds a given text:
//   node bench/profiles/summarise-modules.mjs <file>.cpuprofile [seconds | module text] [top=25]
// `(idle)` samples are left out of the percentages.
import { readFileSync } from 'node:fs';
const [file, stopAt = '', top = '25'] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const mod = (u) => { const m = u.match(/\/dist\/(src|workers)\/(.*)$/); return m ? m[2] : null; };
const lib = (u) => { const m = u.match(/node_modules\/((@[^/]+\/)?[^/]+)/); return m ? m[1] : (u.startsWith('node:') ? u : (u ? 'other' : '(native)')); };
const fn = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
let t = p.startTime; const times = [];
for (const d of p.timeDeltas) { t += d; times.push(t); }
// window end: first sample whose stack has a module matching stopAt
let endIdx = p.samples.length;
if (stopAt && !isNaN(Number(stopAt))) { endIdx = times.findIndex((x) => x - p.startTime > Number(stopAt) * 1e6); if (endIdx < 0) endIdx = p.samples.length; }
else if (stopAt) for (let i = 0; i < p.samples.length; i++) { let hit = false; for (let c = p.samples[i]; c !== undefined; c = parent.get(c)) { const m = mod(byId.get(c).callFrame.url); if (m && m.includes(stopAt)) { hit = true; break; } } if (hit) { endIdx = i; break; } }
const self = new Map(), deep = new Map(), incl = new Map(), libs = new Map();
let n = 0, idle = 0, gc = 0, prog = 0;
for (let i = 0; i < endIdx; i++) {
  const id = p.samples[i]; const dt = (p.timeDeltas[i + 1] ?? 0) / 1e6;
  const leaf = byId.get(id);
  const ln = leaf.callFrame.functionName;
  if (ln === '(idle)') { idle += dt; continue; }
  n += dt;
  if (ln === '(garbage collector)') { gc += dt; }
  if (ln === '(program)') { prog += dt; }
  const f = fn(leaf); self.set(f, (self.get(f) ?? 0) + dt);
  let d = null; const seen = new Set();
  for (let c = id; c !== undefined; c = parent.get(c)) { const m = mod(byId.get(c).callFrame.url); if (m) { if (!d) d = m; seen.add(m); } }
  deep.set(d ?? '(none)', (deep.get(d ?? '(none)') ?? 0) + dt);
  for (const m of seen) incl.set(m, (incl.get(m) ?? 0) + dt);
  const l = mod(leaf.callFrame.url) ? 'project' : lib(leaf.callFrame.url); libs.set(l, (libs.get(l) ?? 0) + dt);
}
const show = (m, k = Number(top)) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, c]) => `| ${c.toFixed(2)} | ${((100 * c) / n).toFixed(1)} | \`${f}\` |`).join('\n');
console.log(`window: ${((times[endIdx - 1] - p.startTime) / 1e6).toFixed(1)} s; busy ${n.toFixed(2)} s, idle ${idle.toFixed(2)} s, GC ${gc.toFixed(2)} s, (program) ${prog.toFixed(2)} s`);
console.log(`\nself by function:\n| s | % | fn |\n|--:|--:|--|\n${show(self)}`);
console.log(`\nby deepest project module:\n| s | % | module |\n|--:|--:|--|\n${show(deep)}`);
console.log(`\ninclusive by project module:\n| s | % | module |\n|--:|--:|--|\n${show(incl)}`);
console.log(`\nself by library of the leaf:\n| s | % | lib |\n|--:|--:|--|\n${show(libs, 15)}`);
