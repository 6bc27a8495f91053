import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReconStore, type BeneficiaryWrite, type EntryWrite } from '../../src/pipeline/reconcile-store.js';
import { decide, initialReconState, type ReconEvent, type ReconState } from '../../src/reconcile/index.js';
import { entryRecordText, entryText, type AnyEntry, type EntryKind } from '../../src/reconcile/entry-codec.js';
import { claim, settlement, tempDir } from './stages-given.js';

/**
 * `ReconStore.stage` (a transaction's operations computed before the reconcile service's produces)
 * then `commitStaged` leaves the store exactly as `write` (the same operations computed inside the
 * commit) does: heads, entries, care-event lists, deadline index and the marker's count — for
 * writes that give nothing of what was read (old entries, heads, lists read by the store itself)
 * and for writes that give it all, as the service does.
 */
let dir = '';
let cleanup: () => Promise<void>;
let a: ReconStore;
let b: ReconStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('recon-stage-'));
  a = await ReconStore.open(join(dir, 'a'), { fsync: false });
  b = await ReconStore.open(join(dir, 'b'), { fsync: false });
});

afterEach(async () => {
  await a.close();
  await b.close();
  await cleanup();
});

const nirOf = (i: number) => `1850575${String(200000 + i).slice(-6)}`;

describe('reconcile store: operations staged before the commit', () => {
  it('stage + commitStaged writes what write writes (seeded versions, pairings, annulations, waits)', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed >>> 16) % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;
    const states = new Map<string, ReconState>();
    const heads = new Map<string, number>();
    const versions = new Map<string, number>();
    let written = 0;
    for (let round = 0; round < 30; round++) {
      const writes: BeneficiaryWrite[] = [];
      const touched = new Set<string>();
      for (let n = 0; n < 8; n++) {
        const i = rand(5);
        const key = `${nirOf(i)}-1`;
        if (touched.has(key)) continue; // one write per beneficiary per transaction, as the service makes
        touched.add(key);
        const beneficiary = { nir: nirOf(i), rang: 1 };
        const at = `2025-03-${String(10 + (round % 15)).padStart(2, '0')}T10:00:00.000Z`;
        let event: ReconEvent;
        if (rand(2) === 0) {
          const lineKey = `noemie-9:R${i}:${rand(4)}`;
          const version = (versions.get(lineKey) ?? 0) + 1;
          versions.set(lineKey, version);
          const tp = pick(['15', '15', '00'] as const);
          const operation = version > 1 && rand(5) === 0 ? 'A' : 'I';
          event = { kind: 'settlement', at, settlement: settlement({ lineKey, beneficiary, version, operation, careDate: pick(['2025-03-03', '2025-03-04']), psId: '10000001', actCode: pick(['G', 'C']), tp, payee: tp === '00' ? 'member' : 'ps:10000001', adherentId: `A${i}`, amcAmount: pick(['19.00', '15.00']) }) };
        } else {
          event = { kind: 'claim', at, claim: claim({ tpClaimId: `TP-${i}-${rand(4)}`, nir: beneficiary.nir, rang: 1, careDate: pick(['2025-03-03', '2025-03-04']), psId: '10000001', actCode: pick(['G', 'C']), amcAmountClaimed: pick(['19.00', '15.00']), paidOn: rand(3) === 0 ? '2025-03-20' : null }) };
        }
        const before = states.get(key) ?? initialReconState();
        const { state: after } = decide(before, event);
        if (after === before) continue;
        states.set(key, after);
        const w = (heads.get(key) ?? 0) + 1;
        const entries: EntryWrite[] = [];
        for (const [kind, map, old] of [['L', after.lines, before.lines], ['C', after.claims, before.claims]] as [EntryKind, Record<string, AnyEntry>, Record<string, AnyEntry>][]) {
          for (const [id, entry] of Object.entries(map)) {
            if (entry === old[id]) continue;
            // half the rounds give what was read (as the service), half let the store read it
            entries.push({ kind, id, entry, text: entryRecordText(w, entryText(key, kind, entry)), ...(round % 2 === 0 ? { old: old[id] ?? null } : {}) });
          }
        }
        writes.push({ beneficiary: key, head: { w, seq: after.seq }, entries, ...(round % 2 === 0 ? { known: { head: heads.has(key), groups: new Map() } } : {}) });
        heads.set(key, w);
        written += entries.length;
      }
      const positions = new Map([[0, round + 1]]);
      await a.write(writes, positions, 'embedded');
      const staged = b.stage(writes);
      await b.commitStaged(staged, positions, 'embedded');
    }
    expect(written).toBeGreaterThan(20);
    expect(await b.states()).toStrictEqual(await a.states());
    expect([...(await b.states()).keys()]).toStrictEqual([...states.keys()].sort());
    expect(await b.careEventIndex()).toStrictEqual(await a.careEventIndex());
    expect(await b.deadlineIndex()).toStrictEqual(await a.deadlineIndex());
    expect((await b.deadlineIndex()).length).toBeGreaterThan(0);
    expect(b.marker()).toStrictEqual(a.marker());
    expect(b.keys).toBe(5);
  });
});
