// Self time per function from a clinic flame run (0x samples: one stack per tick, root first, leaf last).
//   node bench/profiles/summarise-flame.mjs .clinic/<id>.clinic-flame/<id>.clinic-flame-samples [within-function] [top]
// `within-function`: count only ticks whose stack contains a frame whose name starts with it (e.g. liquidateAll).
import { readFileSync } from 'node:fs';

const [file, within, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: summarise-flame.mjs <samples file> [within-function] [top]');
const samples = JSON.parse(readFileSync(file, 'utf8'));
const short = (name) => name.replace(/ (file:\/\/)?\/\S*\/(node_modules\/)?/, ' ').replace(/^ /, '(anonymous) ');
const self = new Map();
let total = 0;
for (const stack of samples) {
  if (stack.length === 0) continue;
  if (within && !stack.some((f) => f.name.startsWith(`${within} `))) continue;
  total += 1;
  const leaf = stack[stack.length - 1];
  const key = leaf.type === 'JS' ? short(leaf.name) : `[${leaf.type}] ${leaf.name}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25));
console.log(`${total} ticks${within ? ` under ${within}` : ''} (of ${samples.length})`);
console.log('| self % | ticks | function |\n|---:|---:|---|');
for (const [name, n] of top) console.log(`| ${((100 * n) / total).toFixed(1)} | ${n} | \`${name}\` |`);
