import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositeKey, StateStore, stateStoreFileOf } from '../../src/state/kv-store.js';
import { tempDir } from '../pipeline/stages-given.js';

let home = '';
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('kv-store-'));
});
afterEach(async () => {
  await cleanup();
});

it('what a commit wrote is there after the store is closed and opened again', async () => {
  const store = StateStore.open(home);
  const lines = store.sub<{ amount: string }>('lines');
  await store.commit(() => {
    lines.put('n:D1:1', { amount: '9.00' });
    lines.put('n:D2:1', { amount: '12.50' });
  });
  await store.close();
  const again = StateStore.open(home);
  expect([...again.sub<{ amount: string }>('lines').entries()]).toEqual([['n:D1:1', { amount: '9.00' }], ['n:D2:1', { amount: '12.50' }]]);
  await again.close();
});

it('sub-stores do not see each other, even when one name starts with the other', async () => {
  const store = StateStore.open(home);
  const a = store.sub<number>('pay');
  const ab = store.sub<number>('pay.line');
  await store.commit(() => {
    a.put('x', 1);
    ab.put('y', 2);
  });
  expect([...a.entries()]).toEqual([['x', 1]]);
  expect([...ab.keys()]).toEqual(['y']);
  expect(a.get('y')).toBeUndefined();
  await store.close();
});

it('a prefix scan returns the keys under that prefix only (family → its lines)', async () => {
  const store = StateStore.open(home);
  const byFamily = store.sub<1>('by-family');
  await store.commit(() => {
    for (const [fam, line] of [['A1', 'L1'], ['A1', 'L2'], ['A10', 'L3'], ['A2', 'L4']]) byFamily.put(compositeKey(fam!, line!), 1);
  });
  // 'A1' must not catch 'A10': the composite key's separator ends the family
  expect([...byFamily.keys(compositeKey('A1', ''))]).toEqual([compositeKey('A1', 'L1'), compositeKey('A1', 'L2')]);
  await store.close();
});

it('a write outside commit() is refused (it would be a transaction of its own)', async () => {
  const store = StateStore.open(home);
  expect(() => store.sub<number>('s').put('k', 1)).toThrow(/outside commit/);
  expect(() => store.sub<number>('s').remove('k')).toThrow(/outside commit/);
  await store.close();
});

it('create: false opens nothing and creates nothing when the home has no store', async () => {
  expect(StateStore.open(home, { create: false })).toBeNull();
  expect(existsSync(stateStoreFileOf(home))).toBe(false);
});

