// Self and total time per function from a V8 CPU profile (`node --cpu-prof`), within one function.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/liquidate.bench.js --lines 100000 --baseline false
//   node bench/profiles/summarise-cpuprofile.mjs /tmp/prof/<file>.cpuprofile [within-function] [top]
// `within-function` (default liquidateAll): count only samples whose stack contains a frame of that
// name; `(root)` counts every sample, the garbage collector included.
import { readFileSync } from 'node:fs';

const [file, within = 'liquidateAll', top = '30'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
const ticks = new Map();
for (const s of profile.samples) ticks.set(s, (ticks.get(s) ?? 0) + 1);
const self = new Map();
const total = new Map();
let all = 0;
for (const [id, count] of ticks) {
  const stack = [];
  let inside = false;
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    stack.push(name(n));
    if (n.callFrame.functionName === within) {
      inside = true;
      break;
    }
  }
  if (!inside) continue;
  all += count;
  self.set(stack[0], (self.get(stack[0]) ?? 0) + count);
  for (const f of new Set(stack)) total.set(f, (total.get(f) ?? 0) + count);
}
const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(top)).map(([f, c]) => `| ${((100 * c) / all).toFixed(1)} | ${c} | \`${f}\` |`).join('\n');
console.log(`${all} samples under ${within} (of ${profile.samples.length})\n\nself:\n| % | samples | function |\n|---:|---:|---|\n${show(self)}\n\ntotal:\n| % | samples | function |\n|---:|---:|---|\n${show(total)}`);
