import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nirKey } from '../../src/model/act-line.js';
import { MembershipEventSchema, resiliationEffectiveDate, type MembershipEvent } from '../../src/model/membership.js';
import { OPEN_END } from '../../src/pipeline/membership-fold.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { tempDir } from './stages-given.js';

/**
 * The membership store, event type by event type: given a family's events, when they are applied,
 * then the family as known now / as of a date / its account on a date. "Today" is 2026-06-15.
 */
const TODAY = '2026-06-15';
const ADH = 'ADH9000001';
const HOLDER = { nir: '1870459280378', rang: 1 };
const CHILD = { nir: '1080299352431', rang: 1 }; // born 2008: 18 in 2026
const SPOUSE = { nir: '2810669306301', rang: 1 };
const OLD_IBAN = 'FR7620041344599806394842283';
const NEW_IBAN = 'FR7610278846735004444971779';

let n = 0;
function ev(e: Partial<MembershipEvent> & Pick<MembershipEvent, 'eventType' | 'effectiveDate'>): MembershipEvent {
  return MembershipEventSchema.parse({ eventId: `e${++n}`, adherentId: ADH, ...e });
}
const person = (p: { nir: string; rang: number }, role: 'A' | 'C' | 'E', birthDate: string, name: string) => ({ ...p, nirKey: nirKey(p.nir), role, birthDate, name, contracts: ['CCN-HLA-BASE'] });
const created = (d = '2024-01-01') => ev({ eventType: 'family_created', effectiveDate: d, ...person(HOLDER, 'A', '1987-04-20', 'BERTRAND François'), iban: OLD_IBAN, bic: 'PSSTFRPPXXX' });

let home = '';
let cleanup: () => Promise<void>;
let store: MembershipStore;
beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('membership-store-'));
  store = MembershipStore.open(home, { today: () => TODAY });
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

