import type { Batch, Bus, BusRecord, OutgoingText, Subscription } from '../bus/index.js';
import { TRUSTED } from '../bus/index.js';
import type { Logger } from '../log.js';
import type { ReconOutcome } from '../model/reconciliation.js';
import { changelogRecordJson } from '../bus/messages.js';
import { partitionFor } from '../bus/topics.js';
import { careEventOfClaim, careEventOfLine, DEFAULT_RECON_CONFIG, foldOf, identityOf, looksInCareEvent, reconKeyOf, slimSettlement, type CareEvent, type ReconConfig, type ReconEvent, type ReconFold } from '../reconcile/index.js';
import { entryChangelogKey, entryRecordText, entryTextOf, type AnyEntry, type EntryKind } from '../reconcile/entry-codec.js';
import { personOf } from '../reconcile/state-codec.js';
import { settlementForReconcile } from './reconcile-inputs.js';
import { ReconStore, restoreReconStates, type BeneficiaryWrite, type EntryWrite, type LoadedState, type LoadWants, type StagedWrite } from './reconcile-store.js';

/**
 * The reconcile stage on the bus: consumes `settlements` and `tp-claims` (group `reconcile`), runs
 * the pure decider with one state per beneficiary (NIR-rang, the key claims are partitioned by),
 * publishes outcomes to `reconciliation` and, per beneficiary changed, each changed line and claim
 * then its head to `reconcile-changelog` (compacted, keyed per entry, on the beneficiary's
 * partition), and keeps them in the home's state store (reconcile-store.ts, layout 3): a batch reads
 * and writes the entries its events reach, never a person's whole history.
 *
 * Exactly-once effect (README "Reconciliation state"): per batch, decide against the store, produce
 * the outcomes then the changed entries and heads (durable), commit them with the changelog
 * position they reflect in ONE store transaction, and only then does the handler resolve and the
 * bus commit the offsets. A redelivered batch is decided again either on the states from before it
 * (same outcomes, same `outcomeId`s: ids name what they decide, see outcomeIdOf; a consumer dedupes
 * them) or on the states after it (the decider ignores a settlement version or a claim content it
 * already has: nothing new). A write cut between its entries and its head is settled at restart
 * (reconcile-store.ts settleReconLeftovers) before anything is decided.
 *
 * Time is data: a settlement or claim is decided at its message timestamp (stable across
 * redeliveries); deadlines run out only when someone calls `tick(now)` (the `run` loop on a timer,
 * tests with the instant they want), which reads the store's deadline index up to `now`.
 *
 * On start the store is brought up to the changelog's end from its marker (the tail only). One
 * instance owns all keys: several instances in one group would each need only their partitions —
 * not done, the pipeline runs one reconcile consumer.
 */
export const RECONCILE_GROUP = 'reconcile';
export const RECONCILE_TOPICS = ['settlements', 'tp-claims'] as const;

export interface ReconcileServiceOptions {
  bus: Bus;
  config?: ReconConfig;
  logger?: Logger;
  groupId?: string;
  maxBatch?: number;
  /** records decided and committed together (RECONCILE_SLICE) */
  sliceSize?: number;
  /** the home whose state store keeps the states (`<home>/state/store.mdb`); none: a scratch store rebuilt from the changelog at each start */
  home?: string;
  /** which bus the store mirrors (liquidationState's busId: `embedded`, `kafka-<prefix>`); default the bus kind */
  busId?: string;
  /** @internal tests: called where a crash can fall (after the produces, after the store commit); a throw there stops the service as a crash would */
  faults?: { afterProduce?: () => void | Promise<void>; afterStoreCommit?: () => void | Promise<void> };
}

export interface ReconcileStats {
  events: number;
  outcomes: Record<ReconOutcome['kind'], number>;
  /** changelog entries read at start (the tail past the store's marker, or all of it on a rebuild) */
  restored: number;
}

