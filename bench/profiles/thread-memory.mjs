// thread-memory.mjs, a preload (bench/README.md "Session 13 — memory"):
//   MEMSAMPLE_DIR=<dir> [MEMSNAP_AT_MB=140] [PISCINA_DISABLE_ATOMICS=1] node dist/bench/run.bench.js … "--node-flags=--import=<abs path>/thread-memory.mjs"
// samples each thread's V8 heap every 250 ms into $MEMSAMPLE_DIR/<pid>-<threadId>.ndjson (piscina workers
// wait in Atomics.wait between tasks and run no timers: PISCINA_DISABLE_ATOMICS=1 to sample them)
import { isMainThread, threadId } from 'node:worker_threads';
import { getHeapStatistics, getHeapSpaceStatistics } from 'node:v8';
import { appendFileSync } from 'node:fs';
const dir = process.env.MEMSAMPLE_DIR;
if (dir) {
  const file = `${dir}/${process.pid}-${threadId}.ndjson`;
  const t0 = Date.now();
  const name = isMainThread ? 'main' : (process.env.MEMSAMPLE_NAME ?? 'worker');
  const tick = () => {
    const h = getHeapStatistics();
    const m = process.memoryUsage();
    const sp = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name.replace('_space', ''), Math.round(s.space_used_size / 1048576)]));
    appendFileSync(file, JSON.stringify({ t: (Date.now() - t0) / 1000, now: Date.now(), thread: threadId, main: isMainThread, used: Math.round(h.used_heap_size / 1048576), total: Math.round(h.total_heap_size / 1048576), physical: Math.round(h.total_physical_size / 1048576), malloced: Math.round(h.malloced_memory / 1048576), external: Math.round(h.external_memory / 1048576), limit: Math.round(h.heap_size_limit / 1048576), ...(isMainThread ? { rss: Math.round(m.rss / 1048576), ab: Math.round(m.arrayBuffers / 1048576), ext: Math.round(m.external / 1048576) } : {}), sp }) + '\n');
  };
  const timer = setInterval(tick, 250);
  timer.unref();
  tick();
}
// after each mark-compact: the heap used then (≈ what survived, plus what was allocated since)
import { PerformanceObserver, constants } from 'node:perf_hooks';
if (dir) {
  const gcFile = `${dir}/gc-${process.pid}-${threadId}.ndjson`;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      const h = getHeapStatistics();
      appendFileSync(gcFile, JSON.stringify({ now: Date.now(), thread: threadId, ms: Math.round(e.duration), used: Math.round(h.used_heap_size / 1048576), total: Math.round(h.total_heap_size / 1048576) }) + '\n');
    }
  });
  obs.observe({ entryTypes: ['gc'] });
}
// MEMSNAP_AT_MB: one heap snapshot of the main thread the first time a mark-compact leaves at least that much used
import { writeHeapSnapshot } from 'node:v8';
if (dir && isMainThread && process.env.MEMSNAP_AT_MB) {
  const at = Number(process.env.MEMSNAP_AT_MB); let done = false;
  const obs2 = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (done || e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      if (getHeapStatistics().used_heap_size / 1048576 >= at) { done = true; setImmediate(() => { const f = writeHeapSnapshot(`${dir}/main-${process.pid}.heapsnapshot`); appendFileSync(`${dir}/snap.log`, `${Date.now()} ${f}\n`); }); }
    }
  });
  obs2.observe({ entryTypes: ['gc'] });
}