describe('each event type applied to the store', () => {
  it('family_created: the holder, covered from the effective date, with the family account', async () => {
    await store.apply([created('2024-01-01')]);
    const b = store.index().byNirRang(HOLDER.nir, HOLDER.rang)!;
    expect(b).toMatchObject({ adherentId: ADH, role: 'A', start: '2024-01-01', end: null, contracts: ['CCN-HLA-BASE'], iban: OLD_IBAN });
    expect(store.index().holder(ADH)?.name).toBe('BERTRAND François');
  });

  it('beneficiary_added / beneficiary_removed: the child joins on its date, leaves the day before the removal', async () => {
    await store.apply([created(), ev({ eventType: 'beneficiary_added', effectiveDate: '2024-03-01', ...person(CHILD, 'E', '2008-02-19', 'BERTRAND Philippe') })]);
    expect(store.index().byAdherent(ADH).map((b) => b.rang + b.role)).toEqual(['1A', '1E']);
    await store.apply([ev({ eventType: 'beneficiary_removed', effectiveDate: '2026-01-01', ...CHILD })]);
    // removal effective 2026-01-01 → last day covered 2025-12-31
    expect(store.index().byNirRang(CHILD.nir, CHILD.rang)?.end).toBe('2025-12-31');
    // the holder is untouched
    expect(store.index().holder(ADH)?.end).toBeNull();
  });

  it('affiliation_start back-dated moves the start of the whole family; affiliation_end of the family ends every person', async () => {
    await store.apply([created('2024-01-01'), ev({ eventType: 'beneficiary_added', effectiveDate: '2024-01-01', ...person(SPOUSE, 'C', '1981-06-23', 'BERTRAND Isabelle') })]);
    await store.apply([ev({ eventType: 'affiliation_start', effectiveDate: '2023-10-01' })]);
    expect(store.index().byAdherent(ADH).map((b) => b.start)).toEqual(['2023-10-01', '2023-10-01']);
    await store.apply([ev({ eventType: 'affiliation_end', effectiveDate: '2026-04-10', requestDate: '2026-03-10' })]);
    expect(store.index().byAdherent(ADH).map((b) => b.end)).toEqual(['2026-04-09', '2026-04-09']);
  });

  it('résiliation: the event carries the effective date; without one the feed takes one month after the request', () => {
    // request 2026-03-10 + 1 month = 2026-04-10 effective, last day covered 2026-04-09
    expect(resiliationEffectiveDate('2026-03-10')).toBe('2026-04-10');
    // 31 January + 1 month: no 31 February, the month's last day
    expect(resiliationEffectiveDate('2026-01-31')).toBe('2026-02-28');
  });

  it('suspension_start then suspension_lifted: suspended from the start to the day before the lift', async () => {
    await store.apply([created(), ev({ eventType: 'suspension_start', effectiveDate: '2026-02-01' })]);
    expect(store.index().holder(ADH)?.suspended).toEqual([{ from: '2026-02-01', to: OPEN_END }]);
    await store.apply([ev({ eventType: 'suspension_lifted', effectiveDate: '2026-04-15' })]);
    expect(store.index().holder(ADH)?.suspended).toEqual([{ from: '2026-02-01', to: '2026-04-14' }]);
  });

  it('a family-wide suspension reaches a person who joins while it is open (a child born during the arrears), from the day they join', async () => {
    // the family is suspended from 2026-02-01 for non-payment; a child added on 2026-03-10 joins a
    // suspended contract: suspended from 2026-03-10 until the lift (2026-04-15 → last day 2026-04-14)
    await store.apply([
      created(),
      ev({ eventType: 'suspension_start', effectiveDate: '2026-02-01' }),
      ev({ eventType: 'beneficiary_added', effectiveDate: '2026-03-10', ...person(CHILD, 'E', '2008-02-20', 'BERTRAND Léa') }),
    ]);
    const child = () => store.index().byNirRang(CHILD.nir, CHILD.rang);
    expect(child()?.suspended).toEqual([{ from: '2026-03-10', to: OPEN_END }]);
    await store.apply([ev({ eventType: 'suspension_lifted', effectiveDate: '2026-04-15' })]);
    expect(child()?.suspended).toEqual([{ from: '2026-03-10', to: '2026-04-14' }]);
    expect(store.index().holder(ADH)?.suspended).toEqual([{ from: '2026-02-01', to: '2026-04-14' }]);
  });

  it('a suspension that ended before a person joins does not reach them; one naming a person stays theirs', async () => {
    await store.apply([
      created(),
      ev({ eventType: 'suspension_start', effectiveDate: '2026-01-05', end: '2026-01-31' }),
      ev({ eventType: 'suspension_start', effectiveDate: '2026-02-01', ...HOLDER }),
      ev({ eventType: 'beneficiary_added', effectiveDate: '2026-03-10', ...person(CHILD, 'E', '2008-02-20', 'BERTRAND Léa') }),
    ]);
    expect(store.index().byNirRang(CHILD.nir, CHILD.rang)?.suspended).toEqual([]);
  });

  it('contract_change: a dated level per period, the latest level as contracts', async () => {
    await store.apply([created('2024-01-01'), ev({ eventType: 'contract_change', effectiveDate: '2026-03-01', contracts: ['CCN-HLA-BASE', 'RELAXEO-2'] })]);
    const b = store.index().holder(ADH)!;
    expect(b.contractPeriods).toEqual([
      { from: '2024-01-01', to: '2026-02-28', contracts: ['CCN-HLA-BASE'] },
      { from: '2026-03-01', to: null, contracts: ['CCN-HLA-BASE', 'RELAXEO-2'] },
    ]);
    expect(b.contracts).toEqual(['CCN-HLA-BASE', 'RELAXEO-2']);
    // no change: no periods (today's behaviour for the engine)
    await store.apply([ev({ eventType: 'beneficiary_added', effectiveDate: '2024-01-01', ...person(SPOUSE, 'C', '1981-06-23', 'BERTRAND Isabelle'), adherentId: 'ADH9000002' })]);
    expect(store.index().byNirRang(SPOUSE.nir, SPOUSE.rang)?.contractPeriods).toBeUndefined();
  });

  it('a back-dated contract_change applied after a later one lands in its place in the history', async () => {
    await store.apply([created('2024-01-01'), ev({ eventType: 'contract_change', effectiveDate: '2026-01-01', contracts: ['C3'] })]);
    await store.apply([ev({ eventType: 'contract_change', effectiveDate: '2025-01-01', contracts: ['C2'] })]);
    expect(store.index().holder(ADH)!.contractPeriods).toEqual([
      { from: '2024-01-01', to: '2024-12-31', contracts: ['CCN-HLA-BASE'] },
      { from: '2025-01-01', to: '2025-12-31', contracts: ['C2'] },
      { from: '2026-01-01', to: null, contracts: ['C3'] },
    ]);
  });

  it('bank_account_change: the account on a date is the one in force that day', async () => {
    await store.apply([created('2024-01-01'), ev({ eventType: 'bank_account_change', effectiveDate: '2026-05-01', iban: NEW_IBAN, bic: 'CMCIFR2AXXX' })]);
    expect(store.accountOn(ADH, '2026-04-30')?.iban).toBe(OLD_IBAN);
    expect(store.accountOn(ADH, '2026-05-01')?.iban).toBe(NEW_IBAN);
    expect(store.accountOn(ADH, '2023-12-31')).toBeUndefined();
    // the holder's row shows the latest one (what payments are made to is accountOn, by date)
    expect(store.index().holder(ADH)?.iban).toBe(NEW_IBAN);
  });

  it('proof_studies / proof_disability: a child\'s proofs, open or dated', async () => {
    await store.apply([created(), ev({ eventType: 'beneficiary_added', effectiveDate: '2024-01-01', ...person(CHILD, 'E', '2008-02-19', 'BERTRAND Philippe') })]);
    expect(store.index().byNirRang(CHILD.nir, CHILD.rang)?.proofs).toBeUndefined();
    await store.apply([
      ev({ eventType: 'proof_studies', effectiveDate: '2025-09-01', end: '2026-08-31', ...CHILD }),
      ev({ eventType: 'proof_disability', effectiveDate: '2026-01-01', ...CHILD }),
    ]);
    expect(store.index().byNirRang(CHILD.nir, CHILD.rang)?.proofs).toEqual([
      { kind: 'studies', from: '2025-09-01', to: '2026-08-31' },
      { kind: 'disability', from: '2026-01-01', to: null },
    ]);
  });

  it('a proof dated before the person joined (a disability card, the school year begun): kept, from its own date', async () => {
    // the family and the child join on 2025-01-01; the disability card is from 2020-05-01 and this
    // school year's certificate from 2024-09-01: both are on file for care after the join (folded
    // in effective order, each proof comes before the person's arrival — it must not be dropped)
    await store.apply([created('2025-01-01'), ev({ eventType: 'beneficiary_added', effectiveDate: '2025-01-01', ...person(CHILD, 'E', '2008-02-19', 'BERTRAND Philippe') })]);
    await store.apply([
      ev({ eventType: 'proof_disability', effectiveDate: '2020-05-01', ...CHILD }),
      ev({ eventType: 'proof_studies', effectiveDate: '2024-09-01', end: '2025-08-31', ...CHILD }),
    ]);
    expect(store.index().byNirRang(CHILD.nir, CHILD.rang)?.proofs).toEqual([
      { kind: 'disability', from: '2020-05-01', to: null },
      { kind: 'studies', from: '2024-09-01', to: '2025-08-31' },
    ]);
    // a proof for a person the family never had changes nobody
    await store.apply([ev({ eventType: 'proof_studies', effectiveDate: '2024-09-01', ...SPOUSE })]);
    expect(store.index().byAdherent(ADH).map((b) => b.proofs?.length ?? 0)).toEqual([0, 2]);
  });
});