it('kill -9 in the middle of committing: every batch is there whole or not at all', async () => {
  // a child commits batches of 500 keys plus a `last` marker in the same transaction, as fast as
  // it can, until it is killed; then every batch up to `last` must be whole and none after it begun
  const kvModule = resolve('dist/src/state/kv-store.js');
  const script = `
    const { StateStore } = await import(${JSON.stringify(kvModule)});
    const store = StateStore.open(process.argv[1]);
    const rows = store.sub('rows'), meta = store.sub('meta');
    for (let b = 0; ; b++) {
      await store.commit(() => { for (let k = 0; k < 500; k++) rows.put(b + '/' + String(k).padStart(3, '0'), 'x'.repeat(200)); meta.put('last', b); });
      if (b === 3) process.stdout.write('going\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, home], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => child.stdout.once('data', () => res()));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const store = StateStore.open(home);
  const last = store.sub<number>('meta').get('last')!;
  expect(last).toBeGreaterThanOrEqual(3);
  const perBatch = new Map<number, number>();
  for (const key of store.sub<string>('rows').keys()) {
    const b = Number(key.split('/')[0]);
    perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
  }
  expect([...perBatch.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
  expect([...perBatch.values()].every((n) => n === 500)).toBe(true);
  await store.close();
}, 30_000);

it('composite keys come back as the strings written, after the store is opened again (lineKey-like parts)', async () => {
  const store = StateStore.open(home);
  const index = store.sub<1>('operator-by-line');
  const keys = [compositeKey('noemie-011591001:101000000033:1', 'TPC10100000030'), compositeKey('noemie-011591001:101000000033:1', 'TPC10100000031'), compositeKey('noemie-011591001:101000000034:1', 'TPC1')];
  await store.commit(() => keys.forEach((k) => index.put(k, 1)));
  await store.close();
  const again = StateStore.open(home);
  const reopened = again.sub<1>('operator-by-line');
  expect([...reopened.keys()]).toEqual(keys);
  expect([...reopened.keys(compositeKey('noemie-011591001:101000000033:1', ''))]).toEqual(keys.slice(0, 2));
  expect(() => reopened.get('a\u0000b')).not.toThrow();
  await again.close();
});

it('a key holding U+0000–U+0004 is refused (the key encoding would read it back as another key)', async () => {
  const store = StateStore.open(home);
  await expect(store.commit(() => store.sub<number>('s').put('a\u0000b', 1))).rejects.toThrow(/control character/);
  await store.close();
});

it('two handles on one home in one process (the HTTP service\'s invoices store beside the stages\' own): writes of both kept, each sees the other\'s, closing one leaves the other working', async () => {
  // lmdb shares one environment per file within a process (counted): a second open is not a second
  // LMDB environment (which LMDB forbids: closing it would drop the first one's locks).
  const stages = StateStore.open(home);
  const http = StateStore.open(home);
  const statements = stages.sub<number>('statements');
  const receipts = http.sub<number>('http.receipt');
  // interleaved commits of both handles, in flight together: the writer lock orders them, none is lost
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => [
      stages.commit(() => statements.put(`s${String(i).padStart(2, '0')}`, i)),
      http.commit(() => receipts.put(`r${String(i).padStart(2, '0')}`, i)),
    ]).flat(),
  );
  await new Promise((r) => setTimeout(r, 0)); // a handle's read snapshot is renewed at the next turn
  expect(http.sub<number>('statements').get('s49')).toBe(49); // the invoices plugin reads the statement index this way
  expect([...stages.sub<number>('http.receipt').keys()]).toHaveLength(50);
  // the HTTP service closes its handle first (onClose); the stages go on writing and reading
  await http.close();
  await stages.commit(() => statements.put('after', 1));
  expect(statements.get('after')).toBe(1);
  expect([...statements.keys()]).toHaveLength(51);
  await stages.close();
  const again = StateStore.open(home);
  expect([...again.sub('statements').keys()]).toHaveLength(51);
  expect([...again.sub('http.receipt').keys()]).toHaveLength(50);
  await again.close();
});

it('steps asked for together go in ONE transaction, and so do the steps queued while it is committed, each deciding on what the one before it wrote', async () => {
  const store = StateStore.open(home);
  const counter = store.sub<number>('counter');
  const seen: number[] = [];
  const queuedInFlight: Promise<void>[] = [];
  const increment = (then?: () => void) => store.update(() => {
    const n = counter.get('n') ?? 0;
    seen.push(n);
    then?.(); // runs inside the transaction being built: what it queues waits for the next one
    return () => counter.put('n', n + 1);
  });
  const together = [increment(), increment(), increment(() => queuedInFlight.push(increment(), increment()))];
  await Promise.all(together);
  await Promise.all(queuedInFlight);
  // five increments from 0, each read after the previous one's write: 0, 1, 2, 3, 4, and 5 stored;
  // the three asked for in one turn make one transaction, the two queued during it a second one
  expect(seen).toEqual([0, 1, 2, 3, 4]);
  expect(counter.get('n')).toBe(5);
  expect(store.stats).toEqual({ transactions: 2, steps: 5 });
  await store.close();
  const again = StateStore.open(home);
  expect(again.sub<number>('counter').get('n')).toBe(5);
  await again.close();
});

it('a step whose decide throws fails alone: the steps committed with it are kept, and it wrote nothing', async () => {
  const store = StateStore.open(home);
  const s = store.sub<string>('s');
  const first = store.commit(() => s.put('a', 'first'));
  const failing = store.update(() => {
    if (s.get('a') === 'first') throw new Error('refused: a is already set');
    return () => s.put('b', 'never');
  });
  const after = store.commit(() => s.put('c', 'after'));
  await expect(failing).rejects.toThrow(/refused/);
  await Promise.all([first, after]);
  expect([...s.entries()]).toEqual([['a', 'first'], ['c', 'after']]);
  // a put in decide is still refused (decide runs inside the shared transaction, but only reads)
  await expect(store.update(() => {
    s.put('d', 'in decide');
    return () => {};
  })).rejects.toThrow(/outside commit/);
  expect(s.get('d')).toBeUndefined();
  await store.close();
});

it('a step queued as soon as the one before it resolves is committed too (the queue\'s loop ends and a new one starts)', async () => {
  const store = StateStore.open(home);
  const s = store.sub<number>('s');
  // each commit awaited before the next one is asked for: the pattern of a consumer, batch after batch
  for (let b = 0; b < 5; b++) await store.commit(() => s.put('last', b));
  expect(s.get('last')).toBe(4);
  expect(store.stats).toEqual({ transactions: 5, steps: 5 });
  await store.close();
}, 10_000);

it('values share their record structures through the store, and values written before (inline structures) still read', async () => {
  // a store written by the previous version: lmdb opened without shared structures, keys as StateStore lays them out
  const { open } = await import('lmdb');
  const file = stateStoreFileOf(home);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(resolve(file, '..'), { recursive: true });
  const shapeOf = (i: number) => ({ version: i, status: 'paid', [`field${i % 70}`]: { n: i, [`inner${i % 40}`]: [i, { deep: 'x' }] }, paid: { [`member:A${i % 30}`]: '1.00' } });
  const before = open<unknown, string>({ path: file, overlappingSync: false });
  await before.transaction(() => {
    for (let i = 0; i < 500; i++) before.putSync(compositeKey('old', String(i).padStart(4, '0')), shapeOf(i));
  });
  const oldBytes = before.getBinary(compositeKey('old', '0001'))!.length;
  await before.close();

  const store = StateStore.open(home);
  const old = store.sub<ReturnType<typeof shapeOf>>('old');
  const fresh = store.sub<ReturnType<typeof shapeOf>>('new');
  for (let i = 0; i < 500; i++) expect(old.get(String(i).padStart(4, '0'))).toEqual(shapeOf(i));
  await store.commit(() => {
    for (let i = 0; i < 500; i++) fresh.put(String(i).padStart(4, '0'), shapeOf(i));
  });
  // old and new values read in turn: an old value's inline definition does not shadow a shared structure for the next read
  for (let i = 0; i < 500; i++) {
    expect(old.get(String(i).padStart(4, '0'))).toEqual(shapeOf(i));
    expect(fresh.get(String(i).padStart(4, '0'))).toEqual(shapeOf(i));
  }
  await store.close();

  const again = StateStore.open(home);
  expect([...again.sub('new').entries()].map(([, v]) => v)).toEqual(Array.from({ length: 500 }, (_, i) => shapeOf(i)));
  expect([...again.sub('old').entries()].map(([, v]) => v)).toEqual(Array.from({ length: 500 }, (_, i) => shapeOf(i)));
  await again.close();

  // the field names of a shared structure are no longer in each value; the data-keyed object (payees) is not shared
  const raw = open<unknown, string>({ path: file, overlappingSync: false, readOnly: true });
  const newBytes = raw.getBinary(compositeKey('new', '0001'))!.length;
  const shared = raw.get(Symbol.for('structures') as never) as string[][];
  await raw.close();
  expect(newBytes).toBeLessThan(oldBytes);
  expect(shared.some((keys) => keys.includes('version') && keys.includes('status'))).toBe(true);
  expect(shared.some((keys) => keys.some((k) => k.startsWith('member:')))).toBe(false);
});
