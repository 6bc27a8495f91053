// heap-holders.mjs <file.heapsnapshot> [top] (bench/README.md "Session 13 — memory"): self size by constructor; dominator tree retained sizes; top retainers
import { readFileSync } from 'node:fs';
const snap = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const TOP = Number(process.argv[3] ?? 30);
const m = snap.snapshot.meta;
const NF = m.node_fields.length, EF = m.edge_fields.length;
const nTypes = m.node_fields.indexOf('type'), nName = m.node_fields.indexOf('name'), nSelf = m.node_fields.indexOf('self_size'), nEdges = m.node_fields.indexOf('edge_count'), nId = m.node_fields.indexOf('id');
const eType = m.edge_fields.indexOf('type'), eName = m.edge_fields.indexOf('name_or_index'), eTo = m.edge_fields.indexOf('to_node');
const nodeTypes = m.node_types[0], edgeTypes = m.edge_types[0];
const nodes = snap.nodes, edges = snap.edges, strings = snap.strings;
const N = nodes.length / NF;
const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) { firstEdge[i] = e; e += nodes[i * NF + nEdges] * EF; firstEdge[i + 1] = e; }
const weakT = edgeTypes.indexOf('weak'), shortcutT = edgeTypes.indexOf('shortcut');
const typeOf = (i) => nodeTypes[nodes[i * NF + nTypes]];
const nameOf = (i) => strings[nodes[i * NF + nName]];
const self = (i) => nodes[i * NF + nSelf];
let total = 0; for (let i = 0; i < N; i++) total += self(i);
console.log('nodes', N, 'total self MB', (total / 1048576).toFixed(1));
// by constructor / type
const agg = new Map();
for (let i = 0; i < N; i++) {
  const t = typeOf(i); const k = t === 'object' || t === 'closure' ? `${t}:${nameOf(i)}` : t;
  const a = agg.get(k) ?? [0, 0]; a[0] += self(i); a[1]++; agg.set(k, a);
}
console.log('\n== self size by type/constructor');
for (const [k, [s, c]] of [...agg].sort((a, b) => b[1][0] - a[1][0]).slice(0, TOP)) console.log((s / 1048576).toFixed(1).padStart(7), 'MB', String(c).padStart(9), k.slice(0, 100));
// dominators (Cooper-Harvey-Kennedy) over a DFS postorder from root 0
const toIdx = (e) => edges[e + eTo] / NF;
const post = new Int32Array(N).fill(-1), order = new Int32Array(N); let p = 0;
{ const stack = [0], it = [firstEdge[0]]; const seen = new Uint8Array(N); seen[0] = 1;
  while (stack.length) { const v = stack[stack.length - 1]; let e = it[it.length - 1];
    let pushed = false;
    while (e < firstEdge[v + 1]) { const t = edges[e + eType]; const w = toIdx(e); e += EF; if (t === weakT || t === shortcutT) continue; if (!seen[w]) { seen[w] = 1; it[it.length - 1] = e; stack.push(w); it.push(firstEdge[w]); pushed = true; break; } }
    if (!pushed) { stack.pop(); it.pop(); post[v] = p; order[p++] = v; } } }
console.log('reachable', p);
// predecessors
const predCount = new Uint32Array(N);
for (let v = 0; v < N; v++) { if (post[v] < 0) continue; for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) { const t = edges[e + eType]; if (t === weakT || t === shortcutT) continue; const w = toIdx(e); if (post[w] >= 0) predCount[w]++; } }
const predStart = new Uint32Array(N + 1); for (let i = 0; i < N; i++) predStart[i + 1] = predStart[i] + predCount[i];
const preds = new Uint32Array(predStart[N]); const fill = predStart.slice(0, N);
for (let v = 0; v < N; v++) { if (post[v] < 0) continue; for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) { const t = edges[e + eType]; if (t === weakT || t === shortcutT) continue; const w = toIdx(e); if (post[w] >= 0) preds[fill[w]++] = v; } }
const idom = new Int32Array(N).fill(-1); idom[0] = 0;
let changed = true, rounds = 0;
while (changed) { changed = false; rounds++;
  for (let k = p - 2; k >= 0; k--) { const v = order[k]; let nd = -1;
    for (let j = predStart[v]; j < predStart[v + 1]; j++) { const u = preds[j]; if (idom[u] < 0) continue;
      if (nd < 0) nd = u; else { let a = u, b = nd; while (a !== b) { while (post[a] < post[b]) a = idom[a]; while (post[b] < post[a]) b = idom[b]; } nd = a; } }
    if (nd >= 0 && idom[v] !== nd) { idom[v] = nd; changed = true; } } }
