import { describe, expect, it } from 'vitest';
import { ReconOutcomeSchema } from '../../src/model/reconciliation.js';
import { decide, decideAll, DEFAULT_RECON_CONFIG, initialReconState, nextDeadline, parseReconState, ReconError, type ReconEvent } from '../../src/reconcile/index.js';
import { at, C, claim, line, NIR, PS, S, scenario, T } from './given.js';

describe('reconciliation: matched', () => {
  it('a claim equal to the entitlement, line after claim: pay the professional, not the member', () => {
    // given claim C1 for 19.00 (not paid yet); when the NOEMIE line (tp 15, AMC 19.00) arrives
    // then 19.00 = 19.00 → matched, owed 19.00 to ps:751234567
    const { given, outcomes } = scenario([C(claim())], [S(line())]);
    expect(given.outcomes).toEqual([]); // a pending claim says nothing until its delay runs out
    expect(outcomes).toHaveLength(1);
    const o = outcomes[0]!;
    expect(o).toMatchObject({ kind: 'matched', lineKey: line().lineKey, version: 1, tpClaimId: 'C1', payee: `ps:${PS}`, amount: '19.00', owed: '19.00', entitled: '19.00', claimed: '19.00', claimPaidOn: null });
    expect(o.reason).toMatch(/not the member/);
    expect(ReconOutcomeSchema.parse(o)).toEqual(o);
  });

  it('line first, then claim: the held line is released by the claim', () => {
    const { given, outcomes } = scenario([S(line(), at('2025-03-04'))], [C(claim(), at('2025-03-06'))]);
    expect(given.outcomes.map((o) => o.kind)).toEqual(['held']);
    expect(outcomes.map((o) => [o.kind, o.amount])).toEqual([['matched', '19.00']]);
    expect(outcomes[0]!.at).toBe(at('2025-03-06'));
  });

  it('a claim below the entitlement is matched for what was claimed', () => {
    // claimed 15.00 < entitled 19.00 → matched, owed 15.00 (the professional asked for less)
    const { outcomes } = scenario([S(line())], [C(claim({ amcAmountClaimed: '15.00' }))]);
    expect(outcomes).toMatchObject([{ kind: 'matched', owed: '15.00', amount: '15.00' }]);
  });

  it('within the configured tolerance the claimed amount is owed', () => {
    // |19.01 − 19.00| = 0.01 ≤ tolerance 0.01 → matched, owed 19.01
    const config = { holdDays: 30, claimDays: 30, tolerance: '0.01' };
    const { outcomes } = scenario([S(line())], [C(claim({ amcAmountClaimed: '19.01' }))], config);
    expect(outcomes).toMatchObject([{ kind: 'matched', owed: '19.01' }]);
    // with the default tolerance 0.00 the same cent is an indu
    expect(scenario([S(line())], [C(claim({ amcAmountClaimed: '19.01' }))]).outcomes).toMatchObject([{ kind: 'indu', amount: '0.01', owed: '19.00' }]);
  });

  it('an already-paid equal claim: matched, nothing more to pay', () => {
    const { outcomes } = scenario([S(line())], [C(claim({ paidOn: '2025-03-04' }))]);
    expect(outcomes).toMatchObject([{ kind: 'matched', claimPaidOn: '2025-03-04', owed: '19.00' }]);
    expect(outcomes[0]!.reason).toMatch(/Nothing more to pay/);
  });
});

