import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Settlement } from '../../src/model/settlement.js';
import { startStatementIndexer, StatementIndex, statementFromIndexAndTail, updateStatementIndex } from '../../src/pipeline/statement-index.js';
import { statementLineCodec } from '../../src/pipeline/statement-line-codec.js';
import { settlementsForStatement } from '../../src/pipeline/statement-source.js';
import type { BinaryCodec } from '../../src/state/level-store.js';
import { renderStatementText, statementData, type StatementRequest, type StatementSettlement } from '../../src/statement/index.js';
import { settlement, tempDir } from './stages-given.js';

/**
 * The statement index (src/pipeline/statement-index.ts) against the reference it replaces: reading
 * the family's whole `settlements` partition (statement-source.ts). A generated drop — 8 families,
 * 120 lines, up to 3 versions per line, some lines annulled, care dates over two quarters —
 * is published in three parts; after each part the index is brought up to date and every
 * family's statement for Q1, Q2 and both is compared, rendered as text, with the topic's.
 */
const FAMILIES = Array.from({ length: 8 }, (_, i) => `ADH${String(i + 1).padStart(7, '0')}`);
const Q1: Omit<StatementRequest, 'adherentId'> = { from: '2025-01-01', to: '2025-03-31' };
const Q2: Omit<StatementRequest, 'adherentId'> = { from: '2025-04-01', to: '2025-06-30' };
const BOTH: Omit<StatementRequest, 'adherentId'> = { from: '2025-01-01', to: '2025-06-30' };

