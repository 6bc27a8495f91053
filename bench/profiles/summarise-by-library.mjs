// Where a thread spent its CPU, from a V8 CPU profile (`node --cpu-prof`): self time by library of the
// leaf frame, kafkajs inclusive by source folder, and the nearest library or project module on the stack.
//   node bench/profiles/summarise-by-library.mjs <file>.cpuprofile [top=30] [from: a URL substring; the
//   window starts at the first sample with a frame from it, e.g. liquidation-service]
import { readFileSync } from 'node:fs';
const [file, top = '30', from = ''] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const lib = (u) => { const m = u.match(/node_modules\/((@[^/]+\/)?[^/]+)/); if (m) return m[1]; const d = u.match(/\/dist\/(src|workers|bench)\/(.*)$/); if (d) return 'project'; return u.startsWith('node:') ? 'node:' + u.slice(5).split('/')[0] : (u ? 'other' : '(native)'); };
const kf = (u) => { const m = u.match(/node_modules\/kafkajs\/src\/(.*)$/); return m ? m[1].split('/').slice(0, 3).join('/') : null; };
const libs = new Map(), kin = new Map(), cause = new Map();
let n = 0;
let start = 0;
if (from) { for (let i = 0; i < p.samples.length; i++) { let hit = false; for (let c = p.samples[i]; c !== undefined; c = parent.get(c)) if (byId.get(c).callFrame.url.includes(from)) { hit = true; break; } if (hit) { start = i; break; } } }
let idle = 0;
for (let i = start; i < p.samples.length; i++) {
  const id = p.samples[i]; const dt = (p.timeDeltas[i + 1] ?? 0) / 1e6; const leaf = byId.get(id);
  if (leaf.callFrame.functionName === '(idle)') { idle += dt; continue; }
  n += dt;
  let l = lib(leaf.callFrame.url); if (!leaf.callFrame.url) l = leaf.callFrame.functionName; libs.set(l, (libs.get(l) ?? 0) + dt);
  const seen = new Set(); let firstLib = null;
  for (let c = id; c !== undefined; c = parent.get(c)) { const u = byId.get(c).callFrame.url; const k = kf(u); if (k) seen.add(k); }
  for (const k of seen) kin.set(k, (kin.get(k) ?? 0) + dt);
  // nearest non-node library on the stack
  for (let c = id; c !== undefined; c = parent.get(c)) { const u = byId.get(c).callFrame.url; const L = lib(u); if (L !== '(native)' && !L.startsWith('node:') && L !== 'other') { firstLib = L === 'project' ? 'project:' + (u.match(/\/dist\/(?:src|workers|bench)\/(.*)$/)?.[1] ?? '') : L; break; } }
  cause.set(firstLib ?? '(node/native only)', (cause.get(firstLib ?? '(node/native only)') ?? 0) + dt);
}
const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(top)).map(([f, c]) => `| ${c.toFixed(2)} | ${((100 * c) / n).toFixed(1)} | ${f} |`).join('\n');
console.log(`from sample ${start}: busy ${n.toFixed(2)} s, idle ${idle.toFixed(2)} s\nself by leaf library:\n${show(libs)}\n\nkafkajs inclusive by folder:\n${show(kin)}\n\nnearest library/project module on the stack:\n${show(cause)}`);
