import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { command as statementCommand } from '../../src/cli/commands/statement.js';
import type { Settlement } from '../../src/model/settlement.js';
import { nirKey } from '../../src/model/act-line.js';
import { MembershipEventSchema } from '../../src/model/membership.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { DirtyFamilies, LmdbStatementMarks, StatementMarks } from '../../src/pipeline/statement-dirty.js';
import { PaymentsStore } from '../../src/pipeline/payments-store.js';
import { StatementIndex, statementFromIndexAndTail, statementSettlementOf, updateStatementIndex } from '../../src/pipeline/statement-index.js';
import { settlementsForStatement } from '../../src/pipeline/statement-source.js';
import { compositeKey, StateStore } from '../../src/state/kv-store.js';
import { isLevelLocked, LevelStore } from '../../src/state/level-store.js';
import { renderStatementHtml, renderStatementText, statementData, type StatementRequest, type StatementSettlement } from '../../src/statement/index.js';
import { importSampleMembers, settlement, tempDir } from './stages-given.js';

/**
 * The statement index on LevelDB (session 10; src/pipeline/README.md, "Member statements"):
 * an older home's index (LMDB) moved, whole, by the first writable open — also after a kill -9 at
 * any point of the move; the membership store's marks written before its LMDB commit (a mark
 * without its change only computes a statement again: the same bytes); a read beside a process
 * holding the home's LevelDB (one opener) falls back to the family's partition.
 */
const FAMILIES = Array.from({ length: 6 }, (_, i) => `ADH${String(i + 1).padStart(7, '0')}`);
const ALL = { from: '2000-01-01', to: '2099-12-31' };

/** `lines` lines over the families, some with a second version (another amount), care dates over 2025. */
function drop(lines: number): Settlement[] {
  const out: Settlement[] = [];
  for (let n = 0; n < lines; n++) {
    const base = { lineKey: `noemie:D${n}:1`, adherentId: FAMILIES[n % FAMILIES.length]!, careDate: `2025-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`, beneficiary: { nir: `1${String(n % 997).padStart(12, '0')}`, rang: 1 }, payee: 'member' as const };
    out.push(settlement({ ...base, amcAmount: `${10 + (n % 50)}.00` }));
    if (n % 3 === 0) out.push(settlement({ ...base, amcAmount: `${11 + (n % 50)}.50`, version: 2, operation: n % 15 === 0 ? 'A' : 'I' }));
  }
  return out;
}

/**
 * What the previous version's index wrote in LMDB (statement-index.ts before session 10): per line
 * its latest version under `statements.line/<adherent>␟<careDate>␟<lineKey>`, `statements.where`,
 * and the full-pass marker in `statements.meta`; its own marks in `statements.dirty`.
 */
async function writeLegacyIndex(home: string, settlements: readonly Settlement[]): Promise<void> {
  const latest = new Map<string, Settlement>();
  for (const s of settlements) if ((latest.get(s.lineKey)?.version ?? 0) < s.version) latest.set(s.lineKey, s);
  const kv = StateStore.open(home);
  try {
    const lines = kv.sub<StatementSettlement>('statements.line');
    const where = kv.sub<{ key: string | null; version: number }>('statements.where');
    const items = [...latest.values()];
    for (let i = 0; i < items.length; i += 4096) {
      await kv.commit(() => {
        for (const s of items.slice(i, i + 4096)) {
          const key = compositeKey(s.adherentId!, s.careDate, s.lineKey);
          lines.put(key, statementSettlementOf(s));
          where.put(s.lineKey, { key, version: s.version });
        }
      });
    }
    await kv.commit(() => {
      kv.sub('statements.meta').put('written', { inputs: 'a-previous-pass' });
      kv.sub('statements.dirty').put(FAMILIES[0]!, 3);
    });
  } finally {
    await kv.close();
  }
}

const render = (request: StatementRequest, lines: StatementSettlement[]) => {
  const data = statementData(request, lines, []);
  return renderStatementText(data) + renderStatementHtml(data);
};

async function lmdbKeys(home: string, name: string): Promise<number> {
  const kv = StateStore.open(home);
  try {
    return [...kv.sub(name).keys()].length;
  } finally {
    await kv.close();
  }
}