describe('reconciliation: indu', () => {
  it('the operator paid more than the entitlement: indu against the professional for the difference', () => {
    // paid 30.00, entitled 19.00 → indu 30.00 − 19.00 = 11.00; the professional is owed 19.00
    const { outcomes } = scenario([S(line())], [C(claim({ amcAmountClaimed: '30.00', paidOn: '2025-03-04' }))]);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: 'indu', payee: `ps:${PS}`, amount: '11.00', owed: '19.00', claimed: '30.00', entitled: '19.00' });
    expect(outcomes[0]!.reason).toMatch(/11\.00 to recover/);
  });

  it('a re-liquidation that lowers a matched line turns the match into an indu', () => {
    // v1 19.00 matched with claim 19.00; v2 lowers the AMC part to 15.00 → indu 19.00 − 15.00 = 4.00
    const { outcomes } = scenario([S(line()), C(claim())], [S(line({ version: 2, amcAmount: '15.00' }), at('2025-03-20'))]);
    expect(outcomes).toMatchObject([{ kind: 'indu', version: 2, amount: '4.00', owed: '15.00', tpClaimId: 'C1' }]);
  });
});

describe('reconciliation: held and exceptions', () => {
  it('a TP line with no claim is held, then an exception once the delay runs out, once', () => {
    const config = { holdDays: 10, claimDays: 10, tolerance: '0.00' };
    const r1 = decide(initialReconState(), S(line({ tp: '25' }), at('2025-03-10')), config);
    expect(r1.outcomes).toMatchObject([{ kind: 'held', amount: '19.00', payee: null, lineKey: line().lineKey }]);
    expect(r1.outcomes[0]!.reason).toMatch(/never paid to the member/);
    // deadline = 2025-03-10T09:00 + 10 days = 2025-03-20T09:00
    expect(nextDeadline(r1.state)).toBe(at('2025-03-20'));
    const early = decide(r1.state, T(at('2025-03-20', '08:59:59')), config);
    expect(early.outcomes).toEqual([]);
    expect(early.state).toBe(r1.state); // nothing changed: the same object, nothing to persist
    const due = decide(r1.state, T(at('2025-03-20')), config);
    expect(due.outcomes).toMatchObject([{ kind: 'exception', lineKey: line().lineKey, amount: '19.00', tpClaimId: null }]);
    expect(nextDeadline(due.state)).toBeNull();
    expect(decide(due.state, T(at('2025-04-30')), config).outcomes).toEqual([]);
  });

  it('a late claim still matches a line in exception', () => {
    const config = { holdDays: 1, claimDays: 1, tolerance: '0.00' };
    const { outcomes } = scenario([S(line(), at('2025-03-10')), T(at('2025-03-12'))], [C(claim(), at('2025-03-15'))], config);
    expect(outcomes.map((o) => o.kind)).toEqual(['matched']);
  });

  it('a claim never confirmed by a NOEMIE line becomes an exception after the delay', () => {
    const config = { holdDays: 30, claimDays: 20, tolerance: '0.00' };
    // received 2025-03-05T09:00, + 20 days → due 2025-03-25T09:00
    const { outcomes, state } = scenario([C(claim({ paidOn: '2025-03-05' }), at('2025-03-05'))], [T(at('2025-03-24')), T(at('2025-03-25'))], config);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: 'exception', lineKey: null, tpClaimId: 'C1', claimed: '19.00', claimPaidOn: '2025-03-05', payee: `ps:${PS}` });
    expect(nextDeadline(state)).toBeNull();
  });

  it('a claim for another professional, date or act does not match', () => {
    for (const other of [claim({ psId: '999999999' }), claim({ careDate: '2025-03-04' }), claim({ actCode: 'CS' }), claim({ rang: 2 })]) {
      expect(scenario([S(line())], [C(other)]).outcomes).toEqual([]);
    }
  });

  it('a tp 00 line is not held (the member is paid) and takes no claim', () => {
    const { given, outcomes } = scenario([S(line({ tp: '00', payee: 'member' }))], [C(claim())]);
    expect(given.outcomes).toEqual([]);
    expect(outcomes).toEqual([]);
  });
});