describe('re-affiliation and one person', () => {
  it('a person covered again after a résiliation: the gap is not covered, the end is lifted', async () => {
    await store.apply([created('2024-01-01'), ev({ eventType: 'affiliation_end', effectiveDate: '2025-01-01' })]);
    expect(store.index().holder(ADH)?.end).toBe('2024-12-31');
    await store.apply([ev({ eventType: 'affiliation_start', effectiveDate: '2025-04-01' })]);
    // covered 2024-01-01..2024-12-31, not 2025-01-01..2025-03-31, covered again from 2025-04-01
    expect(store.index().holder(ADH)).toMatchObject({ start: '2024-01-01', end: null, suspended: [{ from: '2025-01-01', to: '2025-03-31' }] });
    expect(store.familyAsOf(ADH, '2025-02-15')!.members[0]!.status).toBe('suspended');
    expect(store.familyAsOf(ADH, '2025-04-01')!.members[0]!.status).toBe('covered');
  });

  it('an event naming one person (nir + rang) changes that person only', async () => {
    await store.apply([created(), ev({ eventType: 'beneficiary_added', effectiveDate: '2024-01-01', ...person(SPOUSE, 'C', '1981-06-23', 'BERTRAND Isabelle') })]);
    await store.apply([ev({ eventType: 'suspension_start', effectiveDate: '2026-02-01', end: '2026-02-28', ...SPOUSE })]);
    expect(store.index().byAdherent(ADH).map((b) => [b.role, b.suspended])).toEqual([['A', []], ['C', [{ from: '2026-02-01', to: '2026-02-28' }]]]);
  });

  it('the schema refuses a nir without its rang (twins share a NIR) and a family_created that is not the holder', () => {
    expect(MembershipEventSchema.safeParse({ eventId: 'x', adherentId: ADH, eventType: 'affiliation_end', effectiveDate: '2026-01-01', nir: HOLDER.nir }).success).toBe(false);
    const notHolder = MembershipEventSchema.safeParse({ eventId: 'y', adherentId: ADH, eventType: 'family_created', effectiveDate: '2026-01-01', ...person(SPOUSE, 'C', '1981-06-23', 'X') });
    expect(notHolder.success ? [] : notHolder.error.issues.map((i) => i.path.join('.'))).toEqual(['role']);
  });
});