export interface ReconcileService {
  /** raises the exceptions whose delay ran out at `now` (ISO instant); resolves once they are durable */
  tick(now: string): Promise<ReconOutcome[]>;
  /** beneficiaries with state (after the restore, then live) */
  readonly keys: number;
  readonly stats: ReconcileStats;
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * Most records per consumed batch, hence per store transaction (as the payment stage and the
 * statement index): a commit rewrites the B-tree pages its keys fall in, and beneficiaries' keys
 * are scattered, so fewer, larger commits write far fewer bytes per event (bench/README.md, "reconcile").
 */
export const RECONCILE_MAX_BATCH = 16384;

/**
 * Records of a consumed batch decided, produced and committed together (a batch of up to
 * RECONCILE_MAX_BATCH is taken in slices of this many). What a slice reads and builds — its
 * beneficiaries' entries, the fold's copies, the outcomes, the store and changelog records — lives
 * through its awaits (LevelDB's reads, the produces' and the commit's syncs), where every scavenge
 * of the young generation copies it, then promotes it: a batch of thousands kept ≈ 10 MB live.
 * A slice commits like a batch (the changelog's end with its entries): a crash after slice k
 * redelivers the batch, whose first k slices then decide nothing new (README "Reconciliation state").
 */
export const RECONCILE_SLICE = 1024;

/** Beneficiaries a tick decides per store transaction: memory stays one slice however many waits run out at once. */
const TICK_SLICE = 4096;

/** the ISO form of the last record timestamp seen: a batch's records mostly share theirs (appended together) */
let lastTimestamp = Number.NaN;
let lastAt = '';

function eventOf(record: BusRecord<'settlements'> | BusRecord<'tp-claims'>): ReconEvent {
  if (record.timestamp !== lastTimestamp) {
    lastAt = new Date(record.timestamp).toISOString();
    lastTimestamp = record.timestamp;
  }
  const at = lastAt;
  return record.topic === 'settlements'
    ? { kind: 'settlement', settlement: (record as BusRecord<'settlements'>).value, at }
    : { kind: 'claim', claim: (record as BusRecord<'tp-claims'>).value, at };
}

/**
 * What a beneficiary's events in a batch name: the entries they read by id and the care events they
 * look in. Arrays, not Sets (a batch holds one per beneficiary through its awaits): `loadMany` reads a key once.
 */
interface Wants extends LoadWants {
  lines: string[];
  claims: string[];
  groups: CareEvent[];
}

function wantsOf(event: ReconEvent, into: Wants): void {
  if (event.kind === 'settlement') {
    into.lines.push(event.settlement.lineKey);
    // a member or review line never pairs: its care event is not read (what its previous version was linked to is reached through it)
    if (looksInCareEvent(event.settlement)) into.groups.push(careEventOfLine({ identity: identityOf(event.settlement) }));
  } else if (event.kind === 'claim') {
    into.claims.push(event.claim.tpClaimId);
    into.groups.push(careEventOfClaim(event.claim));
  }
}

/** A beneficiary's fold in a batch: the entries it read, the fold over them. */
interface Working {
  loaded: LoadedState;
  fold: ReconFold;
}

/**
 * The beneficiary's write after its fold: the entries whose object changed (the decider replaces
 * entries, never changes them in place, and never removes one), as store records and changelog
 * records (with their undo), its head at the next write number. Undefined when nothing changed.
 *
 * The changelog records are handed to the bus as their message's JSON text (OutgoingText,
 * `{"value":<record>}`: the record's JSON put in as it is, the key the message's — bus/messages.ts;
 * before session 16 `JSON.stringify({ key, value })`, the record escaped as a string): built once here instead of a message object the
 * bus serialises again. The LAST record of a write carries the head, so it is never read above it
 * (entry-codec.ts): its undo is written `null`, not the entry's tuple before the write.
 */
function writeOf(beneficiary: string, { loaded, fold }: Working): { write: BeneficiaryWrite; log: OutgoingText[] } | undefined {
  const after = fold.state;
  if (after === loaded.state) return undefined;
  const w = (loaded.head?.w ?? 0) + 1;
  const partition = partitionFor(beneficiary);
  // the changed ids, lines then claims, in the maps' order (the order of the write's records)
  const ids: string[] = [];
  for (const id in after.lines) if (after.lines[id] !== loaded.state.lines[id]) ids.push(id);
  const lines = ids.length;
  for (const id in after.claims) if (after.claims[id] !== loaded.state.claims[id]) ids.push(id);
  const last = ids.length - 1;
  const entries: EntryWrite[] = new Array(ids.length);
  const log: OutgoingText[] = new Array(ids.length);
  // most beneficiaries read no left-over and no record of the store's own form: no look-up then
  const stored = loaded.stored.size > 0 ? loaded.stored : undefined;
  const texts = loaded.texts !== undefined && loaded.texts.size > 0 ? loaded.texts : undefined;
  const person = personOf(beneficiary);
  // the last record carries the head: a write cut before it reads as it was (entry-codec.ts, settleReconLeftovers)
  for (let i = 0; i <= last; i++) {
    const id = ids[i]!;
    const kind: EntryKind = i < lines ? 'L' : 'C';
    const entry: AnyEntry = kind === 'L' ? after.lines[id]! : after.claims[id]!;
    const before: AnyEntry | undefined = kind === 'L' ? loaded.state.lines[id] : loaded.state.claims[id];
    const text = entryTextOf(person, kind, entry);
    entries[i] = { kind, id, entry, text: entryRecordText(w, text), old: stored?.get(kind + id) ?? before ?? null };
    const undo = i === last || before === undefined ? null : (texts?.get(before) ?? entryTextOf(person, kind, before));
    const record = entryRecordText(w, text, undo, i === last ? after.seq : undefined);
    // the record's text as the value's JSON, keyed by the record's key (bus/messages.ts: no escaped string, no second key)
    log[i] = { json: changelogRecordJson(record), key: entryChangelogKey(beneficiary, kind, id), headers: NO_HEADERS, partition };
  }
  return { write: { beneficiary, head: { w, seq: after.seq }, entries, known: { head: loaded.head !== undefined, groups: loaded.groups } }, log };
}

/**
 * A slice's decision, from what its load read: the outcomes (in the records' order), the changelog
 * records and the store's operations as text (`ReconStore.stage`, null: nothing changed). Its own
 * function, not inline in the service's `apply`: an async function's frame keeps every local
 * through its awaits, and the loaded states, the folds' copies of their maps, the per-beneficiary
 * working objects — and, since session 21, the writes' entry objects, their old versions and the
 * care-event lists read, which the store's operations were computed from in the commit — would
 * then live through the slice's produces and commit (copied by each scavenge, then promoted —
 * bench/README.md "Session 14 — reconciliation", "Session 21 — reconcile"); here they are garbage
 * once it returns. What it returns is what the awaits need: strings, and the outcomes for their produce.
 */
function decideSlice(
  events: readonly { key: string; event: ReconEvent }[],
  parts: ReadonlyMap<string, LoadedState>,
  config: ReconConfig,
  stage: (writes: BeneficiaryWrite[]) => StagedWrite,
): { outcomes: ReconOutcome[]; staged: StagedWrite | null; log: OutgoingText[] } {
  // one working copy per beneficiary for the whole slice, read once; outcomes keep the records' order
  const folds = new Map<string, Working>();
  const outcomes: ReconOutcome[] = [];
  for (const { key, event } of events) {
    let f = folds.get(key);
    if (f === undefined) {
      const loaded = parts.get(key)!;
      f = { loaded, fold: foldOf(loaded.state, config) };
      folds.set(key, f);
    }
    for (const o of f.fold.decide(event)) outcomes.push(o);
  }
  const writes: BeneficiaryWrite[] = [];
  const log: OutgoingText[] = [];
  for (const [key, f] of folds) {
    const w = writeOf(key, f);
    if (w === undefined) continue;
    writes.push(w.write);
    for (const m of w.log) log.push(m);
  }
  return { outcomes, staged: writes.length > 0 ? stage(writes) : null, log };
}

const OUTCOME_KINDS: readonly ReconOutcome['kind'][] = ['matched', 'indu', 'held', 'exception', 'annulation-indu'];

/** reconcile-changelog derives no header from its values */
const NO_HEADERS = Object.freeze({});

export async function startReconcileService(options: ReconcileServiceOptions): Promise<ReconcileService> {
  const { bus, logger, faults } = options;
  const config = options.config ?? DEFAULT_RECON_CONFIG;
  const busId = options.busId ?? bus.kind;
  const sliceSize = options.sliceSize ?? RECONCILE_SLICE;
  const store = await ReconStore.open(options.home);
  let sub: Subscription;
  const stats: ReconcileStats = { events: 0, outcomes: { matched: 0, indu: 0, held: 0, exception: 0, 'annulation-indu': 0 }, restored: 0 };
  /** a write failed after (part of) its produce: the changelog may hold records past the marker, read them (and settle left-overs) before deciding again */
  let behind = false;
  const restore = async () => {
    const restored = await restoreReconStates(bus, store, busId);
    stats.restored += restored.read;
    logger?.info({ keys: store.keys, read: restored.read, rebuilt: restored.rebuilt, settled: restored.settled, why: restored.why }, 'reconcile: state store brought up to the changelog');
  };
  try {
    await restore();
  } catch (e) {
    await store.close();
    throw e;
  }

  // batches and ticks change the same states: one at a time
  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = lock.then(fn, fn);
    lock = next.catch(() => undefined);
    return next;
  };