let home = '';
let cleanup: () => Promise<void>;
let bus: EmbeddedBus;
const children: ChildProcess[] = [];

/** Another process holding the home's LevelDB, as a running `noemie run` does (killed after the test). */
async function holdLevelDb(of: string): Promise<ChildProcess> {
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `
    const { LevelStore } = await import(${JSON.stringify(resolve('dist/src/state/level-store.js'))});
    await LevelStore.open(process.argv[1]);
    process.stdout.write('held\\n');
    setInterval(() => undefined, 1000);`, of], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(holder);
  await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
  return holder;
}

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('statement-level-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await bus.close();
  await cleanup();
});

/** Every family's statement (text + HTML) from the index of `of`, against a fresh index built from the topic and the topic read. */
async function expectSameStatementsAsAFreshIndex(index: StatementIndex): Promise<void> {
  const { dir: freshHome, cleanup: cleanupFresh } = await tempDir('statement-level-fresh-');
  const fresh = await StatementIndex.open(freshHome);
  try {
    await updateStatementIndex(bus, fresh, { groupId: 'fresh' });
    for (const adherentId of FAMILIES) {
      const request = { adherentId, ...ALL };
      const moved = render(request, await index.settlementsIn(request));
      expect(moved).toBe(render(request, await fresh.settlementsIn(request)));
      expect(moved).toBe(render(request, (await settlementsForStatement(bus, request)).map(statementSettlementOf)));
    }
  } finally {
    await fresh.close();
    await cleanupFresh();
  }
}

