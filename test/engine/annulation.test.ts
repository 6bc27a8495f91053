import { describe, expect, it } from 'vitest';
import { emptyState, estimate, lineRecord, liquidate, liquidateAll } from '../../src/engine/index.js';
import { BASE, OPT1, OPT2, context, line, partsOf, person, settleAll } from './helpers.js';

/** Annulations, replays, quotes, and the decider's promises (purity, determinism, batching). */

const osteo = (n: number, over: Parameters<typeof line>[0] = {}) =>
  line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: `INV${n}`, psSpecialty: null, careStart: `2025-0${n}-15`, br: '0.00', expense: '60.00', roRate: '0', roAmount: '0.00', ...over });

describe('annulation (operation A) of a liquidated line', () => {
  it('reverses the amounts and parts, keeps the original payee, and releases the counters', () => {
    // Given example 1 with Base + Option 2, paid to the GP in tiers payant (tp 15): 9 + 10 = 19
    // When the RO annuls the line: −19.00 to recover, parts −9.00 / −10.00
    const b = person({ contracts: [BASE, OPT2] });
    const initial = line({ expense: '40.00', pf: '2.00', tp: '15' });
    const annul = line({ expense: '40.00', pf: '2.00', tp: '15', operation: 'A' });
    const { settlements } = settleAll([initial, annul], b);
    const [paid, reversed] = settlements as [typeof settlements[0], typeof settlements[0]];
    expect(paid.amcAmount).toBe('19.00');
    expect(reversed).toMatchObject({ operation: 'A', status: 'paid', version: 2, amcAmount: '-19.00', roAmount: '-19.00', expense: '-40.00', restToPay: '-2.00', payee: 'ps:751234567' });
    expect(partsOf(reversed)).toEqual(['CCN-HLA-BASE=-9.00', 'CCN-HLA-OPT2=-10.00']);
    expect(reversed.reason).toBe('annulled by the RO: reverses version 1, 19.00 to recover (ps:751234567)');
  });

  it('gives back a count: after annulling one of four sessions, a fifth is paid', () => {
    // Option 1: 50 € per session, max 4 / year. I1..I4 → 50 each (count 4); A on I2 → count 3; I5 → 50
    const { settlements, state } = settleAll([osteo(1), osteo(2), osteo(3), osteo(4), osteo(2, { operation: 'A' }), osteo(5)], person({ contracts: [OPT1] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['50.00', '50.00', '50.00', '50.00', '-50.00', '50.00']);
    expect(settlements[4]!.counters).toEqual([{ key: 'CCN-HLA-OPT1|1850375123456-1|divers.medecine_preventive|count|2025', before: '4', after: '3' }]);
    expect(state.counters['CCN-HLA-OPT1|1850375123456-1|divers.medecine_preventive|count|2025']).toBe('4');
    // the ledger remembers the annulled line as version 2, consuming nothing
    expect(lineRecord(state, 'invoice:INV2:1')).toMatchObject({ version: 2, operation: 'A', amcAmount: '-50.00', consumed: [] });
    expect(lineRecord(state, 'invoice:INV5:1')).toMatchObject({ version: 1, operation: 'I', consumed: [{ key: 'CCN-HLA-OPT1|1850375123456-1|divers.medecine_preventive|count|2025', amount: '1' }] });
  });

  it('gives back a renewal: a frame annulled does not block the next one', () => {
    const frame = (n: number, date: string, op: 'I' | 'A' = 'I') => line({ actCode: '2202001', decompteId: `O${n}`, psSpecialty: '28', careStart: date, br: '0.05', expense: '150.00', roRate: '60', roAmount: '0.03', operation: op });
    const { settlements } = settleAll([frame(1, '2025-03-10'), frame(1, '2025-03-10', 'A'), frame(2, '2025-05-01')]);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['99.97', '-99.97', '99.97']);
    expect(settlements[1]!.counters).toEqual([{ key: 'renewal|1850375123456-1|optique|frame', before: '2025-03-10:+1', after: 'released' }]);
  });

  it('an annulation of a line never liquidated goes to review; a second annulation reverses nothing', () => {
    const lone = liquidate({ line: osteo(1, { operation: 'A' }), beneficiary: person() }, context(), emptyState());
    expect(lone.settlement).toMatchObject({ status: 'review', amcAmount: '0.00', reason: 'annulation of a line never liquidated: nothing to reverse; check the original décompte' });
    // (another annulation record: the same one seen again is nothing new, test/engine/versions.test.ts)
    const { settlements } = settleAll([osteo(1), osteo(1, { operation: 'A' }), osteo(1, { operation: 'A', expense: '61.00' })], person({ contracts: [OPT1] }));
    expect(settlements[2]).toMatchObject({ status: 'zero', amcAmount: '0.00', version: 3 });
    expect(settlements[2]!.reason).toContain('already annulled (version 2)');
  });
});

describe('replays and quotes', () => {
  it('replaying the same line is nothing new: same amounts, inputHash and version, nothing consumed, ledger untouched', () => {
    // Option 1 médecine préventive: 50 € per session, max 4 a year. The same session delivered twice
    // (a redelivery or a replay) is one session: count stays at 1, version stays 1.
    const b = person({ contracts: [OPT1] });
    const once = settleAll([osteo(1)], b);
    const { settlements, state } = settleAll([osteo(1), osteo(1)], b);
    expect(settlements.map((s) => [s.amcAmount, s.version])).toEqual([['50.00', 1], ['50.00', 1]]);
    expect(settlements[1]!.inputHash).toBe(settlements[0]!.inputHash);
    expect(settlements[1]!.counters).toEqual([]);
    expect(state).toEqual(once.state);
    expect(state.counters['CCN-HLA-OPT1|1850375123456-1|divers.medecine_preventive|count|2025']).toBe('1');
  });

  it('a corrected line (higher expense) releases the old consumption and changes the hash', () => {
    // Base dietitian is "–"; use Option 1 lentilles non remboursées: 7.5 % PMSS = 294.38 per year
    // v1 FR 100 → 100 (budget used 100); v2 FR 200 (same line key) → 200, budget used 200 (not 300)
    const b = person({ contracts: [OPT1] });
    const box = (fr: string) => line({ actCode: '2202060', source: 'invoice', caisse: null, decompteId: 'L1', psSpecialty: null, br: '0.00', expense: fr, roRate: '0', roAmount: '0.00' });
    const { settlements, state } = settleAll([box('100.00'), box('200.00')], b);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['100.00', '200.00']);
    expect(settlements[1]!.inputHash).not.toBe(settlements[0]!.inputHash);
    expect(state.counters['CCN-HLA-OPT1|1850375123456-1|optique.lentilles_non_remboursees|budget|2025']).toBe('200.00');
  });

  it('estimate (devis conseil) computes the same settlement without consuming anything', () => {
    const ctx = context();
    const state = emptyState();
    const b = person({ contracts: [OPT1] });
    const quotes = [1, 2, 3, 4, 5].map((n) => estimate({ line: osteo(n), beneficiary: b }, ctx, state));
    expect(quotes.map((q) => q.amcAmount)).toEqual(['50.00', '50.00', '50.00', '50.00', '50.00']);
    expect(state).toEqual(emptyState());
  });
});

