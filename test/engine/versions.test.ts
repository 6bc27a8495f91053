import { describe, expect, it } from 'vitest';
import { emptyState, lineRecord, liquidate, liquidateAll, stateKeyOf, type EngineState, type LiquidationRequest } from '../../src/engine/index.js';
import type { Settlement } from '../../src/model/settlement.js';
import { OPT1, context, line, person } from './helpers.js';

/**
 * (lineKey, version) names ONE settlement content: any new content for a lineKey is a new version,
 * on every path (unknown beneficiary, review, rejected, annulations), and a line once annulled stays
 * annulled when its initial record is seen again.
 */

const osteo = (over: Parameters<typeof line>[0] = {}) =>
  line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: 'INV1', psSpecialty: null, careStart: '2025-03-15', br: '0.00', expense: '60.00', roRate: '0', roAmount: '0.00', ...over });
const gp = (over: Parameters<typeof line>[0] = {}) => line({ roPaymentDate: '2025-03-14', ...over });

/**
 * Every settlement published under one (lineKey, version) must be the same. Published = the
 * decision changed the ledger: a record seen again that changes nothing returns the recorded version
 * with the ledger untouched, and callers publish nothing for it (liquidate-lines.ts).
 */
function expectUniqueVersions(settlements: readonly Settlement[]): void {
  const seen = new Map<string, string>();
  for (const s of settlements) {
    const key = `${s.lineKey}#${s.version}`;
    const text = JSON.stringify({ ...s, counters: [] });
    const first = seen.get(key);
    if (first !== undefined) expect(text, `two contents for ${key}`).toBe(first);
    else seen.set(key, text);
  }
}

/** Liquidates in order, each request against its ledger (stateKeyOf), as every caller does. */
function run(requests: readonly LiquidationRequest[], ledgers: Record<string, EngineState> = {}) {
  const out = liquidateAll(requests, context(), ledgers);
  return { settlements: out.settlements, ledgers: out.ledgers as Record<string, EngineState> };
}

describe('unknown beneficiary', () => {
  it('an original and its annulation get versions 1 and 2 (they were both 1)', () => {
    const { settlements } = run([{ line: gp(), beneficiary: undefined }, { line: gp({ operation: 'A', roPaymentDate: '2025-04-02' }), beneficiary: undefined }]);
    expect(settlements.map((s) => [s.operation, s.status, s.version])).toEqual([['I', 'review', 1], ['A', 'zero', 2]]);
    expectUniqueVersions(settlements);
  });

  it('is kept in the ledger of the member number the line names, consuming nothing', () => {
    const request = { line: gp({ amcMemberId: 'A777' }), beneficiary: undefined };
    expect(stateKeyOf(request)).toBe('A777');
    const { ledgers } = run([request]);
    expect(lineRecord(ledgers.A777!, 'noemie-011751001:D0001:1')).toMatchObject({ version: 1, status: 'review', consumed: [] });
    expect(ledgers.A777!.counters).toEqual({});
  });

  it('a redelivery is nothing new; once the member file knows the person, the line is version 2', () => {
    // A001 is both the line's member number and the adhérent of person(): the same ledger.
    const { settlements } = run([{ line: gp(), beneficiary: undefined }, { line: gp(), beneficiary: undefined }, { line: gp(), beneficiary: person() }]);
    expect(settlements.map((s) => [s.status, s.version])).toEqual([['review', 1], ['review', 1], ['paid', 2]]);
    expectUniqueVersions(settlements);
  });
});

