import { afterAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { familyJson } from '../../src/cli/commands/members.js';
import { MembershipEventSchema, type MembershipEvent } from '../../src/model/membership.js';
import { importPopulation } from '../../src/pipeline/members-import.js';
import { updateMembershipStore } from '../../src/pipeline/membership-consumer.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { readAll, tempDir } from './stages-given.js';
import { runNoemie } from '../support/cli.js';

/**
 * `members-changelog` (src/pipeline/membership-changelog.ts), on both buses: a home's membership
 * store writes each family's history there per batch; a NEW home, after the `members` topic lost
 * its head, rebuilds its store from the changelog and gives the same answers as the first store
 * (`noemie members show --as-of` prints familyJson of the store's family); and a crash between the
 * store commit and the changelog produce loses nothing.
 */
export interface MembershipChangelogWorld {
  kind: 'embedded' | 'kafka';
  /** a fresh namespace (embedded: a bus folder; Kafka: a topic prefix) */
  fresh(): Promise<string>;
  open(ns: string): Promise<Bus>;
  /** how many copies of a filler event per partition make `members` lose its head (the mock's 5 MiB per partition) */
  fillerCopies: number;
  /**
   * After the filler: `members` loses every record published before `before` (per partition).
   * Embedded (no retention): the topic is recreated empty; Kafka mock: the filler overflowed it.
   * Returns the bus to go on with.
   */
  loseHead(ns: string, bus: Bus, before: Map<number, number>): Promise<Bus>;
}

const TODAY = '2026-06-15';
const AS_OF = ['2023-06-30', '2024-12-31', '2025-06-01', '2025-06-02', '2025-09-15', '2026-06-15'];

/** Back-dated changes on top of the sample population, one of each kind that changes an answer. */
function changes(): MembershipEvent[] {
  const e = (x: Record<string, unknown>) => MembershipEventSchema.parse(x);
  return [
    e({ eventId: 'cl-resil-3', eventType: 'affiliation_end', effectiveDate: '2025-06-02', adherentId: 'ADH0000003' }),
    e({ eventId: 'cl-susp-2', eventType: 'suspension_start', effectiveDate: '2025-02-01', end: '2025-03-31', adherentId: 'ADH0000002' }),
    e({ eventId: 'cl-level-1', eventType: 'contract_change', effectiveDate: '2025-07-01', contracts: ['CCN-HLA-BASE', 'RELAXEO-F2'], adherentId: 'ADH0000001' }),
    e({ eventId: 'cl-rib-1', eventType: 'bank_account_change', effectiveDate: '2025-09-01', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX', adherentId: 'ADH0000001' }),
    e({ eventId: 'cl-start-6', eventType: 'affiliation_start', effectiveDate: '2024-01-01', adherentId: 'ADH0000006' }),
  ];
}

/** One filler family per partition (a RIB change with a long name), so copies of it fill that partition. */
function fillers(): MembershipEvent[] {
  const out = new Map<number, MembershipEvent>();
  for (let i = 0; out.size < 4 && i < 1000; i++) {
    const adherentId = `FILL${String(i).padStart(6, '0')}`;
    const p = partitionFor(adherentId);
    if (out.has(p)) continue;
    out.set(p, MembershipEventSchema.parse({ eventId: `fill-${adherentId}`, eventType: 'bank_account_change', effectiveDate: '2025-01-01', adherentId, iban: 'FR7630004000031234567890143', name: 'X'.repeat(60_000) }));
  }
  return [...out.values()];
}

/** Every family's answers as `members show --json --as-of` gives them, for each date. */
function answers(store: MembershipStore): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const id of store.adherents()) out.set(id, AS_OF.map((d) => familyJson(store.history(id)!, d)));
  return out;
}

/** The last changelog value of every family is the family's history in the store (and no other family is there). */
async function expectChangelogIsStore(bus: Bus, store: MembershipStore): Promise<void> {
  const last = new Map<string, unknown>();
  for (const v of await readAll(bus, 'members-changelog')) last.set(v.adherentId, v.events);
  expect([...last.keys()].sort()).toEqual([...store.adherents()].sort());
  for (const id of store.adherents()) expect(last.get(id), id).toEqual(store.eventsOf(id));
}

const highs = async (bus: Bus) => new Map((await bus.endOffsets('members')).map((p) => [p.partition, p.high]));

export function defineMembershipChangelogSuite(w: MembershipChangelogWorld): void {
  describe(`${w.kind}: members-changelog`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    const home = async () => {
      const t = await tempDir('members-changelog-');
      cleanups.push(t.cleanup);
      return t.dir;
    };

    it('a new home, after `members` lost its head, rebuilds its store from the changelog: the same answers as the first store', async () => {
      const ns = await w.fresh();
      let bus = await w.open(ns);
      // Given the sample population and back-dated changes applied by home A
      await importPopulation(bus, 'fixtures/sample/beneficiaries.csv');
      await bus.produce('members', changes().map((value) => ({ value })));
      const homeA = await home();
      const a = MembershipStore.open(homeA, { today: () => TODAY });
      let aOpen = true;
      cleanups.push(async () => void (aOpen && (await a.close())));
      const appliedA = await updateMembershipStore(bus, a);
      // 30 population events (10 families) + 5 changes; a history per family changed per batch
      // (how many batches depends on the bus), the last one per family being the store's
      expect(appliedA).toMatchObject({ applied: 35, duplicates: 0 });
      expect(appliedA.changelog).toBeGreaterThanOrEqual(10);
      await expectChangelogIsStore(bus, a);

      // and then `members` loses everything published so far (retention; a filler makes the mock drop it)
      const before = await highs(bus);
      const fill = fillers();
      for (const f of fill) for (let i = 0; i < w.fillerCopies; i += 10) await bus.produce('members', Array.from({ length: Math.min(10, w.fillerCopies - i) }, () => ({ value: f })));
      expect(await updateMembershipStore(bus, a)).toMatchObject({ applied: fill.length });
      bus = await w.loseHead(ns, bus, before);
      // (none of the population's or the changes' events can be read from `members` any more)
      if (w.kind === 'kafka') for (const { partition, low } of await bus.endOffsets('members')) expect(low, `members partition ${partition} lost its head`).toBeGreaterThanOrEqual(before.get(partition) ?? 0);
      else expect((await readAll(bus, 'members')).filter((e) => !e.eventId.startsWith('fill-'))).toEqual([]);

      // When a new home brings its store up to date
      const homeB = await home();
      const b = MembershipStore.open(homeB, { today: () => TODAY });
      let bOpen = true;
      cleanups.push(async () => void (bOpen && (await b.close())));
      const appliedB = await updateMembershipStore(bus, b);

      // Then it took the histories from the changelog (events merged, no re-liquidation asked again,
      // nothing written back) and skipped what `members` still holds (filler copies) by event id
      expect(appliedB).toMatchObject({ restored: 35 + fill.length, applied: 0, requested: 0, changelog: 0 });
      expect(b.familyCount()).toBe(a.familyCount());
      const want = answers(a);
      const got = answers(b);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [id, v] of want) expect(got.get(id), id).toEqual(v);
      // the answers carry the changes (the résiliation: covered on 1 June, not on 2 June)
      expect((got.get('ADH0000003') as { asOf: { members: { status: string }[] } }[])[3]!.asOf.members.map((m) => m.status)).not.toEqual(
        (got.get('ADH0000003') as { asOf: { members: { status: string }[] } }[])[2]!.asOf.members.map((m) => m.status),
      );
      // and the people index: a line names its family through it
      for (const p of a.index().all()) expect(b.index().byNirRang(p.nir, p.rang), `${p.nir}-${p.rang}`).toEqual(a.index().byNirRang(p.nir, p.rang));

      // A later event reaches the rebuilt store from `members` as usual
      await bus.produce('members', [{ value: MembershipEventSchema.parse({ eventId: 'cl-later', eventType: 'bank_account_change', effectiveDate: '2026-07-01', adherentId: 'ADH0000003', iban: 'FR7610278846735004444971779' }) }]);
      expect(await updateMembershipStore(bus, b)).toMatchObject({ applied: 1, restored: 0, changelog: 1 });
      expect(b.accountOn('ADH0000003', '2026-07-01')?.iban).toBe('FR7610278846735004444971779');
      await bus.close();

      // and `noemie members show --as-of` on the two homes prints the same (B has one event more for
      // ADH0000003 now: compared on families the later event does not touch)
      await a.close();
      aOpen = false;
      await b.close();
      bOpen = false;
      for (const id of ['ADH0000001', 'ADH0000002', 'ADH0000006']) {
        for (const asOf of ['2025-03-01', '2025-09-15']) {
          const shown = await Promise.all([homeA, homeB].map((h) => runNoemie(['members', 'show', id, '--as-of', asOf, '--home', h])));
          expect(shown[0]!.code, shown[0]!.err).toBe(0);
          expect(shown[1]!.out, `${id} as of ${asOf}`).toBe(shown[0]!.out);
        }
      }
    });

    it('a crash between the store commit and the changelog produce: the next start writes the histories; a home rebuilt from them answers the same', async () => {
      const ns = await w.fresh();
      const bus = await w.open(ns);
      await importPopulation(bus, 'fixtures/sample/beneficiaries.csv');
      await bus.produce('members', changes().map((value) => ({ value })));
      const a = MembershipStore.open(await home(), { today: () => TODAY });
      cleanups.push(() => a.close());
      // the bus refuses the changelog produce: the batch's events are committed in the store, the changelog has nothing
      const crashing: Bus = Object.create(bus, {
        produce: { value: (topic: string, ...rest: unknown[]) => (topic === 'members-changelog' ? Promise.reject(new Error('killed before the changelog')) : (bus.produce as (...x: unknown[]) => Promise<void>)(topic, ...rest)) },
      }) as Bus;
      await expect(updateMembershipStore(crashing, a)).rejects.toThrow();
      const committed = a.familyCount();
      expect(committed).toBeGreaterThan(0);
      expect(await readAll(bus, 'members-changelog')).toEqual([]);
      // restarted: the crashed batch comes again (offsets not committed) and changes nothing (every
      // id applied), the other batches apply the rest, and every family's history is produced —
      // those of the crashed batch from their marks, as nothing else would write them
      const restarted = await updateMembershipStore(bus, a);
      expect(a.familyCount()).toBe(10);
      expect(restarted.changelog).toBeGreaterThanOrEqual(10);
      expect(restarted.applied + restarted.duplicates).toBe(35);
      await expectChangelogIsStore(bus, a);
      // a second start owes nothing
      expect(await updateMembershipStore(bus, a)).toMatchObject({ applied: 0, changelog: 0 });

      const b = MembershipStore.open(await home(), { today: () => TODAY });
      cleanups.push(() => b.close());
      // a home rebuilt from the changelog alone (its group starts on `members` past nothing: every id is skipped)
      expect(await updateMembershipStore(bus, b)).toMatchObject({ restored: 35, applied: 0, requested: 0 });
      const want = answers(a);
      const got = answers(b);
      for (const [id, v] of want) expect(got.get(id), id).toEqual(v);
      await bus.close();
    });
  });
}
