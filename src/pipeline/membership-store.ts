import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { MembersChangelogValue, MembershipEvent } from '../model/membership.js';
import type { PayeeAccount } from '../model/payment.js';
import type { AccountBook } from '../payments/types.js';
import type { Beneficiary } from '../model/reference.js';
import type { ReliquidationRequest } from '../bus/messages.js';
import { compositeKey, splitCompositeKey, StateStore, type SubStore } from '../state/kv-store.js';
import { accountOn, familyOn, foldFamily, type FamilyOn, type FamilyState, type FamilyView, type StoredMembershipEvent } from './membership-fold.js';
import { homeOfStateStore, LazyDirtyFamilies } from './statement-dirty.js';
import type { PopulationImportMark } from './members-import.js';

/**
 * The membership store (issue 10), in the home's state store (src/state):
 *
 *   members.event/<adhérent>␟<seq, 10 digits>   StoredMembershipEvent — every event applied, never rewritten
 *   members.family/<adhérent>                   { events } — how many events the family has (next seq; cache check)
 *   members.applied/<eventId>                   { adherentId, seq } — the event is applied: a second copy changes nothing
 *   members.person/<nir>-<rang>                 adhérent — the family the person last joined (how a line names its person)
 *   members.outbox/<requestId>                  ReliquidationRequest — decided with the batch, not produced yet
 *   members.changelog-due/<adhérent>            { events } — the family changed: its history is owed to members-changelog
 *   members.contract/<grid id>␟<adhérent>       true — some event gave the family that contract (grid corrections: who may hold it)
 *   members.meta/contract-index                 true — members.contract covers every event (built once for stores older than it)
 *   members.unknown/<nir>-<rang>␟<number>       true — lines of this person, unknown then, were keyed by that member number (ingest sink)
 *
 * State is never stored folded: "who was this person on date D" is a fold of the family's events
 * (membership-fold.ts), so the history is whole and a back-dated change corrects it in place.
 * A batch of events is ONE transaction (events, applied marks, person index, outbox).
 */
export const MEMBERS_SUBSTORES = ['members.event', 'members.family', 'members.applied', 'members.person', 'members.outbox', 'members.changelog-due', 'members.contract', 'members.meta', 'members.unknown'] as const;

interface FamilyMark {
  events: number;
}
interface AppliedMark {
  adherentId: string;
  seq: number;
}

export interface ApplyResult {
  /** events applied now */
  applied: StoredMembershipEvent[];
  /** events already applied before (same event id): nothing changed */
  duplicates: number;
  /** re-liquidations the batch asks for (also kept in the outbox until produced) */
  requests: ReliquidationRequest[];
}

const todayUtc = () => new Date().toISOString().slice(0, 10);
const seqKey = (seq: number) => String(seq).padStart(10, '0');

/**
 * Which applied events ask for a re-liquidation, one request per family (the earliest effective
 * date, that event as the reason): an event effective BEFORE the day it is applied may change a
 * decision already taken (care on or after its date may already be liquidated, or left in review
 * for an unknown member). We do not look for such lines here — the store does not know them, and
 * the re-liquidation stage re-decides and publishes only what changed, so a request that finds
 * nothing costs a read and publishes nothing. A change effective today or later cannot concern a
 * line already liquidated unless its care date is in the future (refused by plausibility).
 * A RIB change asks for none: the account is read by the payment run on its own date, it changes
 * no decision.
 */
export function reliquidationsFor(applied: readonly StoredMembershipEvent[], today: string): ReliquidationRequest[] {
  const byFamily = new Map<string, MembershipEvent>();
  for (const { event: e } of applied) {
    if (e.eventType === 'bank_account_change' || e.effectiveDate >= today) continue;
    const was = byFamily.get(e.adherentId);
    if (was === undefined || e.effectiveDate < was.effectiveDate) byFamily.set(e.adherentId, e);
  }
  return [...byFamily.values()].map((e) => ({
    requestId: `members:${e.eventId}`,
    adherentId: e.adherentId,
    from: e.effectiveDate,
    reason: { eventId: e.eventId, type: e.eventType, effectiveDate: e.effectiveDate },
  }));
}