describe('the decider promises', () => {
  it('never changes the state it is given, and the same inputs give the same outputs', () => {
    const b = person({ contracts: [OPT1] });
    const { state } = settleAll([osteo(1), osteo(2)], b);
    const snapshot = JSON.stringify(state);
    const a = liquidate({ line: osteo(3), beneficiary: b }, context(), state);
    const again = liquidate({ line: osteo(3), beneficiary: b }, context(), state);
    expect(JSON.stringify(state)).toBe(snapshot);
    expect(again).toEqual(a);
    expect(a.state).not.toBe(state);
  });

  it('liquidating in one batch or in several, ledgers carried over, gives the same settlements', () => {
    const b = person({ contracts: [BASE, OPT2] });
    const spouse = person({ nir: '2870699123789', birthDate: '1987-06-30', role: 'C', contracts: [BASE, OPT2] });
    const requests = [1, 2, 3, 4, 5, 6].map((n) => ({ line: osteo(n, n % 2 ? {} : { nir: spouse.nir }), beneficiary: n % 2 ? b : spouse }));
    const whole = liquidateAll(requests, context());
    const first = liquidateAll(requests.slice(0, 2), context());
    const rest = liquidateAll(requests.slice(2), context(), first.ledgers);
    expect([...first.settlements, ...rest.settlements]).toEqual(whole.settlements);
    expect(rest.ledgers).toEqual(whole.ledgers);
    expect(Object.keys(whole.ledgers)).toEqual(['A001']);
  });
});
