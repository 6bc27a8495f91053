import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositeKey, StateStore } from '../../src/state/kv-store.js';
import { LevelStore } from '../../src/state/level-store.js';
import { moveLmdbToLevel, type MovedSubStore } from '../../src/state/lmdb-to-level.js';
import { collectAll as collect } from '../support/iterables.js';

/**
 * The one-time move of a state from the home's LMDB store to its LevelDB store
 * (src/state/lmdb-to-level.ts): copied in key order (regrouped where asked), a marker, then the
 * LMDB keys removed — and a `kill -9` after any step leaves a home the next open finishes.
 */
let home = '';
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-move-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const MARKER = { sub: 'payments.layout', key: 'layout', layout: 1 };
/** `<lineKey>␟<runId>` → one value per line: the line's runs, in runId order */
const SUBS: MovedSubStore[] = [
  { from: 'payments.line' },
  { from: 'payments.line-run', to: 'payments.line-runs', into: { key: (k) => k.split('\u001f')[0]!, item: (_k, v) => v } },
];

/** A home's LMDB side as an older version left it: `lines` lines, runs R1 (every line) and R2 (every third). */
async function olderHome(lines: number): Promise<void> {
  const kv = StateStore.open(home);
  const line = kv.sub<{ paid: [string, string][] }>('payments.line');
  const run = kv.sub<{ runId: string; moved: { payee: string; amount: string }[] }>('payments.line-run');
  const other = kv.sub<number>('members.other');
  await kv.commit(() => {
    for (let i = 0; i < lines; i++) {
      const k = `n:D${String(i).padStart(5, '0')}:1`;
      line.put(k, { paid: [['member:A', `${i}.00`]] });
      run.put(compositeKey(k, 'R1'), { runId: 'R1', moved: [{ payee: 'member:A', amount: `${i}.00` }] });
      if (i % 3 === 0) run.put(compositeKey(k, 'R2'), { runId: 'R2', moved: [{ payee: 'member:A', amount: '-1.00' }] });
    }
    other.put('stays', 1);
  });
  await kv.close();
}

/** What the LevelDB side must hold after the move of `olderHome(lines)`, and that the LMDB side holds none of it. */
async function expectMoved(lines: number): Promise<void> {
  const level = await LevelStore.open(home);
  const kv = StateStore.open(home);
  try {
    const got = await collect(level.sub<unknown>('payments.line').entries());
    expect(got).toHaveLength(lines);
    expect(got[7]).toEqual(['n:D00007:1', { paid: [['member:A', '7.00']] }]);
    const runs = await collect(level.sub<{ runId: string }[]>('payments.line-runs').entries());
    expect(runs).toHaveLength(lines);
    for (const [k, list] of runs) expect(list.map((r) => r.runId)).toEqual(Number(k.slice(3, 8)) % 3 === 0 ? ['R1', 'R2'] : ['R1']);
    expect(level.sub<{ layout: number }>('payments.layout').get('layout')?.layout).toBe(1);
    expect(kv.sub('payments.line').keysAfter(null, 1)).toEqual([]);
    expect(kv.sub('payments.line-run').keysAfter(null, 1)).toEqual([]);
    // the other states of the LMDB store are not touched
    expect(kv.sub('members.other').get('stays')).toBe(1);
  } finally {
    await kv.close();
    await level.close();
  }
}

it('copies in key order (a line\'s runs regrouped into one value, also across batches), marks, removes the LMDB keys; a second open does nothing', async () => {
  await olderHome(50);
  const kv = StateStore.open(home);
  const level = await LevelStore.open(home);
  const steps: string[] = [];
  // 7 keys per batch: a line's R1 and R2 keys fall in two batches for some lines
  const first = await moveLmdbToLevel({ kv, level, subs: SUBS, marker: MARKER, copyPerBatch: 7, removePerCommit: 40, onStep: (s) => steps.push(s) });
  expect(first).toEqual({ copied: 50 + 50 + 17, removed: 50 + 50 + 17 });
  expect(steps.filter((s) => s === 'marked')).toHaveLength(1);
  expect(steps.indexOf('marked')).toBe(Math.ceil(50 / 7) + Math.ceil(67 / 7));
  expect(await moveLmdbToLevel({ kv, level, subs: SUBS, marker: MARKER })).toEqual({ copied: 0, removed: 0 });
  await kv.close();
  await level.close();
  await expectMoved(50);
});

it('a home with nothing to move gets the marker alone; a marker of a newer layout is refused', async () => {
  const kv = StateStore.open(home);
  const level = await LevelStore.open(home);
  expect(await moveLmdbToLevel({ kv, level, subs: SUBS, marker: MARKER })).toEqual({ copied: 0, removed: 0 });
  expect(level.sub<{ layout: number }>('payments.layout').get('layout')?.layout).toBe(1);
  await level.commit(() => level.sub('payments.layout').put('layout', { layout: 2, moved: 'later' }));
  await expect(moveLmdbToLevel({ kv, level, subs: SUBS, marker: MARKER })).rejects.toThrow(/newer than this version/);
  await kv.close();
  await level.close();
});

/** Runs the move in a child (the built module) that kills itself with SIGKILL at the `n`th `step`. */
async function moveKilledAt(step: string, n: number): Promise<void> {
  const dist = (f: string) => JSON.stringify(resolve('dist/src/state', f));
  const script = `
    const { StateStore } = await import(${dist('kv-store.js')});
    const { LevelStore } = await import(${dist('level-store.js')});
    const { moveLmdbToLevel } = await import(${dist('lmdb-to-level.js')});
    const home = process.argv[1];
    const kv = StateStore.open(home);
    const level = await LevelStore.open(home);
    let seen = 0;
    await moveLmdbToLevel({ kv, level, marker: ${JSON.stringify(MARKER)}, copyPerBatch: 100, removePerCommit: 150,
      subs: [{ from: 'payments.line' }, { from: 'payments.line-run', to: 'payments.line-runs', into: { key: (k) => k.split('\\u001f')[0], item: (_k, v) => v } }],
      onStep: (s) => { if (s === ${JSON.stringify(step)} && ++seen === ${n}) process.kill(process.pid, 'SIGKILL'); } });
    process.stdout.write('finished\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, home], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
  expect(signal).toBe('SIGKILL');
  expect(out).toBe('');
}

// 500 lines: 500 + 500 + 167 LMDB keys; copy batches of 100 (5 + 7), removal commits of 150 (4 + 5)
it.each([
  ['copied', 1, 'after the first copy batch'],
  ['copied', 9, 'in the middle of the regrouped sub-store'],
  ['copied', 12, 'after the last copy batch, before the marker'],
  ['marked', 1, 'after the marker, before any removal'],
  ['removed', 5, 'in the middle of the removals'],
])('kill -9 %s #%i (%s): the next open finishes the move, nothing lost nor doubled', async (step, n) => {
  await olderHome(500);
  await moveKilledAt(step, n);
  const kv = StateStore.open(home);
  const level = await LevelStore.open(home);
  const again = await moveLmdbToLevel({ kv, level, subs: SUBS, marker: MARKER });
  // before the marker the copy starts over (LMDB untouched); after it only the removals are left
  if (step === 'copied') expect(again.copied).toBe(1167);
  else expect(again.copied).toBe(0);
  // killed after the 5th removal commit: payments.line's 4 (500 keys) and one of payments.line-run's (150)
  expect(again.removed).toBe(step === 'removed' ? 1167 - 650 : 1167);
  await kv.close();
  await level.close();
  await expectMoved(500);
}, 30_000);