export class MembershipStore {
  private readonly events: SubStore<StoredMembershipEvent>;
  private readonly families: SubStore<FamilyMark>;
  private readonly applied: SubStore<AppliedMark>;
  private readonly persons: SubStore<string>;
  private readonly outbox: SubStore<ReliquidationRequest>;
  private readonly changelogDue: SubStore<FamilyMark>;
  private readonly contracts: SubStore<true>;
  private readonly meta: SubStore<true>;
  private readonly unknown: SubStore<true>;
  /** population files whose events were all published to the home's bus, by content (members-import.ts `populationFileKey`) */
  private readonly populations: SubStore<PopulationImportMark>;
  /** the member statements to write again (statement-dirty.ts, in the home's LevelDB): a family's history changed */
  private readonly statements: LazyDirtyFamilies;
  /**
   * Folded families by event count, least recently used first: a family is folded again only when an
   * event was added, or once evicted. Bounded by an estimate of their heap (`cacheBytes`). Each holds
   * the family's view (members, accounts), not the events it was folded from (FamilyView).
   */
  private readonly cache = new Map<string, { events: number; state: FamilyView; bytes: number }>();
  private cached = 0;
  private cacheLimit: number;
  /**
   * The bound while lines are keyed and liquidated: every family of a 1 M-line portfolio (20 000
   * families of 59 524 events, ≈ 47 MB by BYTES_PER_EVENT). Those lookups are spread over the whole portfolio (4 096 lines of the bench's drop name
   * half its families), so a cache smaller than the families misses for most of every batch, each
   * miss a range read of its events and a fold (≈ 20 µs; bench/README.md "Session 7 — liquidation
   * ledgers", "Session 16 — payments"); `run --once` lowers it once they are done (`limitCache`).
   */
  static readonly CACHE_BYTES = 48 * 1024 * 1024;
  /**
   * What a cached family holds on the heap, estimated from its events: 17.1 MB for the bench's 7 500
   * families of 22 263 events at 300 k lines (members and accounts; with the events themselves it
   * was 24.4 MB, 1.1 kB an event), ≈ 0.8 kB an event (bench/README.md "Session 18 — memory").
   */
  static readonly BYTES_PER_EVENT = 800;

  constructor(readonly kv: StateStore, private readonly clock: () => string = todayUtc, options: { cacheBytes?: number } = {}) {
    this.cacheLimit = options.cacheBytes ?? MembershipStore.CACHE_BYTES;
    this.events = kv.sub('members.event');
    this.families = kv.sub('members.family');
    this.applied = kv.sub('members.applied');
    this.persons = kv.sub('members.person');
    this.outbox = kv.sub('members.outbox');
    this.changelogDue = kv.sub('members.changelog-due');
    this.contracts = kv.sub('members.contract');
    this.meta = kv.sub('members.meta');
    this.unknown = kv.sub('members.unknown');
    this.populations = kv.sub('members.population');
    this.statements = new LazyDirtyFamilies(homeOfStateStore(kv));
  }