describe("adherentOf: a person's family without the fold (what the ingest sink keys a line by)", () => {
  it('is byNirRang(…)?.adherentId for a holder, a removed child, a person who moved to another family and a person no event names', async () => {
    const OTHER = 'ADH9000002';
    const index = store.index();
    const agree = (p: { nir: string; rang: number }) => expect(index.adherentOf(p.nir, p.rang)).toBe(index.byNirRang(p.nir, p.rang)?.adherentId);
    expect(index.adherentOf!(HOLDER.nir, HOLDER.rang)).toBeUndefined();
    await store.apply([created(), ev({ eventType: 'beneficiary_added', effectiveDate: '2024-03-01', ...person(CHILD, 'E', '2008-02-19', 'BERTRAND Philippe') })]);
    await store.apply([ev({ eventType: 'beneficiary_removed', effectiveDate: '2026-01-01', ...CHILD })]);
    expect(index.adherentOf!(HOLDER.nir, HOLDER.rang)).toBe(ADH);
    expect(index.adherentOf!(CHILD.nir, CHILD.rang)).toBe(ADH);
    // the child, removed here, becomes the holder of a family of their own: their lines go there
    await store.apply([ev({ eventType: 'family_created', adherentId: OTHER, effectiveDate: '2026-01-01', ...person(CHILD, 'A', '2008-02-19', 'BERTRAND Philippe') })]);
    expect(index.adherentOf!(CHILD.nir, CHILD.rang)).toBe(OTHER);
    for (const p of [HOLDER, CHILD, SPOUSE, { nir: HOLDER.nir, rang: 2 }]) agree(p);
  });
});

describe('history and as-of queries', () => {
  it('the family as it stood on a date, as known now: who had joined, at which level, covered or not; the history is kept whole', async () => {
    await store.apply([
      created('2024-01-01'),
      ev({ eventType: 'beneficiary_added', effectiveDate: '2025-06-01', ...person(SPOUSE, 'C', '1981-06-23', 'BERTRAND Isabelle') }),
      ev({ eventType: 'contract_change', effectiveDate: '2026-01-01', contracts: ['C2'] }),
      ev({ eventType: 'suspension_start', effectiveDate: '2026-02-01', end: '2026-02-28' }),
      ev({ eventType: 'affiliation_end', effectiveDate: '2026-07-01' }),
    ]);
    const before = store.familyAsOf(ADH, '2025-05-31')!;
    expect(before.members.map((b) => [b.role, b.contracts.join('|'), b.status])).toEqual([['A', 'CCN-HLA-BASE', 'covered']]);
    expect(before.account?.iban).toBe(OLD_IBAN);
    const feb = store.familyAsOf(ADH, '2026-02-10')!;
    expect(feb.members.map((b) => [b.role, b.contracts.join('|'), b.status])).toEqual([['A', 'C2', 'suspended'], ['C', 'C2', 'suspended']]);
    const after = store.familyAsOf(ADH, '2026-07-01')!;
    expect(after.members.map((b) => b.status)).toEqual(['ended', 'ended']);
    const now = store.family(ADH)!;
    expect(now.members.map((b) => b.end)).toEqual(['2026-06-30', '2026-06-30']);
    // the fold cache keeps the view without the events; history() folds them again, the same members
    expect(now).not.toHaveProperty('events');
    const history = store.history(ADH)!;
    expect(history.events.map((e) => e.event.eventType)).toEqual(['family_created', 'beneficiary_added', 'contract_change', 'suspension_start', 'affiliation_end']);
    expect({ adherentId: history.adherentId, members: history.members, accounts: history.accounts }).toEqual(now);
    expect(store.history('ADH-NOBODY')).toBeNull();
    expect(store.eventsOf(ADH)).toHaveLength(5);
  });

  it('an event id applied twice (same batch or a later one) changes nothing', async () => {
    const e = created();
    const first = await store.apply([e, e]);
    expect([first.applied.length, first.duplicates]).toEqual([1, 1]);
    const again = await store.apply([e]);
    expect([again.applied.length, again.duplicates]).toEqual([0, 1]);
    expect(store.eventsOf(ADH)).toHaveLength(1);
  });
});