describe('annulations', () => {
  it('an annulation before its initial record: the late initial is a new version and is not paid', () => {
    const { settlements, ledgers } = run([{ line: gp({ operation: 'A' }), beneficiary: person() }, { line: gp(), beneficiary: person() }]);
    expect(settlements.map((s) => [s.operation, s.status, s.version, s.amcAmount])).toEqual([['A', 'review', 1, '0.00'], ['I', 'review', 2, '0.00']]);
    expect(settlements[1]!.reason).toContain('annulled by the RO (version 1) before this initial record arrived');
    expectUniqueVersions(settlements);
    // and a redelivery of that initial is nothing new
    const again = run([{ line: gp(), beneficiary: person() }], ledgers);
    expect(again.settlements[0]!.version).toBe(2);
    expect(again.ledgers.A001).toBe(ledgers.A001);
  });

  it('an initial seen again after its own annulation does not reopen the line (no-op, ledger untouched)', () => {
    const b = person({ contracts: [OPT1] });
    const first = run([{ line: osteo(), beneficiary: b }, { line: osteo({ operation: 'A' }), beneficiary: b }]);
    expect(first.settlements.map((s) => [s.amcAmount, s.version])).toEqual([['50.00', 1], ['-50.00', 2]]);
    const replay = run([{ line: osteo(), beneficiary: b }], first.ledgers);
    const s = replay.settlements[0]!;
    // Not 50.00 paid again as version 3: the recorded version 2 (the annulation), nothing to publish
    expect(s).toMatchObject({ version: 2, operation: 'A', amcAmount: '-50.00', counters: [] });
    expect(s.inputHash).toBe(first.settlements[1]!.inputHash);
    expect(replay.ledgers.A001).toBe(first.ledgers.A001);
    expect(lineRecord(replay.ledgers.A001!, 'invoice:INV1:1')).toMatchObject({ version: 2, operation: 'A' });
  });

  it('another initial under an annulled lineKey stays annulled: review, a new version, nothing paid', () => {
    const b = person({ contracts: [OPT1] });
    const { settlements } = run([{ line: osteo(), beneficiary: b }, { line: osteo({ operation: 'A' }), beneficiary: b }, { line: osteo({ expense: '70.00' }), beneficiary: b }]);
    expect(settlements.map((s) => [s.status, s.version, s.amcAmount])).toEqual([['paid', 1, '50.00'], ['paid', 2, '-50.00'], ['review', 3, '0.00']]);
    expectUniqueVersions(settlements);
  });

  it('the same annulation twice is nothing new; another one is a new version, reversing nothing', () => {
    const b = person({ contracts: [OPT1] });
    const a = osteo({ operation: 'A' });
    const { settlements } = run([{ line: osteo(), beneficiary: b }, { line: a, beneficiary: b }, { line: a, beneficiary: b }, { line: osteo({ operation: 'A', expense: '61.00' }), beneficiary: b }]);
    expect(settlements.map((s) => [s.status, s.version, s.amcAmount])).toEqual([['paid', 1, '50.00'], ['paid', 2, '-50.00'], ['paid', 2, '-50.00'], ['zero', 3, '0.00']]);
    expect(settlements[3]!.reason).toContain('already annulled (version 2)');
    expectUniqueVersions(settlements.filter((_, i) => i !== 2));
  });

  it('a rejected line and its annulation: versions 1 and 2', () => {
    // care before the affiliation start → rejected; the annulation reverses its zero amounts
    const b = person({ start: '2025-06-01' });
    const { settlements } = run([{ line: gp(), beneficiary: b }, { line: gp({ operation: 'A', roPaymentDate: '2025-04-02' }), beneficiary: b }]);
    expect(settlements.map((s) => [s.status, s.version])).toEqual([['rejected', 1], ['zero', 2]]);
    expectUniqueVersions(settlements);
  });
});

describe('versions over a mixed history', () => {
  it('never give two contents the same (lineKey, version)', () => {
    const b = person({ contracts: [OPT1] });
    const history: LiquidationRequest[] = [
      { line: osteo(), beneficiary: undefined }, // review v1 (unknown)
      { line: osteo(), beneficiary: b }, // paid 50 v2
      { line: osteo({ expense: '80.00' }), beneficiary: b }, // corrected: paid 50 v3
      { line: osteo({ operation: 'A' }), beneficiary: b }, // reverses v3: −50 v4
      { line: osteo({ operation: 'A', expense: '80.00' }), beneficiary: b }, // another annulation: zero v5
      { line: osteo({ operation: 'A' }), beneficiary: b }, // seen again: nothing new
      { line: osteo(), beneficiary: b }, // an initial that is not the annulled one: review v6
      { line: osteo({ expense: '80.00' }), beneficiary: b }, // the annulled initial again: nothing new
      { line: osteo({ expense: '90.00' }), beneficiary: b }, // review v7
      { line: osteo({ expense: '90.00' }), beneficiary: b }, // seen again: nothing new
    ];
    let state = emptyState();
    const settlements: Settlement[] = [];
    for (const r of history) {
      const out = liquidate(r, context(), state);
      if (out.state !== state) settlements.push(out.settlement);
      state = out.state;
    }
    expect(settlements.map((s) => [s.version, s.status, s.amcAmount])).toEqual([
      [1, 'review', '0.00'], [2, 'paid', '50.00'], [3, 'paid', '50.00'], [4, 'paid', '-50.00'], [5, 'zero', '0.00'], [6, 'review', '0.00'], [7, 'review', '0.00'],
    ]);
    expectUniqueVersions(settlements);
  });
});

describe('the service loop (liquidateLines) publishes each content once', () => {
  it('unknown beneficiary: the line and its annulation are both published, as versions 1 and 2; a redelivery is not', async () => {
    const { liquidateLines } = await import('../../src/pipeline/liquidate-lines.js');
    const { GRIDS, NOMENCLATURE, PMSS } = await import('./helpers.js');
    const reference = { grids: GRIDS, nomenclature: NOMENCLATURE, pmss: PMSS };
    const req = (l: ReturnType<typeof gp>) => ({ line: l, beneficiary: null, asOf: '2025-12-31' });
    const first = liquidateLines([req(gp()), req(gp({ operation: 'A', roPaymentDate: '2025-04-02' }))], reference, {});
    expect(first.outcomes.map((o) => [o.changed, o.settlement.operation, o.settlement.version])).toEqual([[true, 'I', 1], [true, 'A', 2]]);
    const again = liquidateLines([req(gp()), req(gp({ operation: 'A', roPaymentDate: '2025-04-02' }))], reference, first.ledgers);
    expect(again.outcomes.map((o) => o.changed)).toEqual([false, false]);
    expect(again.ledgers).toEqual({});
  });
});