  /**
   * Decides events against the store (the batch's own changes first); produces outcomes, then the
   * changed entries and heads; then commits them and the changelog's new end in one store transaction.
   * `load` gives each beneficiary's part of the state the batch needs.
   */
  async function apply(events: readonly { key: string; event: ReconEvent }[], wants: ReadonlyMap<string, LoadWants>, keep: boolean): Promise<{ outcomes: ReconOutcome[] | null; count: number }> {
    if (behind) {
      await restore();
      behind = false;
    }
    let slice: ReturnType<typeof decideSlice> | null = decideSlice(events, await store.loadMany(wants), config, (writes) => store.stage(writes));
    // From here the frame holds strings (the changelog records, the store's operations) and, until
    // the bus has them, the outcomes: a batch's records are counted, not kept (a tick returns its outcomes).
    const { staged, log } = slice;
    const count = slice.outcomes.length;
    const kept = keep ? slice.outcomes : null;
    const byKind = [0, 0, 0, 0, 0];
    for (const o of slice.outcomes) byKind[OUTCOME_KINDS.indexOf(o.kind)]! += 1;
    const produced = count > 0 ? bus.produce('reconciliation', slice.outcomes.map((value) => ({ value })), TRUSTED) : undefined;
    slice = null;
    await produced;
    if (staged !== null) {
      behind = true;
      await bus.produce('reconcile-changelog', log, TRUSTED);
      await faults?.afterProduce?.();
      // One writer of the changelog (this service): its end is the position the store now reflects.
      const ends = await bus.endOffsets('reconcile-changelog');
      await store.commitStaged(staged, new Map(ends.map((e) => [e.partition, e.high])), busId);
      behind = false;
      await faults?.afterStoreCommit?.();
    }
    OUTCOME_KINDS.forEach((kind, i) => (stats.outcomes[kind] += byKind[i]!));
    return { outcomes: kept, count };
  }

