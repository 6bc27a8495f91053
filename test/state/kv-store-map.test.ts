import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { StateStore, stateStoreFileOf } from '../../src/state/kv-store.js';
import { tempDir } from '../pipeline/stages-given.js';

/**
 * The store is mapped ONCE, however large it grows. lmdb-js grows a full map by mapping the file
 * again, twice as large, and keeps the old mappings; the pages read then count once per mapping in
 * the process's RSS (at 1 M lines: 15 mappings, 4.4 GB of file-backed RSS for a 1.6 GB file).
 */
let home = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('kv-store-map-'));
});
afterEach(async () => cleanup());

const mappingsOf = (file: string) => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(` ${file}`)).length;

it.runIf(existsSync('/proc/self/maps'))('keeps one mapping of its file while it grows past 64 MB', async () => {
  const store = StateStore.open(home, { sync: false });
  const file = resolve(stateStoreFileOf(home));
  const sub = store.sub<string>('big');
  const value = 'x'.repeat(4_000);
  try {
    for (let batch = 0; batch < 16; batch++) {
      await store.commit(() => {
        for (let i = 0; i < 1_024; i++) sub.put(`${batch}-${i}`, value);
      });
    }
    expect(sub.get('15-1023')).toBe(value);
    expect(mappingsOf(file)).toBe(1);
  } finally {
    await store.close();
  }
}, 60_000);