describe('re-liquidation requests', () => {
  it('an event effective before today asks for one request per family (earliest date); today or later, or a RIB change, none', async () => {
    const r1 = await store.apply([created('2024-01-01'), ev({ eventType: 'affiliation_end', effectiveDate: '2026-03-01' })]);
    expect(r1.requests).toEqual([{ requestId: `members:e${n - 1}`, adherentId: ADH, from: '2024-01-01', reason: { eventId: `e${n - 1}`, type: 'family_created', effectiveDate: '2024-01-01' } }]);
    expect(store.pendingRequests()).toHaveLength(1);
    await store.requestsProduced(r1.requests);
    expect(store.pendingRequests()).toHaveLength(0);
    const r2 = await store.apply([ev({ eventType: 'suspension_start', effectiveDate: TODAY }), ev({ eventType: 'bank_account_change', effectiveDate: '2026-01-01', iban: NEW_IBAN })]);
    expect(r2.requests).toEqual([]);
  });
});

describe('a crash between the store commit and the requests, or before the offsets', () => {
  it('requests left in the outbox are produced at the next start; the same event delivered again changes nothing and asks nothing', async () => {
    const { openEmbeddedBus } = await import('../../src/bus/embedded/embedded-bus.js');
    const { updateMembershipStore } = await import('../../src/pipeline/membership-consumer.js');
    const { readAll } = await import('./stages-given.js');
    const bus = await openEmbeddedBus({ dir: `${home}/bus` });
    try {
      // given: a batch committed to the store whose requests were never produced (the process died there)
      const e = created('2024-01-01');
      await store.apply([e]);
      expect(store.pendingRequests()).toHaveLength(1);
      // and the same event still on the topic, its offsets not committed
      await bus.produce('members', [{ value: e }]);
      // when: the consumer starts again
      const stats = await updateMembershipStore(bus, store);
      // then: the pending request is produced once, and so is the family's history owed to
      // members-changelog (marked in the same transaction); the redelivered event is a duplicate
      expect(stats).toEqual({ applied: 0, duplicates: 1, requested: 1, changelog: 1, restored: 0 });
      expect((await readAll(bus, 'members-changelog')).map((v) => v.events.map((x) => x.event.eventId))).toEqual([[e.eventId]]);
      expect((await readAll(bus, 'reliquidations')).map((r) => r.requestId)).toEqual([`members:${e.eventId}`]);
      expect(store.pendingRequests()).toEqual([]);
      expect(store.eventsOf(ADH)).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });
});

describe('member statements to write again (statements.dirty)', () => {
  it('an applied event marks its family in the same commit; a duplicate (same event id) marks nothing', async () => {
    const { DirtyFamilies } = await import('../../src/pipeline/statement-dirty.js');
    const { LevelStore } = await import('../../src/state/level-store.js');
    // the marks are in the home's LevelDB (session 10): shared with the store's own handle in this process
    const dirty = new DirtyFamilies(await LevelStore.open(home));
    try {
      const first = created();
      await store.apply([first]);
      expect((await dirty.entries()).map(([id]) => id)).toEqual([ADH]);
      const seen = await dirty.entries();
      await dirty.level.commit(() => dirty.clear(seen));
      await store.apply([first]);
      expect(await dirty.entries()).toEqual([]);
      await store.apply([ev({ eventType: 'beneficiary_added', effectiveDate: '2024-03-01', ...person(CHILD, 'E', '2008-02-19', 'BERTRAND Philippe') })]);
      expect((await dirty.entries()).map(([id]) => id)).toEqual([ADH]);
    } finally {
      await dirty.level.close();
    }
  });
});

describe('the fold cache, bounded', () => {
  /** family i: its holder (nir 1 870 4 59 280 000 + i), an account, a child added for odd i */
  const familyEvents = (i: number): MembershipEvent[] => {
    const adherentId = `ADH80${String(i).padStart(5, '0')}`;
    const nir = String(1870459280000 + i);
    const events = [MembershipEventSchema.parse({ eventId: `f${i}`, adherentId, eventType: 'family_created', effectiveDate: '2024-01-01', ...person({ nir, rang: 1 }, 'A', '1987-04-20', `HOLDER ${i}`), iban: OLD_IBAN, bic: 'PSSTFRPPXXX' })];
    if (i % 2 === 1) events.push(MembershipEventSchema.parse({ eventId: `c${i}`, adherentId, eventType: 'beneficiary_added', effectiveDate: '2024-03-01', ...person({ nir, rang: 2 }, 'E', '2008-02-19', `CHILD ${i}`) }));
    return events;
  };
  const idOf = (i: number) => `ADH80${String(i).padStart(5, '0')}`;

  it('holds at most its bound (an estimate by events), least recently used out; an evicted family is folded again, the same', async () => {
    const bound = 5 * MembershipStore.BYTES_PER_EVENT;
    const small = MembershipStore.open(home, { today: () => TODAY, cacheBytes: bound });
    const whole = MembershipStore.open(home, { today: () => TODAY, cacheBytes: Number.MAX_SAFE_INTEGER });
    try {
      await small.apply(Array.from({ length: 40 }, (_, i) => familyEvents(i)).flat());
      const seen = new Map<number, unknown>();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 40; i++) {
          const state = small.family(idOf(i));
          // folded again after its eviction: what a cache of every family says
          expect(state).toEqual(whole.family(idOf(i)));
          expect(state?.members).toHaveLength(i % 2 === 1 ? 2 : 1);
          if (round > 0) expect(state).toEqual(seen.get(i));
          seen.set(i, state);
          expect(small.cacheUse().bytes).toBeLessThanOrEqual(bound);
        }
      }
      // 40 families of 1 or 2 events: 3 or 4 held, never the 40
      expect(small.cacheUse().families).toBeGreaterThanOrEqual(3);
      expect(small.cacheUse().families).toBeLessThanOrEqual(5);
      expect(whole.cacheUse().families).toBe(40);
      // least recently used out: the family asked for just now stays, one not asked for since is out
      // (39: 2 events, 36 and 38: 1 each — 4 within 5; 37 too would make 6)
      const recent = small.family(idOf(39));
      for (const i of [36, 38]) small.family(idOf(i));
      expect(small.family(idOf(39))).toBe(recent);
      const before = small.family(idOf(0));
      for (const i of [36, 37, 38, 39]) small.family(idOf(i));
      expect(small.family(idOf(0))).not.toBe(before);
      expect(small.family(idOf(0))).toEqual(before);
    } finally {
      await whole.kv.close();
    }
  });

  it('an event added to a cached family is seen (the cached fold is not reused), and limitCache bounds a cache already full', async () => {
    await store.apply(Array.from({ length: 30 }, (_, i) => familyEvents(i)).flat());
    for (let i = 0; i < 30; i++) store.family(idOf(i));
    expect(store.cacheUse().families).toBe(30);
    const was = store.family(idOf(4))!;
    await store.apply([MembershipEventSchema.parse({ eventId: 'rib4', adherentId: idOf(4), eventType: 'bank_account_change', effectiveDate: '2026-01-01', iban: NEW_IBAN, bic: 'PSSTFRPPXXX' })]);
    expect(store.family(idOf(4))!.accounts.map((a) => a.iban)).toEqual([OLD_IBAN, NEW_IBAN]);
    expect(was.accounts).toHaveLength(1);
    store.limitCache(4 * MembershipStore.BYTES_PER_EVENT);
    expect(store.cacheUse().bytes).toBeLessThanOrEqual(4 * MembershipStore.BYTES_PER_EVENT);
    // the most recently used (family 4, two events) is kept
    expect(store.cacheUse().families).toBeGreaterThanOrEqual(1);
    expect(store.accountOn(idOf(4), '2026-02-01')?.iban).toBe(NEW_IBAN);
    for (let i = 0; i < 30; i++) expect(store.index().holder(idOf(i))?.name).toBe(`HOLDER ${i}`);
    expect(store.cacheUse().bytes).toBeLessThanOrEqual(4 * MembershipStore.BYTES_PER_EVENT);
  });
});