console.log('dominator rounds', rounds);
const retained = new Float64Array(N); for (let i = 0; i < N; i++) retained[i] = post[i] >= 0 ? self(i) : 0;
for (let k = 0; k < p - 1; k++) { const v = order[k]; if (v !== 0) retained[idom[v]] += retained[v]; }
console.log('root retained MB', (retained[0] / 1048576).toFixed(1));
// a label for a node: type:name, plus the edge name from its dominator
const edgeNameTo = (from, to) => { for (let e = firstEdge[from]; e < firstEdge[from + 1]; e += EF) if (toIdx(e) === to) { const t = edgeTypes[edges[e + eType]]; const n = edges[e + eName]; return t === 'element' || t === 'hidden' ? `[${n}]` : strings[n]; } return '?'; };
const label = (i) => `${typeOf(i)}:${String(nameOf(i)).slice(0, 60)}`;
const path = (i) => { const out = []; let v = i; for (let d = 0; d < 8 && v !== 0; d++) { out.push(`${label(v)} <-${edgeNameTo(idom[v], v)}-`); v = idom[v]; } return out.join(' '); };
console.log('\n== largest retained (not nested duplicates: nodes whose dominator retains < 1.5x them)');
const cand = []; for (let i = 1; i < N; i++) if (retained[i] > 2 * 1048576) cand.push(i);
cand.sort((a, b) => retained[b] - retained[a]);
for (const i of cand.slice(0, TOP * 2)) console.log((retained[i] / 1048576).toFixed(1).padStart(7), 'MB', path(i).slice(0, 400));
// frontier: big nodes where no single dominated child holds > 60 % of them
console.log('\n== frontier holders');
const kids = new Map();
for (let k = 0; k < p - 1; k++) { const v = order[k]; const d = idom[v]; if (retained[v] < 65536) continue; let a = kids.get(d); if (!a) kids.set(d, (a = [])); a.push(v); }
const strSample = (i) => { const t = typeOf(i); if (t === 'string' || t === 'concatenated string' || t === 'sliced string') return JSON.stringify(String(nameOf(i)).slice(0, 80)); return ''; };
for (const i of cand) {
  const ks = (kids.get(i) ?? []).sort((a, b) => retained[b] - retained[a]);
  if (ks.length && retained[ks[0]] > 0.6 * retained[i]) continue;
  // what it directly holds (by type) in its dominated subtree, one level
  const byType = new Map(); let n = 0;
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) { const w = toIdx(e); if (idom[w] !== i) continue; n++; const k = label(w).slice(0, 40); const a = byType.get(k) ?? [0, 0]; a[0] += retained[w]; a[1]++; byType.set(k, a); }
  console.log('\n' + (retained[i] / 1048576).toFixed(1).padStart(7), 'MB', path(i).slice(0, 600));
  console.log('        holds', n, 'direct:', [...byType].sort((a, b) => b[1][0] - a[1][0]).slice(0, 5).map(([k, [s, c]]) => `${k} ×${c} ${(s / 1048576).toFixed(1)}MB`).join('; '));
}
// strings by their (first) retainer: the holder's constructor and the edge name
console.log('\n== strings by retainer (holder type:name . edge)');
const holder = new Map();
for (let v = 0; v < N; v++) {
  for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) {
    const t = edges[e + eType]; if (t === weakT || t === shortcutT) continue;
    const w = toIdx(e); const tw = typeOf(w);
    if (tw !== 'string' && tw !== 'concatenated string' && tw !== 'sliced string') continue;
    const en = edgeTypes[t] === 'element' || edgeTypes[t] === 'hidden' ? '[]' : String(strings[edges[e + eName]]).slice(0, 30);
    const k = `${label(v).slice(0, 50)} .${en}`;
    const a = holder.get(k) ?? [0, 0]; a[0] += self(w); a[1]++; holder.set(k, a);
  }
}
for (const [k, [s, c]] of [...holder].sort((a, b) => b[1][0] - a[1][0]).slice(0, TOP)) console.log((s / 1048576).toFixed(1).padStart(7), 'MB', String(c).padStart(8), k);
// root's direct dominated children by label
console.log('\n== dominated directly by the root / GC roots, by label');
const rootKids = new Map();
for (let v = 1; v < N; v++) { if (post[v] < 0) continue; const d = idom[v]; if (d !== 0 && typeOf(d) !== 'synthetic') continue; const k = label(v).slice(0, 50); const a = rootKids.get(k) ?? [0, 0]; a[0] += retained[v]; a[1]++; rootKids.set(k, a); }
for (const [k, [s, c]] of [...rootKids].sort((a, b) => b[1][0] - a[1][0]).slice(0, TOP)) console.log((s / 1048576).toFixed(1).padStart(7), 'MB', String(c).padStart(8), k);
console.log('\n== large strings (> 64 KB): count, size, the holders of slices of them');
const big = []; for (let i = 0; i < N; i++) { const t = typeOf(i); if ((t === 'string') && self(i) > 65536) big.push(i); }
console.log('count', big.length, 'MB', (big.reduce((a, i) => a + self(i), 0) / 1048576).toFixed(1));
// for each big string: who points to it (edge holders), grouped
const into = new Map();
for (let v = 0; v < N; v++) for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) { const w = toIdx(e); if (self(w) > 65536 && typeOf(w) === 'string') { const a = into.get(w) ?? []; a.push(v); into.set(w, a); } }
const sliceHolders = new Map();
for (const [w, vs] of into) {
  const kinds = new Map();
  for (const v of vs) { const k = typeOf(v) === 'sliced string' ? 'slice' : label(v).slice(0, 40); kinds.set(k, (kinds.get(k) ?? 0) + 1); }
  const key = [...kinds].map(([k, c]) => `${k}×${c > 10 ? '10+' : c}`).sort().join(', ');
  const a = sliceHolders.get(key) ?? [0, 0]; a[0] += self(w); a[1]++; sliceHolders.set(key, a);
}
for (const [k, [s, c]] of [...sliceHolders].sort((a, b) => b[1][0] - a[1][0]).slice(0, 15)) console.log((s / 1048576).toFixed(1).padStart(7), 'MB', String(c).padStart(5), k);
for (const i of big.slice(0, 5)) console.log((self(i)/1024).toFixed(0), 'KB', JSON.stringify(String(nameOf(i)).slice(0, 150)));
console.log('\n== holders of sliced strings whose parent is > 16 KB: holder label .edge → count, distinct parents, parents MB');
const sh = new Map();
for (let v = 0; v < N; v++) for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) {
  const t = edges[e + eType]; if (t === weakT || t === shortcutT) continue;
  const w = toIdx(e); if (typeOf(w) !== 'sliced string') continue;
  let par = -1; for (let f = firstEdge[w]; f < firstEdge[w + 1]; f += EF) if (strings[edges[f + eName]] === 'parent') par = toIdx(f);
  if (par < 0 || self(par) < 16384) continue;
  const en = edgeTypes[t] === 'element' || edgeTypes[t] === 'hidden' ? '[]' : String(strings[edges[e + eName]]).slice(0, 30);
  // the holder's own holder, for context
  const k = `${label(v).slice(0, 40)} .${en}`;
  const a = sh.get(k) ?? { c: 0, parents: new Set() }; a.c++; a.parents.add(par); sh.set(k, a);
}
for (const [k, a] of [...sh].sort((x, y) => y[1].parents.size - x[1].parents.size).slice(0, 20)) { let mb = 0; for (const q of a.parents) mb += self(q); console.log(String(a.c).padStart(8), String(a.parents.size).padStart(6), (mb / 1048576).toFixed(1).padStart(6), 'MB', k); }
console.log('\n== the objects holding .value slices: their own holders');
const wanted = new Set();
for (let v = 0; v < N; v++) { if (label(v) !== 'object:Object') continue; for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) { if (strings[edges[e + eName]] !== 'value') continue; const w = toIdx(e); if (typeOf(w) === 'sliced string') wanted.add(v); } }
const g2 = new Map();
for (let v = 0; v < N; v++) for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) { const w = toIdx(e); if (!wanted.has(w)) continue; const t = edges[e + eType]; const en = edgeTypes[t] === 'element' || edgeTypes[t] === 'hidden' ? '[]' : String(strings[edges[e + eName]]); let k = `${label(v).slice(0,40)} .${en}`;
  g2.set(k, (g2.get(k) ?? 0) + 1); }