  /** A batch of records: each beneficiary's entries its events name, and their care events, closed over links. */
  async function applyRecords(events: readonly { key: string; event: ReconEvent }[]): Promise<number> {
    const wants = new Map<string, Wants>();
    for (const { key, event } of events) {
      let w = wants.get(key);
      if (w === undefined) wants.set(key, (w = { lines: [], claims: [], groups: [] }));
      wantsOf(event, w);
    }
    return (await apply(events, wants, false)).count;
  }

  const handler = (batch: Batch<'settlements' | 'tp-claims'>) =>
    exclusive(async () => {
      const events = (batch.records as (BusRecord<'settlements'> | BusRecord<'tp-claims'>)[]).map((r) => {
        const event = eventOf(r);
        return { key: reconKeyOf(event)!, event };
      });
      stats.events += events.length;
      // in slices, each read, decided, produced and committed before the next is read (see RECONCILE_SLICE)
      let outcomes = 0;
      for (let from = 0; from < events.length; from += sliceSize) outcomes += await applyRecords(from === 0 && events.length <= sliceSize ? events : events.slice(from, from + sliceSize));
      logger?.debug({ topic: batch.topic, partition: batch.partition, records: events.length, outcomes }, 'reconcile: batch');
    });

  try {
    sub = await bus.consume({
      groupId: options.groupId ?? RECONCILE_GROUP,
      topics: RECONCILE_TOPICS,
      handler,
      maxBatch: options.maxBatch ?? RECONCILE_MAX_BATCH,
      // a batch's settlements are held through its slices' awaits: only what the decider reads —
      // read from the stored bytes when the bus has them (reconcile-inputs.ts), else parsed, checked and slimmed
      raw: { settlements: settlementForReconcile },
      slim: { settlements: slimSettlement },
    });
  } catch (e) {
    await store.close();
    throw e;
  }

  let closed: Promise<void> | null = null;
  return {
    tick: (given) =>
      exclusive(async () => {
        const ms = Date.parse(given);
        if (Number.isNaN(ms)) throw new RangeError(`tick: "${given}" is not an ISO-8601 instant`);
        const now = new Date(ms).toISOString();
        // The deadline index up to `now`, a slice of beneficiaries at a time, each with all its due
        // entries (and nothing else: a tick decides only what runs out). An entry decided has its
        // exception raised: it leaves the index, so the next slice reads the rest from the start.
        const outcomes: ReconOutcome[] = [];
        const seen = new Set<string>();
        for (;;) {
          const due = new Map<string, { lines: string[]; claims: string[] }>();
          for await (const { beneficiary, kind, id } of store.dueEntries(now)) {
            if (seen.has(beneficiary)) continue;
            let d = due.get(beneficiary);
            if (d === undefined) {
              if (due.size >= TICK_SLICE) continue;
              due.set(beneficiary, (d = { lines: [], claims: [] }));
            }
            (kind === 'L' ? d.lines : d.claims).push(id);
          }
          if (due.size === 0) return outcomes;
          for (const key of due.keys()) seen.add(key);
          const events = [...due.keys()].map((key) => ({ key, event: { kind: 'tick', now } as ReconEvent }));
          const wants = new Map<string, LoadWants>();
          for (const [key, d] of due) wants.set(key, { lines: d.lines, claims: d.claims, close: false });
          outcomes.push(...(await apply(events, wants, true)).outcomes!);
        }
      }),
    get keys() {
      return store.keys;
    },
    stats,
    stop: () =>
      (closed ??= (async () => {
        await sub.stop();
        await lock;
        await store.close();
      })()),
    done: sub.done,
  };
}
