import { spawn } from 'node:child_process';
import { readdir, readFile, stat, truncate, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { StatementIndex, updateStatementIndex } from '../../src/pipeline/statement-index.js';
import { writeStatementPass, type StatementPassOptions } from '../../src/pipeline/statement-pass.js';
import { LmdbStatementMarks, StatementMarks } from '../../src/pipeline/statement-dirty.js';
import { StateStore } from '../../src/state/kv-store.js';
import { DEFAULT_INSURER } from '../../src/statement/index.js';
import { tempDir } from './stages-given.js';
import { A9, B7, C3, IBAN, line, person } from './statement-families.js';

/**
 * `run --once`'s statements follow what changed (src/pipeline/statement-pass.ts, statement-dirty.ts):
 * the families marked in `statements.dirty` by the index, the payment state or the membership
 * store in the transaction that changed them; every family when the home has no finished pass.
 */
let home = '';
let cleanup: () => Promise<void>;
let bus: Bus;
let index: StatementIndex;
/** the home's LMDB store: the payment state, its facts and its statement marks */
let kv: StateStore;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('statement-pass-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  index = await StatementIndex.open(home);
  kv = StateStore.open(home);
});
afterEach(async () => {
  await kv.close();
  await index.close();
  await bus.close();
  await cleanup();
});


const people = new Map([A9, B7, C3].map((p) => [p.adherentId, [p]]));
const dir = () => join(home, 'statements');
/** statement workers of the pass (each test runs without and with them: statement-render-pool.ts, dist/ built); one family per task, so a pass has several */
let renderThreads = 0;
const pass = (over: Partial<StatementPassOptions> = {}) =>
  writeStatementPass({
    dir: dir(), index, kv, labels: {}, insurer: DEFAULT_INSURER, issuedOn: '2025-04-02', professionalNames: {}, renderThreads, familiesPerTask: 1,
    families: { all: () => [...people.keys()].sort(), has: (id) => people.has(id), members: (id) => people.get(id) ?? [] },
    ...over,
  });
/** both engines' marks (statement-dirty.ts): the index's, the members' and the payment state's in LevelDB, an earlier version's payment marks in LMDB */
const marks = () => new StatementMarks(index.dirty, new LmdbStatementMarks(kv));
const marked = async () => StatementMarks.families(await marks().read());

/** the statement files, by name */
async function files(of = dir()): Promise<Map<string, string>> {
  return new Map(await Promise.all((await readdir(of)).sort().map(async (f) => [f, await readFile(join(of, f), 'utf8')] as const)));
}

/** a first run: A9 and C3 paid by R1, B7 blocked (no account); the statements of the three written */
async function firstRun(): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir(), { recursive: true });
  await bus.produce('settlements', [{ value: line('A1', A9, '9.00') }, { value: line('B1', B7, '5.00') }, { value: line('C1', C3, '7.00') }]);
  await runPaymentStage({ bus, home, accounts: accountBook([A9, B7, C3]), runId: 'R1', at: '2025-03-29T18:00:00Z' });
  await updateStatementIndex(bus, index);
}

/** every statement as a full pass writes it now, in another folder (the reference a partial pass must equal) */
async function fullPassInto(sub: string): Promise<Map<string, string>> {
  const { mkdir } = await import('node:fs/promises');
  const other = join(home, sub);
  await mkdir(other, { recursive: true });
  const written = index.dirty.written();
  // a full pass writes the marker again: put the home's own back after
  await index.level.commit(() => index.dirty.forgetWritten());
  const seen = await marks().read();
  await pass({ dir: other });
  await index.level.commit(() => {
    if (written) index.dirty.setWritten(written.inputs);
    index.dirty.mark(seen.level.map(([id]) => id));
  });
  const lmdbMarks = kv.sub<number>('statements.dirty');
  await kv.commit(() => {
    for (const [id] of seen.lmdb) lmdbMarks.put(id, (lmdbMarks.get(id) ?? 0) + 1);
  });
  return files(other);
}

async function age(names: readonly string[]): Promise<void> {
  const old = new Date('2020-01-01T00:00:00Z');
  for (const n of names) await utimes(join(dir(), n), old, old);
}
const mtime = async (name: string) => (await stat(join(dir(), name))).mtimeMs;

