// What the main thread allocates in each stage of `noemie run --once`, and where (bench/README.md "Session 23 — alloc").
// A preload: `--import` it into the run (run.bench's `"--node-flags=--import=<abs path>/alloc-stages.mjs"`), with
//   ALLOC_OUT=<file.json>   where the figures go (required)
//   ALLOC_SITES=<bytes>     the heap sampler's interval (default 131072; 0: no sampler, the counts only)
// The stages are split at the run's own StageClock ends (the 'noemie:run-stage-end' diagnostics channel, run.ts).
// Per stage, exact from V8's GCProfiler: bytes allocated on the JS heap (what each GC found used, minus
// what the GC before it left, plus the growth since the last), scavenges, mark-compacts, the GCs' cost (µs
// on the main thread). With the sampler (HeapProfiler.startSampling, objects collected by minor and major GC
// included: V8 ≥ 11), the bytes by allocating function, and by the nearest function of ours on the stack
// (dist/src/…: who asked node or a library for them). Summarise: `node alloc-stages.mjs --print <file.json> [top]`.
import { channel } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { isMainThread } from 'node:worker_threads';
import v8 from 'node:v8';

if (process.argv[2] === '--print') {
  print(JSON.parse(readFileSync(process.argv[3], 'utf8')), Number(process.argv[4] ?? 15));
} else if (isMainThread && process.env.ALLOC_OUT) {
  start(process.env.ALLOC_OUT, Number(process.env.ALLOC_SITES ?? 131072));
}

function start(out, interval) {
  const session = interval > 0 ? new Session() : null;
  const post = (method, params) => {
    let result;
    // an in-process session answers synchronously: the split happens at the stage's end, not later
    session.post(method, params, (e, r) => { if (e) throw e; result = r; });
    return result;
  };
  if (session) {
    session.connect();
    post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const stages = [];
  let profiler = new v8.GCProfiler();
  profiler.start();
  let usedAtStart = v8.getHeapStatistics().used_heap_size;
  let lastOrdinal = -1;
  let windowStart = performance.now();
  const mark = (stage) => {
    const gc = profiler.stop();
    const usedNow = v8.getHeapStatistics().used_heap_size;
    profiler = new v8.GCProfiler();
    profiler.start();
    let allocated = 0, left = usedAtStart, scavenges = 0, markCompacts = 0, costUs = 0;
    for (const s of gc.statistics) {
      allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - left);
      left = s.afterGC.heapStatistics.usedHeapSize;
      if (s.gcType === 'Scavenge' || s.gcType === 'MinorMarkCompact') scavenges += 1; else if (s.gcType === 'MarkSweepCompact') markCompacts += 1;
      costUs += s.cost;
    }
    allocated += Math.max(0, usedNow - left);
    usedAtStart = usedNow;
    const row = { stage, wallMs: performance.now() - windowStart, allocated, scavenges, markCompacts, gcMs: costUs / 1000, usedAfter: usedNow };
    windowStart = performance.now();
    if (session) {
      const { profile } = post('HeapProfiler.getSamplingProfile');
      Object.assign(row, sites(profile, interval, lastOrdinal));
      lastOrdinal = profile.samples.reduce((m, s) => Math.max(m, s.ordinal), lastOrdinal);
    }
    stages.push(row);
    writeFileSync(out, JSON.stringify({ interval, stages }));
  };
  channel('noemie:run-stage-end').subscribe((stage) => {
    // a measuring tool must not fail the run it measures
    try { mark(String(stage)); } catch (e) { process._rawDebug(`alloc-stages: ${stage}: ${e?.stack ?? e}`); }
  });
}

/** the samples after `after` (this stage's), weighted as V8 scales them, by allocating function and by our nearest one */
function sites(profile, interval, after) {
  const parent = new Map(), byId = new Map();
  const walk = (n, p) => { byId.set(n.id, n); parent.set(n.id, p); for (const c of n.children) walk(c, n); };
  walk(profile.head, null);
  const name = (n) => { const f = n.callFrame; return `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/dist\//, '').replace(/^.*node_modules\//, '~')}:${f.lineNumber + 1}`; };
  const ours = (n) => { for (let x = n; x; x = parent.get(x.id)) if (x.callFrame.url.includes('/dist/src/')) return name(x); return '(none of ours)'; };
  const self = new Map(), own = new Map(), pair = new Map();
  let sampled = 0;
  for (const s of profile.samples) {
    if (s.ordinal <= after) continue;
    const w = s.size / (1 - Math.exp(-s.size / interval));
    const n = byId.get(s.nodeId);
    sampled += w;
    // a sample may name a node the profile no longer holds (V8 prunes the tree): counted, unnamed
    const a = n === undefined ? '(node not in the profile)' : name(n), b = n === undefined ? a : ours(n);
    self.set(a, (self.get(a) ?? 0) + w);
    own.set(b, (own.get(b) ?? 0) + w);
    const c = a === b ? a : `${a}  <-  ${b}`;
    pair.set(c, (pair.get(c) ?? 0) + w);
  }
  const top = (m) => [...m].sort((x, y) => y[1] - x[1]).slice(0, 60).map(([k, v]) => [k, Math.round(v)]);
  return { sampled: Math.round(sampled), bySelf: top(self), byOurs: top(own), byPair: top(pair) };
}

function print(doc, top) {
  const mb = (b) => (b / 1e6).toFixed(1).padStart(8);
  console.log('stage            alloc MB  scav  m-c   GC ms  (sampled MB)');
  for (const s of doc.stages) console.log(`${s.stage.padEnd(15)} ${mb(s.allocated)} ${String(s.scavenges).padStart(5)} ${String(s.markCompacts).padStart(4)} ${s.gcMs.toFixed(0).padStart(7)}  ${s.sampled === undefined ? '' : mb(s.sampled)}`);
  for (const s of doc.stages) {
    if (!s.bySelf) continue;
    console.log(`\n== ${s.stage}: by allocating function (MB)`);
    for (const [k, v] of s.bySelf.slice(0, top)) console.log(mb(v), k);
    console.log(`-- ${s.stage}: by our nearest function (MB)`);
    for (const [k, v] of s.byOurs.slice(0, top)) console.log(mb(v), k);
    console.log(`-- ${s.stage}: by allocating function <- our nearest (MB)`);
    for (const [k, v] of (s.byPair ?? []).slice(0, top)) console.log(mb(v), k);
  }
}