describe('reconciliation: annulation', () => {
  it('annulation of a matched TP line: indu against the professional for what it was owed', () => {
    const { outcomes } = scenario([S(line()), C(claim())], [S(line({ version: 2, operation: 'A', amcAmount: '-19.00' }), at('2025-04-01'))]);
    expect(outcomes).toMatchObject([{ kind: 'annulation-indu', payee: `ps:${PS}`, amount: '19.00', version: 2, entitled: '0.00' }]);
  });

  it('annulation of a TP line whose claim the operator paid: indu for the amount paid', () => {
    const { outcomes } = scenario([S(line()), C(claim({ amcAmountClaimed: '30.00', paidOn: '2025-03-04' }))], [S(line({ version: 2, operation: 'A', amcAmount: '-19.00' }))]);
    expect(outcomes).toMatchObject([{ kind: 'annulation-indu', payee: `ps:${PS}`, amount: '30.00', claimPaidOn: '2025-03-04' }]);
  });

  it('annulation of a member line settled for payment: indu against the family', () => {
    const member = line({ lineKey: 'noemie-011751001:D200:1', tp: '00', payee: 'member', amcAmount: '9.00' });
    const { outcomes } = scenario([S(member)], [S({ ...member, version: 2, operation: 'A', amcAmount: '-9.00' })]);
    expect(outcomes).toMatchObject([{ kind: 'annulation-indu', payee: 'member:A001', amount: '9.00' }]);
  });

  it('annulation of a held line (nothing was paid): no indu, and no exception later', () => {
    const { outcomes, state } = scenario([S(line())], [S(line({ version: 2, operation: 'A', amcAmount: '-19.00' }))]);
    expect(outcomes).toEqual([]);
    expect(nextDeadline(state)).toBeNull();
  });

  it('the claim of an annulled line waits for the line the RO re-issues', () => {
    const reissued = line({ lineKey: 'noemie-011751001:D101:1' });
    const { outcomes } = scenario([S(line()), C(claim()), S(line({ version: 2, operation: 'A', amcAmount: '-19.00' }))], [S(reissued)]);
    expect(outcomes).toMatchObject([{ kind: 'matched', lineKey: reissued.lineKey, tpClaimId: 'C1' }]);
  });
});

describe('reconciliation: a paid claim and the annulation of its line, in any order', () => {
  // The operator paid the professional 30.00 for care whose NOEMIE line (TP, AMC 19.00) the RO then
  // annulled: 30.00 is indu against the professional whatever the order the three facts arrive in
  // (a tp_claims file read after the annulation, or a restart that reads one topic before the other).
  const initial = () => S(line(), at('2025-03-10'));
  const annulation = () => S(line({ version: 2, operation: 'A', amcAmount: '-19.00' }), at('2025-03-20'));
  const paidClaim = () => C(claim({ amcAmountClaimed: '30.00', paidOn: '2025-03-04' }), at('2025-03-15'));
  const orders: [string, ReconEvent[]][] = [
    ['I C A', [initial(), paidClaim(), annulation()]],
    ['C I A', [paidClaim(), initial(), annulation()]],
    ['I A C', [initial(), annulation(), paidClaim()]],
    ['A I C', [annulation(), initial(), paidClaim()]],
    ['C A I', [paidClaim(), annulation(), initial()]],
    ['A C I', [annulation(), paidClaim(), initial()]],
  ];
  it.each(orders)('%s: one annulation-indu of 30.00 against the professional, with the same id', (_, events) => {
    const { outcomes } = decideAll(initialReconState(), events, DEFAULT_RECON_CONFIG);
    const indus = outcomes.filter((o) => o.kind === 'annulation-indu');
    expect(indus).toHaveLength(1);
    expect(indus[0]).toMatchObject({ payee: `ps:${PS}`, amount: '30.00', tpClaimId: 'C1', claimPaidOn: '2025-03-04', lineKey: line().lineKey, version: 2, entitled: '0.00' });
    expect(indus[0]!.outcomeId).toBe(`annulation-indu|${line().lineKey}@2|C1#1`);
  });

  it('the claim resent (new revision) after its recovery does not recover twice', () => {
    const { outcomes } = scenario([initial(), annulation(), paidClaim()], [C(claim({ amcAmountClaimed: '30.00', paidOn: '2025-03-04', invoiceNo: 'F-7' }), at('2025-03-25'))]);
    expect(outcomes.filter((o) => o.kind === 'annulation-indu')).toEqual([]);
  });

  it('an unpaid claim for an annulled line recovers nothing: it waits for the re-issued line', () => {
    const { outcomes } = decideAll(initialReconState(), [initial(), annulation(), C(claim(), at('2025-03-25'))], DEFAULT_RECON_CONFIG);
    expect(outcomes.filter((o) => o.kind === 'annulation-indu')).toEqual([]);
  });

  it('after the recovery the re-issued line takes the claim (the payment moves with it)', () => {
    const reissued = line({ lineKey: 'noemie-011751001:D101:1', amcAmount: '30.00' });
    const { outcomes } = scenario([initial(), annulation(), paidClaim()], [S(reissued, at('2025-03-28'))]);
    expect(outcomes).toMatchObject([{ kind: 'matched', lineKey: reissued.lineKey, tpClaimId: 'C1', claimPaidOn: '2025-03-04' }]);
  });
});

