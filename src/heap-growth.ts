import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 may grow a thread's old generation over what survived its last full GC, in %, for
 * the processes that run the pipeline's services (`noemie run`, the liquidation service alone,
 * and the benches that measure them). V8's own rule grows it up to ~4× (300 %) when the allocation
 * rate is high, and a service that consumes and produces records allocates fast: the liquidation
 * service on Kafka kept 40–54 MB live on its main thread and let the heap reach 207–227 MB, the
 * most of its 612 MB peak RSS at 100 000 lines; with 50 % the heap stays ≈ 100–115 MB and the
 * peak ≈ 450 MB (bench/README.md "Session 10 — kafka"; "Session 6 — memory and bytes written" for
 * `noemie run`: 20 % saved little more and cost CPU).
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Sets the process's heap growth (HEAP_GROWING_PERCENT): V8 reads the flag at every GC, so setting
 * it once when the process starts is enough; it is process-wide (worker threads included).
 */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
