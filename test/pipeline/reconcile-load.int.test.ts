import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService } from '../../src/pipeline/reconcile-service.js';
import { readAll } from './stages-given.js';
import { ReconStore, type BeneficiaryWrite, type EntryWrite, type LoadWants } from '../../src/pipeline/reconcile-store.js';
import { careEventOfClaim, careEventOfLine, decide, initialReconState, reconKeyOf, type CareEvent, type ReconEvent, type ReconState } from '../../src/reconcile/index.js';
import { entryRecordText, entryText, type AnyEntry, type EntryKind } from '../../src/reconcile/entry-codec.js';
import { claim, settlement, tempDir } from './stages-given.js';

/**
 * `ReconStore.loadMany` (a batch's reads in rounds of one getMany) reads exactly what `load` (one
 * synchronous read per key, one beneficiary at a time) reads: the same entries, head, care-event
 * lists and left-overs, for any wants — and each entry's tuple text, which a write reuses as its
 * undo, is the text `entryText` makes of it.
 */
let dir = '';
let cleanup: () => Promise<void>;
let store: ReconStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('recon-load-'));
  store = await ReconStore.open(join(dir, 'home'), { fsync: false });
});

afterEach(async () => {
  await store.close();
  await cleanup();
});

const nirOf = (i: number) => `1850575${String(200000 + i).slice(-6)}`;

describe('reconcile store: a batch read in rounds (loadMany)', () => {
  it('reads the same part of each state as load, left-overs of a cut write included, and the tuple texts entryText makes', async () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed >>> 16) % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;
    const dates = ['2025-03-03', '2025-03-04'];
    const pss = ['10000001', '10000002'];
    const acts = ['G', 'C'];
    // whole states of 6 people, decided event by event
    const states = new Map<string, ReconState>();
    const versions = new Map<string, number>();
    for (let n = 0; n < 240; n++) {
      const i = rand(6);
      const beneficiary = { nir: nirOf(i), rang: 1 };
      let event: ReconEvent;
      const at = `2025-03-${String(10 + (n % 15)).padStart(2, '0')}T10:00:00.000Z`;
      if (rand(2) === 0) {
        const lineKey = `noemie-9:R${i}:${rand(5)}`;
        const version = (versions.get(lineKey) ?? 0) + 1;
        versions.set(lineKey, version);
        const tp = pick(['15', '15', '00'] as const);
        const operation = version > 1 && rand(5) === 0 ? 'A' : 'I';
        event = { kind: 'settlement', at, settlement: settlement({ lineKey, beneficiary, version, operation, careDate: pick(dates), psId: pick(pss), actCode: pick(acts), tp, payee: tp === '00' ? 'member' : `ps:${pick(pss)}`, adherentId: `A${i}`, amcAmount: pick(['19.00', '15.00']) }) };
      } else {
        event = { kind: 'claim', at, claim: claim({ tpClaimId: `K${i}-${rand(5)}`, nir: beneficiary.nir, careDate: pick(dates), psId: pick(pss), actCode: pick(acts), amcAmountClaimed: pick(['19.00', '25.00']), paidOn: rand(3) === 0 ? '2025-03-10' : null }) };
      }
      const key = reconKeyOf(event)!;
      states.set(key, decide(states.get(key) ?? initialReconState(), event).state);
    }
    // written as the service writes them: one write per person at w = 1
    const writes: BeneficiaryWrite[] = [];
    for (const [b, state] of states) {
      const entries: EntryWrite[] = [];
      for (const [id, e] of Object.entries(state.lines)) entries.push({ kind: 'L', id, entry: e, text: entryRecordText(1, entryText(b, 'L', e)), old: null });
      for (const [id, e] of Object.entries(state.claims)) entries.push({ kind: 'C', id, entry: e, text: entryRecordText(1, entryText(b, 'C', e)), old: null });
      writes.push({ beneficiary: b, head: { w: 1, seq: state.seq }, entries });
    }
    // one person's line rewritten by a write cut before its head (w 2 above the head's 1): it reads as its undo
    const [cutB, cutState] = [...states][0]!;
    const [cutId, cutLine] = Object.entries(cutState.lines)[0]!;
    const changed = { ...cutLine, version: cutLine.version + 10 };
    writes.push({ beneficiary: cutB, entries: [{ kind: 'L', id: cutId, entry: changed, text: entryRecordText(2, entryText(cutB, 'L', changed), entryText(cutB, 'L', cutLine)), old: cutLine }] });
    // another's line as the restore keeps a record read from the changelog, [3, w, tuple, undo] at its head: current
    const [restoredB, restoredState] = [...states][1]!;
    const [restoredId, restoredLine] = Object.entries(restoredState.lines)[0]!;
    writes.find((w) => w.beneficiary === restoredB)!.entries.find((e) => e.id === restoredId)!.text = entryRecordText(1, entryText(restoredB, 'L', restoredLine), null);
    await store.write(writes, new Map([[0, 0]]), 'embedded');

    const people = [...states.keys(), `${nirOf(99)}-1`]; // and one nobody wrote
    for (let round = 0; round < 20; round++) {
      const wants = new Map<string, LoadWants & { lines: string[]; claims: string[]; groups: CareEvent[] }>();
      for (const b of people) {
        if (rand(3) === 0) continue;
        const state = states.get(b) ?? initialReconState();
        const lineIds = [...Object.keys(state.lines), 'noemie-9:absent:1'];
        const claimIds = [...Object.keys(state.claims), 'K-absent'];
        const w = { lines: [] as string[], claims: [] as string[], groups: [] as CareEvent[], close: rand(4) !== 0 };
        for (let k = rand(3); k > 0; k--) w.lines.push(pick(lineIds));
        for (let k = rand(3); k > 0; k--) w.claims.push(pick(claimIds));
        if (w.close) for (let k = rand(3); k > 0; k--) w.groups.push(rand(2) === 0 ? [pick(dates), pick(pss), pick(acts)] : careEventOfLine(settlementLine(pick(dates), pick(pss), pick(acts))));
        wants.set(b, w);
      }
      const many = await store.loadMany(wants);
      expect([...many.keys()].sort()).toEqual([...wants.keys()].sort());
      for (const [b, w] of wants) {
        const one = store.load(b, w.lines, w.claims, w.groups, w.close);
        const got = many.get(b)!;
        expect(got.head).toEqual(one.head);
        expect(got.state).toEqual(one.state);
        expect(got.stored).toEqual(one.stored);
        expect(new Map([...got.groups].sort())).toEqual(new Map([...one.groups].sort()));
        for (const [entry, text] of got.texts!) {
          const kind: EntryKind = 'claim' in entry ? 'C' : 'L';
          expect(text).toBe(entryText(b, kind, entry as AnyEntry));
        }
      }
    }
    // the cut write's line reads as it was, with what the key holds kept for its index entries
    const cut = (await store.loadMany(new Map([[cutB, { lines: [cutId], claims: [], close: false }]]))).get(cutB)!;
    expect(cut.state.lines[cutId]).toEqual(cutLine);
    expect(cut.stored.get(`L${cutId}`)).toEqual(changed);
    expect(cut.texts!.has(cut.state.lines[cutId]!)).toBe(false);
    const restored = (await store.loadMany(new Map([[restoredB, { lines: [restoredId], claims: [], close: false }]]))).get(restoredB)!;
    expect(restored.state.lines[restoredId]).toEqual(restoredLine);
    // a claim's care event leads to the lines of that care event
    expect(careEventOfClaim(claim({ tpClaimId: 'x', nir: nirOf(0), careDate: dates[0], psId: pss[0], actCode: acts[0] }))).toEqual([dates[0], pss[0], acts[0]]);
  });
});

