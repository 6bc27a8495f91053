import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { defineReliquidationSuite } from './reliquidation-suite.js';

/** Re-liquidation on the embedded bus: one temporary NOEMIE_HOME per namespace. */
const homes: string[] = [];

defineReliquidationSuite({
  kind: 'embedded',
  fresh: async () => {
    const home = await mkdtemp(join(tmpdir(), 'noemie-home-'));
    homes.push(home);
    return home;
  },
  open: (home) => openEmbeddedBus({ dir: join(home, 'bus'), fsync: false }),
  serviceArgs: (home) => ['--home', home],
});

afterAll(async () => {
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});
