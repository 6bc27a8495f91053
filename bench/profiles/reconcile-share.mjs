// The reconcile service's share of the main thread in the ingest + liquidation window of a `noemie run --once` CPU profile
// (window: first to last sample with a liquidation-service frame; a sample counts as reconcile's when a frame of
// reconcile-service / reconcile-store / reconcile-inputs / src/reconcile is on its stack; GC apart). Session 19.
//   node bench/profiles/reconcile-share.mjs <main thread>.cpuprofile [top=25]
import { readFileSync } from 'node:fs';
const [file, top = '25'] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const times = []; let t = p.startTime; for (const d of p.timeDeltas) { t += d; times.push(t); }
const dt = (i) => (i + 1 < times.length ? times[i + 1] - times[i] : 0) / 1e6;
const url = (n) => n.callFrame.url;
const fn = (n) => `${n.callFrame.functionName || '(anon)'} ${url(n).split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
const stackOf = (id) => { const s = []; for (let c = id; c !== undefined; c = parent.get(c)) s.push(byId.get(c)); return s; };
let first = -1, last = -1;
for (let i = 0; i < p.samples.length; i++) if (stackOf(p.samples[i]).some((n) => url(n).includes('liquidation-service'))) { if (first < 0) first = i; last = i; }
const isRec = (n) => /reconcile-service|reconcile-store|reconcile-inputs|\/src\/reconcile\//.test(url(n));
let busy = 0, gc = 0, rec = 0, idle = 0, recParse = 0, takeParse = 0;
const self = new Map(), incl = new Map(), recSelf = new Map();
for (let i = first; i <= last; i++) {
  const s = stackOf(p.samples[i]); const d = dt(i); const leaf = s[0];
  const lname = leaf.callFrame.functionName;
  if (lname === '(idle)' || lname === '(program)' && false) { idle += d; continue; }
  busy += d;
  if (lname === '(garbage collector)') { gc += d; continue; }
  self.set(fn(leaf), (self.get(fn(leaf)) ?? 0) + d);
  const inRec = s.some(isRec);
  if (inRec) { rec += d; recSelf.set(fn(leaf), (recSelf.get(fn(leaf)) ?? 0) + d);
    const seen = new Set(); for (const n of s) { const f = fn(n); if (seen.has(f)) continue; seen.add(f); if (isRec(n) || /bus\/|level|abstract/.test(url(n))) incl.set(f, (incl.get(f) ?? 0) + d); } }
  // the consumer's decode of a batch (take): parse + slim
  if (s.some((n) => n.callFrame.functionName === 'take' && url(n).includes('subscription'))) takeParse += d;
}
console.log(`window ${((times[last] - times[first]) / 1e6).toFixed(1)} s; busy ${busy.toFixed(2)} s, idle ${idle.toFixed(2)}, GC ${gc.toFixed(2)} (${(100 * gc / busy).toFixed(1)} %)`);
console.log(`under a reconcile frame: ${rec.toFixed(2)} s (${(100 * rec / busy).toFixed(1)} % of busy); consumer take() (all groups' decode): ${takeParse.toFixed(2)} s`);
const show = (m, label) => { console.log(`-- ${label}`); for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${v.toFixed(3).padStart(8)}  ${k}`); };
show(incl, 'inclusive under reconcile (reconcile/bus/level frames)');
show(recSelf, 'self under reconcile');
