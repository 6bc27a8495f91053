import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Settlement } from '../../src/model/settlement.js';
import { StatementIndex, statementSettlementOf } from '../../src/pipeline/statement-index.js';
import { statementLineCodec } from '../../src/pipeline/statement-line-codec.js';
import { compositeKey } from '../../src/state/kv-store.js';
import type { StatementSettlement } from '../../src/statement/index.js';
import { settlement, tempDir } from './stages-given.js';

/**
 * `statements.line` values (src/pipeline/statement-line-codec.ts): msgpack records of two
 * structures fixed in the code since session 11, JSON before — both read.
 */
const FAMILY = 'ADH0000042';
const nir = '1850575123456';

/** every optional field of a statement line present, then each left out */
const lines: Settlement[] = [
  settlement({ lineKey: 'noemie:D1:1', adherentId: FAMILY, beneficiary: { nir, rang: 1 }, careDate: '2025-02-03', operation: 'I', tp: '15', psId: '591000006', payee: 'ps:591000006', reason: 'yearly ceiling of 100.00 reached; réduction', reliquidation: { eventId: 'ev-1', type: 'affiliation_end', effectiveDate: '2025-01-31' } }),
  settlement({ lineKey: 'noemie:D1:2', adherentId: FAMILY, beneficiary: { nir, rang: 2 }, careDate: '2025-02-04', poste: null, reason: null, payee: 'member', version: 3, amcAmount: '1234567.89' }),
  settlement({ lineKey: 'noemie:D1:3', adherentId: FAMILY, beneficiary: { nir, rang: 1 }, careDate: '2025-02-05', operation: 'A', status: 'rejected', reason: 'Émis — hors période « adhésion »' }),
];
/** a line indexed before the index kept who it pays (StatementSettlement's payee is optional) */
const withoutPayee = (s: Settlement): StatementSettlement => {
  const out = statementSettlementOf(s);
  delete out.payee;
  delete out.psId;
  delete out.tp;
  return out;
};

describe('statement line codec (statements.line values)', () => {
  it('round-trips every shape exactly: the optional fields it lacked are still absent, not undefined or null', () => {
    for (const s of [...lines.map(statementSettlementOf), withoutPayee(lines[1]!)]) {
      const bytes = statementLineCodec.encode(s);
      expect(statementLineCodec.decode(Buffer.from(bytes))).toStrictEqual(s);
      // the JSON the index wrote in session 10, for the same line
      expect(Buffer.from(bytes).length).toBeLessThan(Buffer.byteLength(JSON.stringify(s)));
    }
  });

  it('reads the JSON values written before (first byte `{`) as the objects they were', () => {
    for (const s of lines.map(statementSettlementOf)) expect(statementLineCodec.decode(Buffer.from(JSON.stringify(s), 'utf8'))).toStrictEqual(s);
  });

  it('the structures are in the format, not in the writing process: a fresh module instance reads what another wrote', async () => {
    const written = lines.map((s) => Buffer.from(statementLineCodec.encode(statementSettlementOf(s))));
    // never JSON's first byte: the decoder tells the two apart by it
    for (const b of written) expect(b[0]).not.toBe(0x7b);
    vi.resetModules();
    const fresh = (await import('../../src/pipeline/statement-line-codec.js')).statementLineCodec;
    expect(fresh).not.toBe(statementLineCodec);
    expect(written.map((b) => fresh.decode(b))).toStrictEqual(lines.map(statementSettlementOf));
  });
});

describe('statement index over a home whose lines are JSON (session 10) and msgpack (session 11)', () => {
  let home = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let index: StatementIndex;
  beforeEach(async () => {
    ({ dir: home, cleanup } = await tempDir('statement-line-codec-'));
    index = await StatementIndex.open(home, { sync: false });
  });
  afterEach(async () => {
    await index.close();
    await cleanup();
  });

  it('a family read returns both, a newer version replaces a JSON value with a msgpack one, and the point read reads both', async () => {
    // what session 10's index wrote: JSON values under the same keys, and their `where`
    const json = index.level.sub<StatementSettlement>('statements.line', 'json');
    const where = index.level.sub<{ key: string | null; version: number }>('statements.where', 'json');
    await index.level.commit(() => {
      for (const s of lines.slice(0, 2)) {
        const key = compositeKey(FAMILY, s.careDate, s.lineKey);
        json.put(key, statementSettlementOf(s));
        where.put(s.lineKey, { key, version: s.version });
      }
    });
    const Q = { adherentId: FAMILY, from: '2025-01-01', to: '2025-12-31' };
    expect(await index.settlementsIn(Q)).toStrictEqual(lines.slice(0, 2).map(statementSettlementOf));

    // this session's writes: a new line, and a newer version of the first (same key, now msgpack)
    const newer = { ...lines[0]!, version: 2, amcAmount: '7.00' };
    await index.apply([lines[2]!, newer]);
    expect(await index.settlementsIn(Q)).toStrictEqual([newer, lines[1]!, lines[2]!].map(statementSettlementOf));
    const raw = await index.level.sub<string>('statements.line', 'text').entriesIn();
    // the first and third lines were rewritten (msgpack, not JSON text), the second is still JSON
    expect(raw.map(([, v]) => v.startsWith('{'))).toEqual([false, true, false]);
    expect(index.latestOf(lines[1]!.lineKey)).toStrictEqual({ version: lines[1]!.version, settlement: statementSettlementOf(lines[1]!) });
    expect(index.latestOf(newer.lineKey)).toStrictEqual({ version: 2, settlement: statementSettlementOf(newer) });
  });
});