describe('an older home (index in LMDB)', () => {
  it('is moved to LevelDB by the first open: the same statements byte for byte, the LMDB keys removed, the payment marks left', async () => {
    const settlements = drop(300);
    await bus.produce('settlements', settlements.map((value) => ({ value })));
    await writeLegacyIndex(home, settlements);
    const index = await StatementIndex.open(home);
    try {
      await expectSameStatementsAsAFreshIndex(index);
      // the full-pass marker came along; LMDB keeps only `statements.dirty` (the payment state's marks, read there)
      expect(index.dirty.written()).toEqual({ inputs: 'a-previous-pass' });
      expect(index.whereOf('noemie:D3:1')?.version).toBe(2);
    } finally {
      await index.close();
    }
    expect(await lmdbKeys(home, 'statements.line')).toBe(0);
    expect(await lmdbKeys(home, 'statements.where')).toBe(0);
    expect(await lmdbKeys(home, 'statements.meta')).toBe(0);
    expect(await lmdbKeys(home, 'statements.dirty')).toBe(1);
  });

  it('two opens at once in one process (the service’s indexer and its HTTP API) move it once: a version applied meanwhile is kept', async () => {
    const settlements = drop(10_000);
    await bus.produce('settlements', settlements.map((value) => ({ value })));
    await writeLegacyIndex(home, settlements);
    const second = StatementIndex.open(home);
    const first = await StatementIndex.open(home);
    const newer = settlement({ lineKey: 'noemie:D1:1', adherentId: FAMILIES[1]!, careDate: '2025-02-02', beneficiary: { nir: '1000000000001', rang: 1 }, payee: 'member', amcAmount: '99.00', version: 7 });
    await first.apply([newer]);
    const other = await second;
    try {
      expect(other.whereOf('noemie:D1:1')?.version).toBe(7);
      expect((await other.settlementsIn({ adherentId: FAMILIES[1]!, ...ALL })).find((s) => s.lineKey === 'noemie:D1:1')?.amcAmount).toBe('99.00');
      expect(await lmdbKeys(home, 'statements.line')).toBe(0);
    } finally {
      await other.close();
      await first.close();
    }
  }, 60_000);

  // kill -9 after the n-th commit of the move, LevelDB's (the copy in batches of 8 192 keys, then
  // the layout key) or LMDB's (the removal after it): the next open finishes it, the same index
  for (const at of ['level:1', 'level:3', 'level:6', 'lmdb:1']) {
    it(`kill -9 during the move (after ${at}): the next open ends with the same index`, async () => {
      const settlements = drop(10_000); // 10 000 lines: 2 batches of statements.line, 2 of .where, 1 of .meta
      await bus.produce('settlements', settlements.map((value) => ({ value })));
      await writeLegacyIndex(home, settlements);
      const [engine, n] = at.split(':') as ['level' | 'lmdb', string];
      const script = `
        const [home, engine, n] = process.argv.slice(1);
        const { LevelStore } = await import(${JSON.stringify(resolve('dist/src/state/level-store.js'))});
        const { StateStore } = await import(${JSON.stringify(resolve('dist/src/state/kv-store.js'))});
        const { StatementIndex } = await import(${JSON.stringify(resolve('dist/src/pipeline/statement-index.js'))});
        const proto = (engine === 'level' ? LevelStore : StateStore).prototype;
        const commit = proto.commit;
        let done = 0;
        proto.commit = async function (write) {
          await commit.call(this, write);
          if (++done === Number(n)) process.kill(process.pid, 'SIGKILL');
        };
        await StatementIndex.open(home);
        process.exit(3);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, home, engine, n], { stdio: ['ignore', 'inherit', 'inherit'] });
      const signal = await new Promise((r) => child.once('exit', (_code, s) => r(s)));
      expect(signal).toBe('SIGKILL');
      const index = await StatementIndex.open(home);
      try {
        await expectSameStatementsAsAFreshIndex(index);
        expect(index.dirty.written()).toEqual({ inputs: 'a-previous-pass' });
      } finally {
        await index.close();
      }
      expect(await lmdbKeys(home, 'statements.line')).toBe(0);
      expect(await lmdbKeys(home, 'statements.where')).toBe(0);
    }, 60_000);
  }

  it('read-only before its first writable open: no index is read (the move writes), the family’s partition is', async () => {
    const settlements = drop(60);
    await bus.produce('settlements', settlements.map((value) => ({ value })));
    await writeLegacyIndex(home, settlements);
    await (await LevelStore.open(home)).close(); // a LevelDB without the index's layout key (the ledgers' only)
    expect(await StatementIndex.openForReading(home)).toBeNull();
    const request = { adherentId: FAMILIES[1]!, ...ALL };
    const { settlements: read } = await statementFromIndexAndTail(bus, null, request);
    expect(render(request, read)).toBe(render(request, (await settlementsForStatement(bus, request)).map(statementSettlementOf)));
  });
});

describe('the membership store marks first (LevelDB), then commits its events (LMDB)', () => {
  it('a crash between the two leaves a mark without its change: nothing lost, the events applied by the next delivery', async () => {
    const store = MembershipStore.open(home, { today: () => '2026-01-01' });
    const dirty = new DirtyFamilies(await LevelStore.open(home));
    try {
      const event = MembershipEventSchema.parse({ eventId: 'e1', eventType: 'family_created', adherentId: 'ADH0000042', effectiveDate: '2025-01-01', nir: '1870459280378', nirKey: nirKey('1870459280378'), rang: 1, role: 'A', birthDate: '1987-04-20', name: 'BERTRAND François', contracts: ['CCN-HLA-BASE'] });
      // the LMDB transaction fails (the process dies there): the mark is already durable
      const update = store.kv.update.bind(store.kv);
      store.kv.update = () => Promise.reject(new Error('killed before the LMDB commit'));
      await expect(store.apply([event])).rejects.toThrow('killed before the LMDB commit');
      store.kv.update = update;
      expect(await dirty.entries()).toEqual([['ADH0000042', 1]]);
      expect(store.eventsOf('ADH0000042')).toEqual([]);
      // delivered again: applied, marked again (the pass clears whatever number it saw)
      expect((await store.apply([event])).applied).toHaveLength(1);
      expect(await dirty.entries()).toEqual([['ADH0000042', 2]]);
    } finally {
      await dirty.level.close();
      await store.close();
    }
  });
});

describe('beside a process holding the home’s LevelDB (one opener)', () => {
  it('noemie statement with the bus and the index both held reads the family’s partition: the same statement', async () => {
    await bus.produce('settlements', [
      settlement({ adherentId: 'ADH0000001', tp: '00', payee: 'member', lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, careDate: '2025-01-10', expense: '30.00', roAmount: '19.00', amcAmount: '9.00', restToPay: '2.00' }),
      settlement({ adherentId: 'ADH0000001', tp: '00', payee: 'member', lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, careDate: '2025-01-10', expense: '30.00', roAmount: '19.00', amcAmount: '7.00', restToPay: '4.00', version: 2 }),
    ].map((value) => ({ value })));
    await bus.close();
    await importSampleMembers(home);
    const run = async () => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const code = await statementCommand.run(['--adherent', 'ADH0000001', '--from', '2025-01-01', '--to', '2025-03-31', '--home', home, '--nomenclature', 'fixtures/nomenclature.csv', '--issued', '2025-04-01'], { out, err: new PassThrough() });
      return { code, text: Buffer.concat(chunks).toString('utf8') };
    };
    // the index built (bus and LevelDB free): the reference statement
    const reference = await run();
    expect(reference.code).toBe(0);
    expect(reference.text).toContain('7,00');
    bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    // another process holds the home's LevelDB, as a running `noemie run` does; this one the bus
    await holdLevelDb(home);
    expect(await StatementIndex.openForReading(home)).toBeNull();
    const held = await run();
    expect(held.code).toBe(0);
    expect(held.text).toBe(reference.text);
  }, 60_000);
});

describe('payment marks beside a process holding the LevelDB', () => {
  it('the payment state is not opened beside a running holder (LEVEL_LOCKED); the line marks an earlier version made in LMDB are resolved by the statement stage and cleared', async () => {
    // the index knows two lines of ADH0000002; a third line is on no statement
    const settlements = drop(12).filter((s) => s.adherentId === FAMILIES[1]);
    await bus.produce('settlements', settlements.map((value) => ({ value })));
    const index = await StatementIndex.open(home, { sync: false });
    await updateStatementIndex(bus, index);
    await index.close();
    const [a, b] = [settlements[0]!.lineKey, settlements.at(-1)!.lineKey];

    const holder = await holdLevelDb(home);
    // since session 11 the payment state is in the LevelDB: a payment command beside a running
    // `noemie run` cannot open it (it asks the service, src/cli/service-client.ts) and marks nothing
    const refused = await PaymentsStore.open(home).then(async (s) => (await s.close(), null), (e: unknown) => e);
    expect(isLevelLocked(refused)).toBe(true);
    // what `noemie payments returns` beside a running `noemie run` left in LMDB before session 11
    const old = StateStore.open(home);
    const lines = old.sub<number>('statements.dirty-line');
    await old.commit(() => {
      lines.put(a, 2);
      lines.put(b, 1);
      lines.put('noemie:NOWHERE:1', 1);
      old.sub<number>('statements.dirty').put('ADH0000005', 1);
    });
    await old.close();
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));

    // the statement stage (the holder gone): the lines' families from the index, each once
    const reopened = await StatementIndex.open(home, { sync: false });
    const kv = StateStore.open(home);
    try {
      const both = new StatementMarks(reopened.dirty, new LmdbStatementMarks(kv));
      const seen = await both.read();
      expect(StatementMarks.families(seen)).toEqual(expect.arrayContaining([FAMILIES[1], 'ADH0000005']));
      expect(seen.lines.map(([lineKey, , family]) => [lineKey, family ?? null])).toEqual(expect.arrayContaining([[a, FAMILIES[1]], [b, FAMILIES[1]], ['noemie:NOWHERE:1', null]]));
      // a group without the lines' family keeps their marks, but clears the line on no statement
      await both.clear(seen, new Set(['ADH0000005']));
      expect(new LmdbStatementMarks(kv).lineEntries().map(([k]) => k).sort()).toEqual([a, b].sort());
      await both.clear(seen, new Set([FAMILIES[1]!]));
      expect(new LmdbStatementMarks(kv).lineEntries()).toEqual([]);
      expect(new LmdbStatementMarks(kv).entries()).toEqual([]);
    } finally {
      await kv.close();
      await reopened.close();
    }
  }, 60_000);
});