describe.each([0, 2])('statement pass (dirty families), %i statement workers', (threads) => {
  beforeEach(() => {
    renderThreads = threads;
  });

  it('the first pass of a home writes every family; a pass with nothing changed since computes no statement and writes no file', async () => {
    await firstRun();
    // the index and the run marked the three families
    expect(await marked()).toEqual(['A9', 'B7', 'C3']);
    const first = await pass();
    expect(first).toMatchObject({ pass: 'all', looked: 3, families: 3, files: { written: 6, unchanged: 0 } });
    expect(await marked()).toEqual([]);
    expect([...(await files()).keys()]).toEqual(['A9.html', 'A9.txt', 'B7.html', 'B7.txt', 'C3.html', 'C3.txt']);
    await age(['A9.txt', 'B7.txt', 'C3.txt']);

    // nothing new on settlements, no run: no family is looked at
    expect(await updateStatementIndex(bus, index)).toEqual({ consumed: 0 });
    const second = await pass();
    expect(second).toMatchObject({ pass: 'changed', looked: 0, families: 0, files: { written: 0, unchanged: 0 } });
    for (const f of ['A9.txt', 'B7.txt', 'C3.txt']) expect(await mtime(f)).toBe(new Date('2020-01-01T00:00:00Z').getTime());
  });

  it('a payment run that pays one family’s line marks that family alone: its statement is written again, as a full pass writes it; the others are not touched', async () => {
    await firstRun();
    await pass();
    const before = await files();
    expect(before.get('B7.txt')).toContain('en attente');
    await age(['A9.txt', 'A9.html', 'C3.txt', 'C3.html']);

    // B7 sends its RIB: R2 pays B1 (5.00); A1 and C1 were paid by R1, R2 changes nothing of theirs
    await runPaymentStage({ bus, home, accounts: accountBook([A9, { ...B7, iban: IBAN }, C3]), runId: 'R2', at: '2025-04-01T18:00:00Z' });
    expect(await marked()).toEqual(['B7']);
    await updateStatementIndex(bus, index);
    const second = await pass();
    expect(second).toMatchObject({ pass: 'changed', looked: 1, families: 1, files: { written: 2, unchanged: 0 } });
    expect(await marked()).toEqual([]);
    const after = await files();
    expect(after.get('B7.txt')).not.toEqual(before.get('B7.txt'));
    for (const f of ['A9.txt', 'A9.html', 'C3.txt', 'C3.html']) {
      expect(after.get(f)).toEqual(before.get(f));
      expect(await mtime(f)).toBe(new Date('2020-01-01T00:00:00Z').getTime());
    }
    // what the partial pass left is byte for byte what computing every family gives
    expect(after).toEqual(await fullPassInto('full'));
  });

  it('a run that leaves a blocked line as it was marks nothing: the statement shows no run of a blocked mark', async () => {
    await firstRun();
    await pass();
    // B7 still has no account: R2 pays nothing and does not decide B7 again (parked by R1, nothing
    // changed for it: carried — before session 24, blocked again with a new line-blocked record)
    const r2 = await runPaymentStage({ bus, home, accounts: accountBook([A9, B7, C3]), runId: 'R2', at: '2025-04-01T18:00:00Z' });
    expect([r2.blocked, r2.carried.map((b) => [b.payee, b.since])]).toEqual([[], [['member:B7', 'R1']]]);
    expect(await marked()).toEqual([]);
    // and indeed a full pass gives the same files
    expect(await fullPassInto('full')).toEqual(await files());
  });

  it('new settlements mark their families (and the family a line leaves)', async () => {
    await firstRun();
    await pass();
    // a new line for C3, and A1 re-liquidated under B7 (its family changed): C3, A9 (left) and B7 (joined)
    await bus.produce('settlements', [{ value: line('C2', C3, '3.00', '2025-03-20') }, { value: { ...line('A1', B7, '9.00'), version: 2 } }]);
    expect(await updateStatementIndex(bus, index)).toEqual({ consumed: 2 });
    expect(await marked()).toEqual(['A9', 'B7', 'C3']);
    // a redelivered (older or equal) version marks nothing
    await bus.produce('settlements', [{ value: line('C1', C3, '7.00') }]);
    await pass();
    expect(await updateStatementIndex(bus, index)).toEqual({ consumed: 1 });
    expect(await marked()).toEqual([]);
    const third = await pass();
    expect(third.looked).toBe(0);
  });

  it('a crash after the files are written and before the marks are cleared: the next pass writes them again, identically', async () => {
    await firstRun();
    await pass();
    await runPaymentStage({ bus, home, accounts: accountBook([A9, { ...B7, iban: IBAN }, C3]), runId: 'R2', at: '2025-04-01T18:00:00Z' });
    const crash = new Error('killed between the files and the clear');
    await expect(pass({ beforeClear: () => Promise.reject(crash) })).rejects.toBe(crash);
    // the files were written (durably), the mark is still there
    expect(await marked()).toEqual(['B7']);
    const written = await files();
    // and the crash tore the text file (a write cut short: the mark is what makes it come back)
    await truncate(join(dir(), 'B7.txt'), 40);
    const again = await pass();
    expect(again).toMatchObject({ pass: 'changed', looked: 1, families: 1, files: { written: 1, unchanged: 1 } });
    expect(await marked()).toEqual([]);
    expect(await files()).toEqual(written);
    expect(written).toEqual(await fullPassInto('full'));
  });

  it('kill -9 after the files are written, before the marks are cleared (a real process, dist/): the next pass writes them again, identically', async () => {
    await firstRun();
    await pass();
    await runPaymentStage({ bus, home, accounts: accountBook([A9, { ...B7, iban: IBAN }, C3]), runId: 'R2', at: '2025-04-01T18:00:00Z' });
    expect(await marked()).toEqual(['B7']);
    // the same pass in a child process, SIGKILLed by itself once the group's files are durable
    const script = `
      const [home, dir, people] = process.argv.slice(1);
      const { StatementIndex } = await import(${JSON.stringify(resolve('dist/src/pipeline/statement-index.js'))});
      const { StateStore } = await import(${JSON.stringify(resolve('dist/src/state/kv-store.js'))});
      const { writeStatementPass } = await import(${JSON.stringify(resolve('dist/src/pipeline/statement-pass.js'))});
      const { DEFAULT_INSURER } = await import(${JSON.stringify(resolve('dist/src/statement/index.js'))});
      const byId = new Map(JSON.parse(people));
      await writeStatementPass({
        dir, index: await StatementIndex.open(home), kv: StateStore.open(home), labels: {}, insurer: DEFAULT_INSURER, issuedOn: '2025-04-02', professionalNames: {},
        families: { all: () => [...byId.keys()].sort(), has: (id) => byId.has(id), members: (id) => byId.get(id) ?? [] },
        renderThreads: ${threads}, familiesPerTask: 1,
        beforeClear: () => process.kill(process.pid, 'SIGKILL'),
      });`;
    // LevelDB's LOCK allows one process: the test's handle is closed while the child runs
    await index.close();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, home, dir(), JSON.stringify([...people])], { stdio: ['ignore', 'inherit', 'inherit'] });
    const signal = await new Promise((r) => child.once('exit', (_code, s) => r(s)));
    index = await StatementIndex.open(home);
    expect(signal).toBe('SIGKILL');
    expect(await marked()).toEqual(['B7']);
    const written = await files();
    const again = await pass();
    expect(again).toMatchObject({ pass: 'changed', looked: 1, families: 1, files: { written: 0, unchanged: 2 } });
    expect(await marked()).toEqual([]);
    expect(await files()).toEqual(written);
    expect(written).toEqual(await fullPassInto('full'));
  }, 60_000);

  it('a home of the previous version (an index, no marks, no finished pass): every family is written, then only the changed ones', async () => {
    await firstRun();
    // what a home of the previous version holds: the index and the payment state, no statements.dirty / statements.meta
    await marks().clear(await marks().read(), null, () => index.dirty.forgetWritten());
    expect(await marked()).toEqual([]);
    const first = await pass();
    expect(first).toMatchObject({ pass: 'all', looked: 3, families: 3, files: { written: 6 } });
    expect((await pass()).looked).toBe(0);
  });

  it('a change of what every statement shares (professionals’ names, labels, insurer) writes every family again', async () => {
    await firstRun();
    await pass();
    expect((await pass()).pass).toBe('changed');
    const renamed = await pass({ labels: { C110: 'Consultation du généraliste' } });
    expect(renamed).toMatchObject({ pass: 'all', looked: 3, families: 3 });
    expect((await pass({ labels: { C110: 'Consultation du généraliste' } })).looked).toBe(0);
  });

  it('a mark without its change (a crash after the membership store’s LevelDB marks, before its LMDB commit) computes the statement again: the same bytes, no file written', async () => {
    await firstRun();
    await pass();
    const before = await files();
    await index.dirty.markNow(['A9']);
    expect(await marked()).toEqual(['A9']);
    expect(await pass()).toMatchObject({ pass: 'changed', looked: 1, families: 1, files: { written: 0, unchanged: 2 } });
    expect(await marked()).toEqual([]);
    expect(await files()).toEqual(before);
  });

  it('a family the home does not know gets no statement (as before), and its mark is cleared', async () => {
    await firstRun();
    await pass();
    await bus.produce('settlements', [{ value: line('Z1', person('Z0', '1850375123459', null), '1.00') }]);
    await updateStatementIndex(bus, index);
    expect(await marked()).toEqual(['Z0']);
    expect(await pass()).toMatchObject({ looked: 1, families: 0 });
    expect(await marked()).toEqual([]);
    expect((await files()).has('Z0.txt')).toBe(false);
  });
});
