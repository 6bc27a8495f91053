// What dominates a clinic flame run of `noemie run --once`, by the project module on the stack.
//   node bench/profiles/summarise-run.mjs .clinic/<id>.clinic-flame/<id>.clinic-flame-samples [top]
// Each tick (0x: one stack per tick, root first, leaf last) is given to the DEEPEST frame of our own
// code (dist/src/…, dist/workers/…) on its stack: the project module that asked for the work, be it
// its own code, a library (lmdb, msgpackr, zod, decimal.js) or the runtime below it. Ticks with no
// frame of ours are the runtime's (GC, module loading, idle event loop). 0x's own log writes
// (`__write` under a JS frame, see README.md) are counted apart and left out of the shares.
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: summarise-run.mjs <samples file> [top]');
const top = Number(topArg ?? 20);
const samples = JSON.parse(readFileSync(file, 'utf8'));
const ours = (name) => /\/dist\/(src|workers)\//.test(name);
const moduleOf = (name) => /\/dist\/((?:src|workers)\/\S+?\.js)/.exec(name)?.[1] ?? '?';
const short = (name) => name.replace(/ (file:\/\/)?\/\S*\/(node_modules\/|dist\/)?/, ' ').replace(/^ /, '(anonymous) ');
const byModule = new Map();
const selfByModule = new Map();
let profiler = 0;
let counted = 0;
for (const stack of samples) {
  if (stack.length === 0) continue;
  const leaf = stack[stack.length - 1];
  if ((leaf.type === 'CPP' || leaf.type === 'SHARED_LIB') && /__write|libc\.so/.test(leaf.name) && stack.some((f) => f.type === 'JS')) {
    profiler += 1;
    continue;
  }
  counted += 1;
  let mod = '(runtime: no project frame)';
  for (let i = stack.length - 1; i >= 0; i--) {
    if (stack[i].type === 'JS' && ours(stack[i].name)) {
      mod = moduleOf(stack[i].name);
      break;
    }
  }
  byModule.set(mod, (byModule.get(mod) ?? 0) + 1);
  const key = leaf.type === 'JS' ? short(leaf.name) : `[${leaf.type}] ${leaf.name.slice(0, 60)}`;
  const m = selfByModule.get(mod) ?? new Map();
  m.set(key, (m.get(key) ?? 0) + 1);
  selfByModule.set(mod, m);
}
console.log(`${samples.length} ticks; ${profiler} are 0x's log writes (left out); ${counted} counted`);
console.log('| % | ticks | project module on the stack (deepest) | top self frames under it |\n|---:|---:|---|---|');
for (const [mod, n] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const leaves = [...selfByModule.get(mod)].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, c]) => `\`${k}\` ${((100 * c) / n).toFixed(0)}%`).join(', ');
  console.log(`| ${((100 * n) / counted).toFixed(1)} | ${n} | \`${mod}\` | ${leaves} |`);
}