describe('reconciliation: matching rule details', () => {
  it('the invoice number, when both carry one, picks the line and excludes a different one', () => {
    const a = line({ lineKey: 'noemie-011751001:D300:1', invoiceNo: 'F-1' });
    const b = line({ lineKey: 'noemie-011751001:D300:2', invoiceNo: 'F-2' });
    const { outcomes } = scenario([S(a), S(b)], [C(claim({ invoiceNo: 'F-2' }))]);
    expect(outcomes).toMatchObject([{ kind: 'matched', lineKey: b.lineKey }]);
    expect(scenario([S(a)], [C(claim({ invoiceNo: 'F-9' }))]).outcomes).toEqual([]);
  });

  it('between two identical care events the amount picks the line', () => {
    const small = line({ lineKey: 'noemie-011751001:D400:1', amcAmount: '19.00' });
    const big = line({ lineKey: 'noemie-011751001:D400:2', amcAmount: '25.00' });
    const { outcomes } = scenario([S(small), S(big)], [C(claim({ amcAmountClaimed: '25.00' }))]);
    expect(outcomes).toMatchObject([{ kind: 'matched', lineKey: big.lineKey, owed: '25.00' }]);
  });

  it('a corrected claim that no longer names its line: the line is held again', () => {
    const { outcomes } = scenario([S(line()), C(claim())], [C(claim({ actCode: 'CS' }), at('2025-03-12'))]);
    expect(outcomes.map((o) => o.kind)).toEqual(['held']);
    expect(outcomes[0]!.reason).toMatch(/corrected/);
  });
});