/** Park–Miller: the same drop every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48_271) % 2_147_483_647) / 2_147_483_647;
}

/** The drop's settlements, in publication order: each line's versions in order, versions of different lines interleaved. */
function generatedDrop(): Settlement[] {
  const rnd = random(42);
  const pending: Settlement[][] = [];
  for (let n = 0; n < 120; n++) {
    const adherentId = FAMILIES[n % FAMILIES.length]!;
    const month = 1 + Math.floor(rnd() * 6);
    const careDate = `2025-0${month}-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
    const versions = 1 + Math.floor(rnd() * 3);
    const annulled = rnd() < 0.15;
    const base = { lineKey: `noemie:D${n}:1`, adherentId, careDate, beneficiary: { nir: `1${String(n).padStart(12, '0')}`, rang: 1 }, payee: 'member' as const };
    const line: Settlement[] = [];
    for (let v = 1; v <= versions; v++) {
      const amc = (10 + n + v).toFixed(2);
      line.push(settlement({ ...base, version: v, expense: (50 + n).toFixed(2), roAmount: '21.00', amcAmount: amc, restToPay: '1.00', operation: annulled && v === versions ? 'A' : 'I' }));
    }
    pending.push(line);
  }
  const out: Settlement[] = [];
  while (pending.some((l) => l.length > 0)) {
    for (const l of pending) {
      const next = l.shift();
      if (next && rnd() < 0.7) out.push(next);
      else if (next) l.unshift(next);
    }
  }
  return out;
}

/** Every entry of one of the index's sub-stores (LevelDB: an async scan), in key order. */
async function entriesOf(of: StatementIndex, name: string): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  // the lines are msgpack (statement-line-codec.ts), `where` text (statement-where.ts, compared as stored), the other sub-stores JSON
  const codec = name === 'statements.line' ? (statementLineCodec as BinaryCodec<unknown>) : name === 'statements.where' ? 'text' : 'json';
  for await (const e of of.level.sub<unknown>(name, codec).entries()) out.push(e);
  return out;
}

const render = (request: StatementRequest, settlements: Iterable<StatementSettlement>) => renderStatementText(statementData(request, settlements, []));

let home = '';
let cleanup: () => Promise<void>;
let bus: EmbeddedBus;
let index: StatementIndex;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('statement-index-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
  index = await StatementIndex.open(home);
});

afterEach(async () => {
  await index.close();
  await bus.close();
  await cleanup();
});

const publish = (settlements: readonly Settlement[]) => bus.produce('settlements', settlements.map((value) => ({ value })));

async function expectSameStatementsAsTheTopic(): Promise<number> {
  let lines = 0;
  for (const adherentId of FAMILIES) {
    for (const period of [Q1, Q2, BOTH]) {
      const request = { adherentId, ...period };
      const fromIndex = (await index.settlementsIn(request));
      expect(render(request, fromIndex)).toBe(render(request, await settlementsForStatement(bus, request)));
      if (period === BOTH) lines += fromIndex.length;
    }
  }
  return lines;
}

describe('statement index', () => {
  it('gives the statements the topic gives, after each part of a drop, consuming only what is new each time', async () => {
    const drop = generatedDrop();
    const parts = [drop.slice(0, 100), drop.slice(100, 180), drop.slice(180)];
    expect(drop.length).toBeGreaterThan(200); // 120 lines, 1 to 3 versions each
    for (const part of parts) {
      await publish(part);
      // each update consumes exactly the part just published, never the topic's history
      expect((await updateStatementIndex(bus, index, { maxBatch: 17 })).consumed).toBe(part.length);
      await expectSameStatementsAsTheTopic();
    }
    expect((await updateStatementIndex(bus, index)).consumed).toBe(0);
    // one index entry per line (latest version), annulled ones included: 120 lines
    expect(await expectSameStatementsAsTheTopic()).toBe(120);
    // the index holds the latest version of each line: the drop's highest
    const highest = new Map<string, number>();
    for (const s of drop) highest.set(s.lineKey, Math.max(highest.get(s.lineKey) ?? 0, s.version));
    for (const [lineKey, version] of highest) expect(index.whereOf(lineKey)?.version).toBe(version);
  });

  it('a batch redelivered after a crash between the index commit and the offset commit changes nothing', async () => {
    const drop = generatedDrop();
    await publish(drop);
    // the second batch's transaction commits, then the process "dies" before its offsets are committed
    const sizes: number[] = [];
    const crashing = new StatementIndex(index.level);
    const apply = crashing.apply.bind(crashing);
    crashing.apply = async (s) => {
      const batch = [...s];
      await apply(batch);
      sizes.push(batch.length);
      if (sizes.length === 2) throw new Error('killed after the index commit');
    };
    await expect(updateStatementIndex(bus, crashing, { maxBatch: 17 })).rejects.toThrow('killed after the index commit');
    // restart: the group resumes at the last committed offsets, so the second batch comes again
    const after = await updateStatementIndex(bus, index, { maxBatch: 17 });
    // only the first batch's offsets were committed: everything else is delivered (again, for the crashed batch)
    expect(sizes).toHaveLength(2);
    expect(after.consumed).toBe(drop.length - sizes[0]!);

    const { dir: cleanHome, cleanup: cleanupClean } = await tempDir('statement-index-clean-');
    const clean = await StatementIndex.open(cleanHome);
    try {
      await clean.apply(drop);
      expect(await entriesOf(index, 'statements.line')).toEqual(await entriesOf(clean, 'statements.line'));
      expect(await entriesOf(index, 'statements.where')).toEqual(await entriesOf(clean, 'statements.where'));
    } finally {
      await clean.close();
      await cleanupClean();
    }
    await expectSameStatementsAsTheTopic();
  });

  it('keeps the latest version: an older version delivered later is ignored', async () => {
    const base = { lineKey: 'noemie:D1:1', adherentId: FAMILIES[0]!, beneficiary: { nir: '1850575123456', rang: 1 }, careDate: '2025-02-03' };
    await index.apply([settlement({ ...base, version: 2, amcAmount: '5.00' })]);
    await index.apply([settlement({ ...base, version: 1, amcAmount: '7.00' })]);
    const lines = (await index.settlementsIn({ adherentId: FAMILIES[0]!, ...Q1 }));
    expect(lines.map((l) => [l.version, l.amcAmount])).toEqual([[2, '5.00']]);
  });

  it('a new version with another care date or family moves the line: the old key is removed', async () => {
    const base = { lineKey: 'noemie:D1:1', beneficiary: { nir: '1850575123456', rang: 1 } };
    const [a, b] = [FAMILIES[0]!, FAMILIES[1]!];
    await index.apply([settlement({ ...base, adherentId: a, careDate: '2025-02-03', version: 1 })]);
    await index.apply([settlement({ ...base, adherentId: a, careDate: '2025-05-03', version: 2 })]);
    expect((await index.settlementsIn({ adherentId: a, ...Q1 }))).toEqual([]);
    expect((await index.settlementsIn({ adherentId: a, ...Q2 })).map((l) => l.careDate)).toEqual(['2025-05-03']);
    await index.apply([settlement({ ...base, adherentId: b, careDate: '2025-05-03', version: 3 })]);
    expect((await index.settlementsIn({ adherentId: a, ...BOTH }))).toEqual([]);
    expect((await index.settlementsIn({ adherentId: b, ...BOTH })).map((l) => l.version)).toEqual([3]);
    // unknown beneficiary (no family): indexed nowhere
    await index.apply([settlement({ ...base, adherentId: null, careDate: '2025-05-03', version: 4 })]);
    expect((await index.settlementsIn({ adherentId: b, ...BOTH }))).toEqual([]);
    expect((await entriesOf(index, 'statements.line')).map(([k]) => k)).toEqual([]);
    expect(index.whereOf('noemie:D1:1')).toEqual({ key: null, version: 4 });
  });

  it('keeps what a statement needs, not the counters', async () => {
    const s = settlement({ lineKey: 'noemie:D1:1', adherentId: FAMILIES[0]!, beneficiary: { nir: '1850575123456', rang: 1 }, careDate: '2025-02-03', counters: [{ key: 'k', before: '0.00', after: '19.00' }] });
    await index.apply([s]);
    const [stored] = (await index.settlementsIn({ adherentId: FAMILIES[0]!, ...Q1 }));
    expect(stored).not.toHaveProperty('counters');
    expect(stored).not.toHaveProperty('parts');
    expect(render({ adherentId: FAMILIES[0]!, ...Q1 }, [stored!])).toBe(render({ adherentId: FAMILIES[0]!, ...Q1 }, [s]));
  });

  it('read-only (the bus held by a running noemie run): index plus the tail past the group, nothing written', async () => {
    const drop = generatedDrop();
    await publish(drop.slice(0, 150));
    await updateStatementIndex(bus, index);
    await publish(drop.slice(150));
    const committed = await bus.committedOffsets('statements', 'settlements');
    const readOnly = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    try {
      for (const adherentId of FAMILIES) {
        for (const period of [Q1, Q2, BOTH]) {
          const request = { adherentId, ...period };
          const { settlements } = await statementFromIndexAndTail(readOnly, index, request);
          expect(render(request, settlements)).toBe(render(request, await settlementsForStatement(bus, request)));
        }
      }
      // without any index (a home that has no store): the whole partition, as before
      const request = { adherentId: FAMILIES[3]!, ...BOTH };
      const { settlements, tail } = await statementFromIndexAndTail(readOnly, null, request, 'no-such-group');
      expect(render(request, settlements)).toBe(render(request, await settlementsForStatement(bus, request)));
      expect(tail).toBeGreaterThan(0);
    } finally {
      await readOnly.close();
    }
    expect(await bus.committedOffsets('statements', 'settlements')).toEqual(committed);
  });

  it('service mode (noemie run without --once): the indexer keeps the index as settlements pass', async () => {
    const drop = generatedDrop();
    const { dir: serviceHome, cleanup: cleanupService } = await tempDir('statement-indexer-');
    try {
      const indexer = await startStatementIndexer({ bus, home: serviceHome });
      await publish(drop.slice(0, 120));
      await publish(drop.slice(120));
      for (let i = 0; i < 200 && indexer.stats.consumed < drop.length; i++) await new Promise((r) => setTimeout(r, 25));
      await indexer.stop();
      expect(indexer.stats.consumed).toBe(drop.length);
      const served = await StatementIndex.open(serviceHome);
      try {
        // everything is consumed: a catch-up finds nothing new, and the statements are the topic's
        expect((await updateStatementIndex(bus, served)).consumed).toBe(0);
        for (const adherentId of FAMILIES) {
          const request = { adherentId, ...BOTH };
          expect(render(request, await served.settlementsIn(request))).toBe(render(request, await settlementsForStatement(bus, request)));
        }
      } finally {
        await served.close();
      }
    } finally {
      await cleanupService();
    }
  });
});
