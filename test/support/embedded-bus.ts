import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus, type EmbeddedBusOptions } from '../../src/bus/embedded/embedded-bus.js';

/**
 * A fresh directory for each test of the suite and the embedded buses the test opens in it
 * (`open`, optionally in a sub-directory), all closed (`closeAll`: before the test's end too) and the directory removed after the test.
 */
export function embeddedBusPerTest(prefix: string): { readonly dir: string; open: (options?: Partial<EmbeddedBusOptions> & { sub?: string }) => Promise<EmbeddedBus>; closeAll: () => Promise<void> } {
  let dir = '';
  const opened: EmbeddedBus[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  const closeAll = async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    await closeAll();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    async open({ sub, ...options } = {}) {
      const bus = await openEmbeddedBus({ dir: sub === undefined ? dir : join(dir, sub), ...options });
      opened.push(bus);
      return bus;
    },
    closeAll,
  };
}
