// Usage: node bench/profiles/liquidation-share.mjs <main thread .cpuprofile> [top]. The liquidation service's share of a main-thread CPU profile:
// samples whose stack holds a frame of its own modules (outermost such frame), split by that frame and by deepest project function | leaf.
import { readFileSync } from 'node:fs';
const [file, topArg] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const liq = /\/dist\/src\/pipeline\/(liquidation-service|ledgers|ledger-store|ledger-restore|pool|liquidator|line-input|liquidate-lines)\.js$/;
// The reference: samples whose deepest project frame is in modules the liquidation does not touch (same work in every run).
const unchanged = /\/dist\/src\/(payments|statement|reconcile|ingest)\//;
let ref = 0;
let tot = 0, all = 0; const by = new Map(), leaf = new Map();
for (let i = 0; i < p.samples.length; i++) {
  const d = p.timeDeltas[i] ?? 0; all += d;
  let outer, deepest, deepestUrl;
  for (let cur = p.samples[i]; cur !== undefined; cur = parent.get(cur)) { const n = byId.get(cur); const u = n.callFrame.url; if (liq.test(u)) { outer = u.split('/dist/')[1] + ' ' + n.callFrame.functionName + ':' + (n.callFrame.lineNumber+1); } if (!deepest && /\/dist\/(src|workers)\//.test(u)) { deepest = u.split('/dist/')[1] + ' ' + n.callFrame.functionName; deepestUrl = u; } }
  if (deepestUrl !== undefined && unchanged.test(deepestUrl)) ref += d;
  if (!outer) continue;
  tot += d; by.set(outer, (by.get(outer) ?? 0) + d);
  const l = byId.get(p.samples[i]).callFrame; const lk = deepest + ' | ' + (l.functionName || '(anon)') + ' ' + l.url.split('/').slice(-1)[0];
  leaf.set(lk, (leaf.get(lk) ?? 0) + d);
}
console.log('liquidation inclusive', (tot/1e6).toFixed(2), 's of', (all/1e6).toFixed(1), '; unchanged modules (payments, statement, reconcile, ingest)', (ref/1e6).toFixed(2), 's; ratio', (tot/ref).toFixed(2));
[...by].sort((a,b)=>b[1]-a[1]).slice(0, 12).forEach(([k,v]) => console.log((v/1e6).toFixed(2).padStart(6), k));
console.log('-- deepest project fn | leaf');
[...leaf].sort((a,b)=>b[1]-a[1]).slice(0, Number(topArg ?? 30)).forEach(([k,v]) => console.log((v/1e6).toFixed(2).padStart(6), k));