  static open(home: string, options: { today?: () => string; cacheBytes?: number } = {}): MembershipStore {
    return new MembershipStore(StateStore.open(home), options.today, options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes });
  }

  /** The store of a home that has one, or null (nothing created: read-only commands). */
  static openForReading(home: string, options: { today?: () => string } = {}): MembershipStore | null {
    const kv = StateStore.open(home, { create: false });
    return kv === null ? null : new MembershipStore(kv, options.today);
  }

  /**
   * Applies a batch of events in ONE durable transaction: each event not applied yet (by event id,
   * in this batch too) is appended to its family's history; the re-liquidations it asks for go to
   * the outbox in the same transaction. Returns what was applied and the requests to produce.
   */
  async apply(events: readonly MembershipEvent[]): Promise<ApplyResult> {
    const result: ApplyResult = { applied: [], duplicates: 0, requests: [] };
    // the families' statement marks first, durable in LevelDB, then the events in LMDB: a crash
    // between leaves marks without a change (statements computed again, the same bytes), never a
    // change without its mark. The families of the events not applied yet: an applied mark is never
    // removed, so the transaction below applies a subset of these (a superset marked is harmless).
    await this.statements.markNow(events.filter((e) => !this.applied.has(e.eventId)).map((e) => e.adherentId));
    await this.kv.update(() => {
      result.applied = [];
      result.duplicates = 0;
      const seen = new Set<string>();
      const next = new Map<string, number>();
      const at = new Date().toISOString();
      for (const event of events) {
        if (seen.has(event.eventId) || this.applied.has(event.eventId)) {
          result.duplicates += 1;
          continue;
        }
        seen.add(event.eventId);
        const seq = next.get(event.adherentId) ?? this.families.get(event.adherentId)?.events ?? 0;
        next.set(event.adherentId, seq + 1);
        result.applied.push({ seq, appliedAt: at, event });
      }
      result.requests = [...reliquidationsFor(result.applied, this.clock()), ...this.handoversFor(result.applied, this.clock())];
      const applied = result.applied;
      const requests = result.requests;
      return () => {
        // their member statements name the family's people: written again by the next run --once (marked above)
        for (const s of applied) this.append(s);
        for (const [id, events] of next) {
          this.families.put(id, { events });
          // owed to members-changelog, in the same transaction as the events (membership-changelog.ts)
          this.changelogDue.put(id, { events });
        }
        for (const r of requests) this.outbox.put(r.requestId, r);
      };
    });
    return result;
  }

  /** Inside a commit: each contract an event names, under its family. */
  private indexContracts(stored: Iterable<StoredMembershipEvent>): void {
    for (const { event: e } of stored) for (const c of e.contracts ?? []) this.contracts.put(compositeKey(c, e.adherentId), true);
  }

  /**
   * The families some event ever gave contract `gridId` (a superset of who held it on any date:
   * the caller reads each one's dated history). A prefix scan of an index kept with the events, so
   * the cost grows with those families, not with the store. A store written before the index is
   * indexed once, here, in one commit.
   */
  async familiesHolding(gridId: string): Promise<string[]> {
    if (!this.meta.has('contract-index')) {
      await this.kv.update(() => {
        const all = [...this.events.entries()].map(([, e]) => e);
        return () => {
          this.indexContracts(all);
          this.meta.put('contract-index', true);
        };
      });
    }
    return [...this.contracts.keys(compositeKey(gridId, ''))].map((k) => splitCompositeKey(k)[1]!);
  }

  /**
   * Lines kept under member numbers while their person was unknown (the ingest sink's note): the
   * person's arrival in a family of ANOTHER number asks that number's ledger to hand them over
   * (reliquidate.ts). Same rule as reliquidationsFor: an arrival effective today or later changes no
   * past decision.
   */
  private handoversFor(applied: readonly StoredMembershipEvent[], today: string): ReliquidationRequest[] {
    const requests: ReliquidationRequest[] = [];
    for (const { event: e } of applied) {
      if ((e.eventType !== 'family_created' && e.eventType !== 'beneficiary_added') || e.nir === undefined || e.rang === undefined || e.effectiveDate >= today) continue;
      for (const key of this.unknown.keys(compositeKey(`${e.nir}-${e.rang}`, ''))) {
        const kept = splitCompositeKey(key)[1]!;
        if (kept === e.adherentId) continue;
        requests.push({ requestId: `members:${e.eventId}:${kept}`, adherentId: kept, from: e.effectiveDate, reason: { eventId: e.eventId, type: e.eventType, effectiveDate: e.effectiveDate } });
      }
    }
    return requests;
  }

  /** The ingest sink's note: these persons, unknown, had lines keyed by these member numbers. Durable when it resolves. */
  async noteUnknownPersons(persons: readonly { nir: string; rang: number; adherentId: string }[]): Promise<void> {
    const keys = [...new Set(persons.map((p) => compositeKey(`${p.nir}-${p.rang}`, p.adherentId)))].filter((k) => !this.unknown.has(k));
    if (keys.length === 0) return;
    await this.kv.commit(() => {
      for (const k of keys) this.unknown.put(k, true);
    });
  }

  /** What importing the population file of this key published, if it was imported into this home. */
  populationImported(key: string): PopulationImportMark | undefined {
    return this.populations.get(key);
  }

  /** Once every event of the file was produced: the next import of the same content reads no row (durable when it resolves). */
  async populationPublished(key: string, mark: PopulationImportMark): Promise<void> {
    await this.kv.commit(() => this.populations.put(key, mark));
  }

  /** Requests decided but not yet produced (a crash between the commit and the produce). */
  pendingRequests(): ReliquidationRequest[] {
    return [...this.outbox.entries()].map(([, r]) => r);
  }

  /** Once produced: removed from the outbox. */
  async requestsProduced(requests: readonly ReliquidationRequest[]): Promise<void> {
    if (requests.length === 0) return;
    await this.kv.commit(() => {
      for (const r of requests) this.outbox.remove(r.requestId);
    });
  }

  /** Families whose history changed and is not on members-changelog yet, with what to send. */
  dueChangelog(): MembersChangelogValue[] {
    const out: MembersChangelogValue[] = [];
    for (const id of this.changelogDue.keys()) out.push({ adherentId: id, events: this.eventsOf(id) });
    return out;
  }

  /**
   * Once produced: the marks removed — unless the family changed again meanwhile (another writer of
   * this home's store), whose newer history is then still owed.
   */
  async changelogWritten(values: readonly MembersChangelogValue[]): Promise<void> {
    if (values.length === 0) return;
    await this.kv.commit(() => {
      for (const v of values) if (this.changelogDue.get(v.adherentId)?.events === v.events.length) this.changelogDue.remove(v.adherentId);
    });
  }

  /**
   * Rebuild / catch-up from members-changelog (membership-changelog.ts): the events of these
   * histories that this store has not applied (by event id) are appended in the history's order,
   * with their original apply time, in ONE transaction. They ask for no re-liquidation (the store
   * that applied them first did) and are owed to no changelog (they come from it). Histories only
   * grow, so merging every value of a key in offset order gives its last one.
   */
  async merge(values: readonly MembersChangelogValue[]): Promise<number> {
    let merged = 0;
    // marks first (durable, LevelDB), then the events (LMDB): as in `apply`
    await this.statements.markNow(values.flatMap((v) => v.events.filter((s) => !this.applied.has(s.event.eventId)).map((s) => s.event.adherentId)));
    await this.kv.update(() => {
      merged = 0;
      const seen = new Set<string>();
      const next = new Map<string, number>();
      const add: StoredMembershipEvent[] = [];
      for (const v of values) {
        for (const s of [...v.events].sort((a, b) => a.seq - b.seq)) {
          const e = s.event;
          if (seen.has(e.eventId) || this.applied.has(e.eventId)) continue;
          seen.add(e.eventId);
          const seq = next.get(e.adherentId) ?? this.families.get(e.adherentId)?.events ?? 0;
          next.set(e.adherentId, seq + 1);
          add.push({ seq, appliedAt: s.appliedAt, event: e });
        }
      }
      merged = add.length;
      return () => {
        for (const s of add) this.append(s);
        for (const [id, events] of next) this.families.put(id, { events });
      };
    });
    return merged;
  }

  private append(s: StoredMembershipEvent): void {
    this.events.put(compositeKey(s.event.adherentId, seqKey(s.seq)), s);
    this.applied.put(s.event.eventId, { adherentId: s.event.adherentId, seq: s.seq });
    if (s.event.nir !== undefined && s.event.rang !== undefined && (s.event.eventType === 'family_created' || s.event.eventType === 'beneficiary_added')) {
      this.persons.put(`${s.event.nir}-${s.event.rang}`, s.event.adherentId);
    }
    // every path that stores an event (a batch, a rebuild from members-changelog) keeps the contract index whole
    this.indexContracts([s]);
  }

  isApplied(eventId: string): boolean {
    return this.applied.has(eventId);
  }

  /** The family's events, in the order they were applied. */
  eventsOf(adherentId: string): StoredMembershipEvent[] {
    return [...this.events.entries(compositeKey(adherentId, ''))].map(([, e]) => e);
  }

  /**
   * The family as known now, its members and accounts with their whole dated history (null: no
   * event names it); from the fold cache.
   */
  family(adherentId: string): FamilyView | null {
    const mark = this.families.get(adherentId);
    if (mark === undefined) return null;
    const hit = this.cache.get(adherentId);
    if (hit !== undefined) {
      this.cache.delete(adherentId);
      if (hit.events === mark.events) {
        // the most recently used last (a Map keeps insertion order)
        this.cache.set(adherentId, hit);
        return hit.state;
      }
      this.cached -= hit.bytes;
    }
    // the view alone is kept: the events array (and the event objects only it holds) is left to the GC
    const { events: _folded, ...state } = foldFamily(adherentId, this.eventsOf(adherentId));
    const bytes = mark.events * MembershipStore.BYTES_PER_EVENT;
    this.cache.set(adherentId, { events: mark.events, state, bytes });
    this.cached += bytes;
    this.evictOver(this.cacheLimit);
    return state;
  }

  /** The family with the events it is folded from (`noemie members show`): folded now, not cached. */
  history(adherentId: string): FamilyState | null {
    return this.families.has(adherentId) ? foldFamily(adherentId, this.eventsOf(adherentId)) : null;
  }

  /** Drops the least recently used families until the cache's estimate is within `bytes`. */
  private evictOver(bytes: number): void {
    for (const [id, entry] of this.cache) {
      if (this.cached <= bytes) return;
      this.cache.delete(id);
      this.cached -= entry.bytes;
    }
  }

  /**
   * Bounds the fold cache from now on (the least recently used families dropped to fit): `run --once`
   * lowers it once the lines are keyed and liquidated, when each family is asked for once or twice
   * (its payees' accounts, its statement) and a cache of the whole portfolio is only heap held
   * through the payment run, the run's memory peak.
   */
  limitCache(bytes: number): void {
    this.cacheLimit = bytes;
    this.evictOver(bytes);
  }

  /** The fold cache's size: families held and their estimated heap. */
  cacheUse(): { families: number; bytes: number } {
    return { families: this.cache.size, bytes: this.cached };
  }

  /** The family as it stood on `date` (who was covered, at which level, paid where), as known now. */
  familyAsOf(adherentId: string, date: string): FamilyOn | null {
    const state = this.family(adherentId);
    return state === null ? null : familyOn(state, date);
  }

  /** The family's account (the holder's RIB) in force on `date`: where a payment made that day goes. */
  accountOn(adherentId: string, date: string): PayeeAccount | undefined {
    const state = this.family(adherentId);
    if (state === null) return undefined;
    const account = accountOn(state.accounts, date);
    if (account === undefined) return undefined;
    const holder = state.members.find((b) => b.role === 'A') ?? state.members[0];
    return { iban: account.iban, bic: account.bic, name: holder?.name ?? adherentId };
  }

  /** Every family the store knows, in key order. */
  *adherents(): Generator<string> {
    yield* this.families.keys();
  }

  /** Does an event name this family? (one point read) */
  hasFamily(adherentId: string): boolean {
    return this.families.has(adherentId);
  }

  /** Whether any family is known: the first key only (familyCount walks every family). */
  hasFamilies(): boolean {
    for (const _ of this.families.keys()) return true;
    return false;
  }

  familyCount(): number {
    let n = 0;
    for (const _ of this.families.keys()) n++;
    return n;
  }

  /**
   * The LIVE BeneficiaryIndex (contract s4 §2): every call reads the store's current knowledge,
   * so an event applied while a service runs is seen by its next lookup, without a restart.
   */
  index(): BeneficiaryIndex {
    const store = this;
    return {
      get size() {
        let n = 0;
        for (const _ of store.persons.keys()) n++;
        return n;
      },
      byNirRang(nir, rang) {
        const adherentId = store.persons.get(`${nir}-${rang}`);
        if (adherentId === undefined) return undefined;
        return store.family(adherentId)?.members.find((b) => b.nir === nir && b.rang === rang);
      },
      // One point read, no fold: the person's entry names the family whose family_created /
      // beneficiary_added last named them (`append`), written in the same commit as that family's
      // events and mark, and neither is ever removed; a family's fold has every person such an
      // event named. So this is `byNirRang(nir, rang)?.adherentId` — what the ingest sink keys a
      // line by — without the family's fold or its cache (bench/README.md "Session 18 — ingest").
      adherentOf(nir, rang) {
        return store.persons.get(`${nir}-${rang}`);
      },
      byAdherent: (adherentId) => store.family(adherentId)?.members ?? [],
      holder: (adherentId) => store.family(adherentId)?.members.find((b) => b.role === 'A'),
      *all(): Generator<Beneficiary> {
        for (const id of store.adherents()) yield* store.family(id)?.members ?? [];
      },
    };
  }

  async close(): Promise<void> {
    await this.statements.close();
    await this.kv.close();
  }
}

/** The payment run's account book: members' accounts from the store as of `date`, professionals' as given. */
export function membershipAccountBook(store: MembershipStore, date: string, professionals: Readonly<Record<string, PayeeAccount>> = {}): AccountBook {
  return { members: {}, professionals, memberAccount: (adherentId) => store.accountOn(adherentId, date) };
}
