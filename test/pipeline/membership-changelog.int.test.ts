import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { tempDir } from './stages-given.js';
import { defineMembershipChangelogSuite } from './membership-changelog-suite.js';
import { afterAll } from 'vitest';

/** members-changelog on the embedded bus (no retention there: losing the head is the topic recreated empty). */
const dirs: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of dirs) await c();
});

defineMembershipChangelogSuite({
  kind: 'embedded',
  fresh: async () => {
    const t = await tempDir('members-changelog-bus-');
    dirs.push(t.cleanup);
    return t.dir;
  },
  open: (dir) => openEmbeddedBus({ dir, fsync: false }),
  fillerCopies: 3,
  loseHead: async (dir, bus) => {
    await bus.close();
    await rm(join(dir, 'members'), { recursive: true, force: true });
    return openEmbeddedBus({ dir, fsync: false });
  },
});