describe('reconciliation: idempotence and state', () => {
  it('the same settlement version twice, or an older one, yields nothing new', () => {
    const first = decideAll(initialReconState(), [S(line()), C(claim())]);
    for (const replay of [S(line()), S(line(), at('2025-05-01')), C(claim())]) {
      const again = decide(first.state, replay);
      expect(again.outcomes).toEqual([]);
      expect(again.state).toBe(first.state);
    }
    const v2 = decide(first.state, S(line({ version: 2, amcAmount: '19.00' }))).state;
    expect(decide(v2, S(line({ version: 1, amcAmount: '5.00' }))).outcomes).toEqual([]);
  });

  it('the state is plain JSON: persisted, read back and continued, it decides the same', () => {
    const events = [S(line()), C(claim({ tpClaimId: 'C9', psId: '111111111' })), T(at('2025-03-11'))];
    const { state } = decideAll(initialReconState(), events);
    const restored = parseReconState(JSON.parse(JSON.stringify(state)));
    expect(restored).toEqual(state);
    const next = [C(claim()), T(at('2025-06-01'))];
    expect(decideAll(restored, next).outcomes).toEqual(decideAll(state, next).outcomes);
  });

  it('outcome ids are unique and the same on replay', () => {
    const events = [S(line()), C(claim()), S(line({ version: 2, amcAmount: '10.00' })), S(line({ version: 3, operation: 'A' }))];
    const a = decideAll(initialReconState(), events).outcomes.map((o) => o.outcomeId);
    const b = decideAll(initialReconState(), events).outcomes.map((o) => o.outcomeId);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
  });

  it('an outcome id names what it is about, not how many outcomes the person had before', () => {
    // On Kafka the settlements and tp-claims of one person come in two topics, so a batch redelivered
    // after a crash can be decided after another topic's events this time: the same decision must keep its id.
    const other = line({ lineKey: 'noemie-011751001:D200:1', actCode: 'CS', amcAmount: '7.00' });
    const otherClaim = claim({ tpClaimId: 'C2', actCode: 'CS', amcAmountClaimed: '7.00' });
    const alone = decideAll(initialReconState(), [S(line())]).outcomes;
    const afterOthers = decideAll(initialReconState(), [S(other), C(otherClaim), S(line())]).outcomes;
    expect(alone.map((o) => o.outcomeId)).toEqual([`held|${line().lineKey}@1|-`]);
    expect(afterOthers.map((o) => o.outcomeId)).toEqual([`held|${other.lineKey}@1|-`, `matched|${other.lineKey}@1|C2#1`, `held|${line().lineKey}@1|-`]);
    // the two orders of one line and its claim decide the same pair under the same id
    const claimFirst = decideAll(initialReconState(), [C(claim()), S(line())]).outcomes;
    const lineFirst = decideAll(initialReconState(), [S(line()), C(claim())]).outcomes;
    expect(claimFirst.map((o) => o.outcomeId)).toEqual([`matched|${line().lineKey}@1|C1#1`]);
    expect(lineFirst.map((o) => o.outcomeId)).toEqual([`held|${line().lineKey}@1|-`, `matched|${line().lineKey}@1|C1#1`]);
  });

  it('a line version held a second time (its claim corrected away) gets a second id, and so does its exception', () => {
    const events = [S(line()), C(claim()), C(claim({ actCode: 'CS' }), at('2025-03-12')), T(at('2025-05-01'))];
    const ids = decideAll(initialReconState(), events).outcomes.map((o) => o.outcomeId);
    const k = `${line().lineKey}@1`;
    // the corrected claim C1#2 waits (30 days from 03-12), the line waits again: both exceptions on 05-01
    expect(ids).toEqual([`held|${k}|-`, `matched|${k}|C1#1`, `held|${k}|-|2`, `exception|${k}|-|2`, 'exception|-@-|C1#2']);
  });

  it('the given state is never modified', () => {
    const { state } = decideAll(initialReconState(), [S(line())]);
    const frozen = JSON.stringify(state);
    decideAll(state, [C(claim()), S(line({ version: 2, operation: 'A', amcAmount: '-19.00' })), T(at('2026-01-01'))]);
    expect(JSON.stringify(state)).toBe(frozen);
  });

  it('a bad instant or config is a typed error', () => {
    expect(() => decide(initialReconState(), { kind: 'tick', now: 'yesterday' })).toThrow(ReconError);
    expect(() => decide(initialReconState(), T(at('2025-01-01')), { holdDays: -1, claimDays: 1, tolerance: '0.00' })).toThrow(/holdDays/);
    expect(() => decide(initialReconState(), T(at('2025-01-01')), { holdDays: 1, claimDays: 1, tolerance: '0.1' })).toThrow(/tolerance/);
  });

  it('every outcome names the beneficiary it is keyed by', () => {
    const { outcomes } = scenario([], [S(line()), C(claim({ amcAmountClaimed: '20.00' }))]);
    for (const o of outcomes) expect(o.beneficiary).toEqual({ nir: NIR, rang: 1 });
  });
});
