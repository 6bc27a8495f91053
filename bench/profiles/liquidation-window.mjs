// node bench/profiles/liquidation-window.mjs <main thread .cpuprofile> [top] (bench/README.md "Session 19 — liquidation"):
// the main thread of `noemie run --once` (`node --cpu-prof`) in the liquidation stage's window — from the
// first sample with a frame of the liquidation service (or, with AFTER_INGEST=1, from the last sample of
// the ingest: bus-sink, drop-rows, csv lines) to its last — by deepest project module, by deepest
// project function, and by self time. `(idle)` samples are left out of the shares.
import { readFileSync } from 'node:fs';
const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const t = []; let acc = p.startTime;
for (let i = 0; i < p.samples.length; i++) { acc += p.timeDeltas[i] ?? 0; t.push(acc); }
const stackHas = (id, re) => { for (let c = id; c !== undefined; c = parent.get(c)) if (re.test(byId.get(c).callFrame.url)) return true; return false; };
let first = -1, last = -1; let ingestEnd = -1; for (let i = 0; i < p.samples.length; i++) if (stackHas(p.samples[i], /(bus-sink|drop-rows|csv\/lines)/)) ingestEnd = i;
for (let i = 0; i < p.samples.length; i++) if (stackHas(p.samples[i], /liquidation-service\.js$/)) { if (first < 0) first = i; last = i; } if (process.env.AFTER_INGEST) first = ingestEnd + 1;
console.log('window', ((t[last]-t[first])/1e6).toFixed(2), 's; from', ((t[first]-p.startTime)/1e6).toFixed(1), 'to', ((t[last]-p.startTime)/1e6).toFixed(1));
const self = new Map(), mod = new Map(), deep = new Map(); let busy = 0, idle = 0;
const short = (u) => u.replace(/^.*\/dist\//, '').replace(/^.*node_modules\//, 'nm:').replace(/^file:\/\//, '');
for (let i = first; i <= last; i++) {
  const d = (t[i+1] ?? t[i]) - t[i];
  const n = byId.get(p.samples[i]); const cf = n.callFrame;
  if (cf.functionName === '(idle)') { idle += d; continue; }
  busy += d;
  const k = `${cf.functionName || '(anon)'} ${short(cf.url)}:${cf.lineNumber+1}`;
  self.set(k, (self.get(k) ?? 0) + d);
  let dm = '(runtime)', top2 = '';
  for (let c = p.samples[i]; c !== undefined; c = parent.get(c)) { const u = byId.get(c).callFrame.url; if (/\/dist\/(src|workers)\//.test(u)) { dm = short(u); top2 = byId.get(c).callFrame.functionName; break; } }
  if (cf.functionName === '(garbage collector)') dm = '(GC)';
  mod.set(dm, (mod.get(dm) ?? 0) + d);
  const dk = dm + ' ' + top2; deep.set(dk, (deep.get(dk) ?? 0) + d);
}
console.log('busy', (busy/1e6).toFixed(2), 'idle', (idle/1e6).toFixed(2));
const show = (m, n) => [...m].sort((a,b)=>b[1]-a[1]).slice(0,n).forEach(([k,v]) => console.log((v/1e6).toFixed(2).padStart(7), (100*v/busy).toFixed(1).padStart(5)+'%', k));
console.log('--- by deepest project module'); show(mod, 30);
console.log('--- by deepest project function'); show(deep, top);
console.log('--- self'); show(self, top);