describe('reconcile service: which care events a batch reads', () => {
  it('a member line is read by its lineKey only, an annulation of a line never seen still finds the paid claim waiting in its care event', async () => {
    const bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
    const service = await startReconcileService({ bus, home: join(dir, 'svc'), maxBatch: 2 });
    try {
      const beneficiary = { nir: nirOf(1), rang: 1 };
      // a claim the operator paid, waiting (no line); then the RO annuls a line this stage never saw (version 2, operation A)
      await bus.produce('tp-claims', [{ value: claim({ tpClaimId: 'KP', nir: beneficiary.nir, careDate: '2025-03-03', psId: '10000001', actCode: 'G', paidOn: '2025-03-05' }) }]);
      await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 15_000);
      await bus.produce('settlements', [
        // (its version says tp 00, paid to the member: not a line that takes claims, yet its annulation looks in its care event)
        { value: settlement({ lineKey: 'noemie-9:A1:1', beneficiary, version: 2, operation: 'A', careDate: '2025-03-03', psId: '10000001', actCode: 'G', tp: '00', payee: 'member', adherentId: 'A1' }) },
        // a member line (tp 00) of the same care event: kept, not listed in the care event's index
        { value: settlement({ lineKey: 'noemie-9:M1:1', beneficiary, careDate: '2025-03-03', psId: '10000001', actCode: 'G', tp: '00', payee: 'member', adherentId: 'A1' }) },
      ]);
      await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 15_000);
      const outcomes = await readAll(bus, 'reconciliation');
      // what the decider says on the whole state: the operator's payment is indu against the professional
      expect(outcomes.filter((o) => o.kind === 'annulation-indu').map((o) => [o.outcomeId, o.amount, o.payee])).toEqual([['annulation-indu|noemie-9:A1:1@2|KP#1', '19.00', 'ps:10000001']]);
      await service.stop();
      const after = await ReconStore.open(join(dir, 'svc'), { fsync: false });
      try {
        const b = `${beneficiary.nir}-1`;
        expect((await after.stateOf(b))!.lines['noemie-9:M1:1']!.status).toBe('member');
        expect(await after.careEventIndex()).toEqual([`${b}\u001fE\u001f2025-03-03\u001f10000001\u001fG\u001fC\u001fKP`, `${b}\u001fE\u001f2025-03-03\u001f10000001\u001fG\u001fL\u001fnoemie-9:A1:1`]);
      } finally {
        await after.close();
      }
    } finally {
      await service.stop();
      await bus.close();
    }
  });
});

function settlementLine(careDate: string, psId: string, actCode: string) {
  return { identity: { nir: nirOf(0), rang: 1, careDate, psId, actCode } };
}
