import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { defineBusSuite } from './bus-suite.js';

const dirs: string[] = [];
let dir = '';

defineBusSuite('embedded', {
  fresh: async () => {
    dir = await mkdtemp(join(tmpdir(), 'noemie-bus-'));
    dirs.push(dir);
  },
  open: () => openEmbeddedBus({ dir }),
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
