import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_HEAP_MB, DEFAULT_WORKER_YOUNG_MB, LiquidationPool } from '../../src/pipeline/pool.js';
import type { LiquidateTask } from '../../src/pipeline/pool-messages.js';

/**
 * The liquidation pool's threads get the heap limits it is given (pool.ts): an old generation of
 * DEFAULT_WORKER_HEAP_MB and a young one of DEFAULT_WORKER_YOUNG_MB unless told otherwise — the
 * young generation is what kept each worker at ≈ 78 MB of heap with V8's default
 * (bench/README.md "Session 10 — kafka").
 */
const workerFile = fileURLToPath(new URL('./fixtures/limits.worker.mjs', import.meta.url));
const setup = { gridsDir: 'unused', nomenclatureFile: 'unused', pmssFile: 'unused' };
type Limits = { resourceLimits: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number }; newSpaceSize: number | null };

let pool: LiquidationPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

async function limitsOf(options: { heapMb?: number; youngMb?: number }): Promise<Limits> {
  pool = new LiquidationPool({ workers: 1, setup, workerFile, ...options });
  return (await pool.run({} as LiquidateTask)) as unknown as Limits;
}

describe('liquidation pool heap limits', () => {
  it('given no limits, when a worker runs, then it has the default old and young generation sizes', async () => {
    const { resourceLimits } = await limitsOf({});
    expect(resourceLimits.maxOldGenerationSizeMb).toBe(DEFAULT_WORKER_HEAP_MB);
    expect(resourceLimits.maxYoungGenerationSizeMb).toBe(DEFAULT_WORKER_YOUNG_MB);
  });

  it('given a young generation of 8 MiB, when a worker runs, then V8 keeps its new space within it', async () => {
    const small = await limitsOf({ heapMb: 64, youngMb: 8 });
    expect(small.resourceLimits).toMatchObject({ maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 });
    expect(small.newSpaceSize).not.toBeNull();
    expect(small.newSpaceSize!).toBeLessThanOrEqual(8 * 2 ** 20);
  });
});
