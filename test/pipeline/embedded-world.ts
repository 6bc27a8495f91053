import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';

/**
 * The embedded bus for the shared suites (liquidation, re-liquidation): one temporary NOEMIE_HOME
 * per namespace, removed after the file's tests.
 */
export function embeddedWorld() {
  const homes: string[] = [];
  afterAll(async () => {
    await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
  });
  return {
    kind: 'embedded' as const,
    fresh: async () => {
      const home = await mkdtemp(join(tmpdir(), 'noemie-home-'));
      homes.push(home);
      return home;
    },
    open: (home: string) => openEmbeddedBus({ dir: join(home, 'bus'), fsync: false }),
    serviceArgs: (home: string) => ['--home', home],
  };
}