for (const [k, c] of [...g2].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(String(c).padStart(8), k);
// field names of one such object
const one = [...wanted][0]; const fields = []; for (let e = firstEdge[one]; e < firstEdge[one + 1]; e += EF) fields.push(String(strings[edges[e + eName]])); console.log('fields of one:', fields.join(','));
console.log('\n== generators / contexts retaining > 1 MB: function names and what they hold');
const fnOf = (g) => { for (let e = firstEdge[g]; e < firstEdge[g + 1]; e += EF) { const n = String(strings[edges[e + eName]]); if (n === 'function') return nameOf(toIdx(e)) || '(anon)'; } return '?'; };
const ctxVars = (c) => { const out = []; for (let e = firstEdge[c]; e < firstEdge[c + 1]; e += EF) { const t = edgeTypes[edges[e + eType]]; if (t !== 'context') continue; const w = toIdx(e); if (retained[w] > 256 * 1024) out.push(`${strings[edges[e + eName]]}=${label(w).slice(0, 30)}:${(retained[w] / 1048576).toFixed(1)}MB`); } return out.join(' '); };
for (let i = 0; i < N; i++) {
  if (retained[i] < 1048576) continue;
  const l = label(i);
  if (l === 'object:Generator' || l.startsWith('closure:')) {
    let ctx = -1; for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) { const n = String(strings[edges[e + eName]]); if (n === 'context') ctx = toIdx(e); }
    // parameters_and_registers array: big elements
    let regs = ''; for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) { if (String(strings[edges[e + eName]]) === 'parameters_and_registers') { const r = toIdx(e); const xs = []; for (let f = firstEdge[r]; f < firstEdge[r + 1]; f += EF) { const w = toIdx(f); if (retained[w] > 256 * 1024) xs.push(`${label(w).slice(0, 30)}:${(retained[w] / 1048576).toFixed(1)}`); } regs = xs.join(' '); } }
    console.log((retained[i] / 1048576).toFixed(1).padStart(6), l, 'fn', fnOf(i), '| ctx', ctx >= 0 ? ctxVars(ctx) : '', '| regs', regs);
  }
}
