import { rm } from 'node:fs/promises';
import type { Bus, OutgoingMessage, PartitionOffsets } from '../bus/bus.js';
import { TRUSTED } from '../bus/bus.js';
import { partitionFor } from '../bus/topics.js';
import { parseReconState, type ClaimEntry, type LineEntry, type ReconState } from '../reconcile/index.js';
import { careEventOfClaim, careEventOfLine, type CareEvent } from '../reconcile/match.js';
import {
  deadlineOf,
  entryChangelogKey,
  entryRecordText,
  entryText,
  parseChangelogKey,
  parseEntryRecord,
  parseHeadRecord,
  type AnyEntry,
  type EntryKind,
  type EntryRecord,
} from '../reconcile/entry-codec.js';
import { decodeReconState, isCompactState } from '../reconcile/state-codec.js';
import { ClaimEntrySchema, LineEntrySchema } from '../reconcile/state-schema.js';
import { compositeKey, splitCompositeKey, StateStore, type SubStore } from '../state/kv-store.js';
import { scratchDir } from './scratch.js';

/**
 * The reconcile service's state in the home's state store (src/state, `<home>/state/store.mdb`),
 * layout 3 — one key per line and per claim, not one per beneficiary (README "Reconciliation state"):
 *
 *   reconcile.person/<NIR-rang>␟H                          [w, seq]: the beneficiary's last write number and outcome count
 *   reconcile.person/<NIR-rang>␟L␟<lineKey>                [3, w, tuple] (entry-codec.ts) as JSON text;
 *   reconcile.person/<NIR-rang>␟C␟<tpClaimId>                [3, w, tuple, undo] when read from the changelog
 *   reconcile.person/<NIR-rang>␟E␟<careDate>␟<psId>␟<actCode>␟<L|C>␟<id>   1 — index: the entries of one care event
 *                                                          (what a claim's lines and a line's claims share: match.ts careEventOf…)
 *   reconcile.deadline/<deadline>␟<NIR-rang>␟<L|C>␟<id>    1 — index: whose wait runs out when (a tick scans it up to `now`)
 *   reconcile.suspect/<NIR-rang>␟<L|C>␟<id>                1 — an entry read from the changelog above its head, to settle
 *   reconcile.marker/changelog                             { v: 3, bus, next: { partition: first changelog offset NOT reflected }, keys }
 *
 * A batch reads its beneficiaries' heads and only the entries its events can reach (by id, and by
 * care event), and writes only the entries it changed: a change costs what changed, not the
 * person's history. The marker is written in the SAME transaction as the entries it describes.
 */
export const RECON_LAYOUT = 3;

export interface ReconMarker {
  v: typeof RECON_LAYOUT;
  bus: string;
  next: Record<string, number>;
  /** beneficiaries with state (heads) */
  keys: number;
}

export interface Head {
  w: number;
  seq: number;
}

type StoredHead = [w: number, seq: number];

/** One entry of a write: its new record (null: removed) and, when the caller knows it, what the key held before (for its index entries). */
export interface EntryWrite {
  kind: EntryKind;
  id: string;
  /** the entry after the write, null: the key removed */
  entry: AnyEntry | null;
  /** its record text as the store keeps it (null with `entry` null) */
  text: string | null;
  /** what the store key held before (null: nothing); undefined: read it from the store */
  old?: AnyEntry | null;
}

/** A beneficiary's part of a transaction: its changed entries and its head (undefined: unchanged, null: removed). */
export interface BeneficiaryWrite {
  beneficiary: string;
  head?: Head | null;
  entries: EntryWrite[];
}

/** A beneficiary's entries as a batch reads them: the part of its ReconState the batch's events can reach. */
export interface LoadedState {
  head: Head | undefined;
  state: ReconState;
  /** entries whose stored record is not what was loaded (a left-over read as its undo), by kind + id: the key's content, for its index entries */
  stored: Map<string, AnyEntry>;
}

const MARKER = 'changelog';
const headKey = (beneficiary: string) => compositeKey(beneficiary, 'H');

const groupOf = (kind: EntryKind, entry: AnyEntry): CareEvent => (kind === 'L' ? careEventOfLine(entry as LineEntry) : careEventOfClaim((entry as ClaimEntry).claim));
const idOf = (kind: EntryKind, entry: AnyEntry): string => (kind === 'L' ? (entry as LineEntry).lineKey : (entry as ClaimEntry).claim.tpClaimId);

/** The entry a record reads as, given its beneficiary's head: a write above the head (cut before it) reads as its undo. */
export function currentOf(record: EntryRecord, headW: number): AnyEntry | null {
  if (record.w > headW && record.undo !== undefined) return record.undo;
  return record.entry;
}

export class ReconStore {
  /** a beneficiary's head, entries and care-event index under one prefix: its write touches one region of the B-tree */
  private readonly people: SubStore<StoredHead | string | 1>;
  private readonly deadlines: SubStore<1>;
  private readonly suspects: SubStore<1>;
  private readonly markers: SubStore<ReconMarker>;
  /** layouts 1–2: one whole state per beneficiary; wiped when such a home is rebuilt */
  private readonly legacyStates: SubStore<unknown>;

  private constructor(
    readonly kv: StateStore,
    /** a scratch folder of this process (no home given): removed at close */
    private readonly scratch: string | null,
  ) {
    this.people = kv.sub('reconcile.person');
    this.deadlines = kv.sub('reconcile.deadline');
    this.suspects = kv.sub('reconcile.suspect');
    this.markers = kv.sub('reconcile.marker');
    this.legacyStates = kv.sub('reconcile.state');
  }

  /**
   * The home's store; without a home (tests, bench) a per-process scratch one, empty, removed at
   * close — the state names people (keys are NIR-rang), so a killed process's folder is removed by
   * the next one (scratch.ts).
   */
  static async open(home?: string): Promise<ReconStore> {
    if (home !== undefined) return new ReconStore(StateStore.open(home), null);
    const dir = await scratchDir('noemie-recon-');
    return new ReconStore(StateStore.open(dir), dir);
  }

  marker(): ReconMarker | undefined {
    return this.markers.get(MARKER);
  }

  /** beneficiaries with state */
  get keys(): number {
    return this.marker()?.keys ?? 0;
  }

  head(beneficiary: string): Head | undefined {
    const h = this.people.get(headKey(beneficiary)) as StoredHead | undefined;
    return h === undefined ? undefined : { w: h[0], seq: h[1] };
  }

  /** The record an entry key holds, decoded (undefined: none). */
  record(beneficiary: string, kind: EntryKind, id: string): EntryRecord | undefined {
    const text = this.people.get(compositeKey(beneficiary, kind, id)) as string | undefined;
    return text === undefined ? undefined : parseEntryRecord(beneficiary, kind, text);
  }

  /**
   * What a batch needs of a beneficiary: the entries named (lines by lineKey, claims by id), the
   * entries of the care events named, and — closed over — those of the care events and partners
   * (a line's claim, a claim's line) of every entry taken. The decider only ever pairs entries of
   * one care event and follows links, so it decides on this part exactly as on the whole state
   * (test/pipeline/reconcile-store.int.test.ts compares with the decider on whole states).
   * `close` false: only the entries named (a tick reads its due entries and nothing else).
   */
  load(beneficiary: string, lineKeys: Iterable<string>, claimIds: Iterable<string>, groups: Iterable<CareEvent>, close = true): LoadedState {
    const head = this.head(beneficiary);
    const headW = head?.w ?? 0;
    const lines: Record<string, LineEntry> = {};
    const claims: Record<string, ClaimEntry> = {};
    const stored = new Map<string, AnyEntry>();
    const seen = new Set<string>();
    const todo: [EntryKind, string][] = [];
    for (const k of lineKeys) todo.push(['L', k]);
    for (const k of claimIds) todo.push(['C', k]);
    const groupTodo: string[] = [];
    for (const g of groups) groupTodo.push(compositeKey(beneficiary, 'E', ...g, ''));
    const seenGroups = new Set<string>();
    while (todo.length > 0 || groupTodo.length > 0) {
      const next = todo.pop();
      if (next !== undefined) {
        const [kind, id] = next;
        const k = kind + id;
        if (seen.has(k)) continue;
        seen.add(k);
        const rec = this.record(beneficiary, kind, id);
        if (rec === undefined) continue;
        const entry = currentOf(rec, headW);
        if (entry !== rec.entry) stored.set(k, rec.entry);
        if (entry === null) continue;
        if (kind === 'L') lines[id] = entry as LineEntry;
        else claims[id] = entry as ClaimEntry;
        if (!close) continue;
        groupTodo.push(compositeKey(beneficiary, 'E', ...groupOf(kind, entry), ''));
        if (kind === 'L' && (entry as LineEntry).claimId !== null) todo.push(['C', (entry as LineEntry).claimId!]);
        if (kind === 'C' && (entry as ClaimEntry).lineKey !== null) todo.push(['L', (entry as ClaimEntry).lineKey!]);
        continue;
      }
      const prefix = groupTodo.pop()!;
      if (seenGroups.has(prefix)) continue;
      seenGroups.add(prefix);
      for (const key of this.people.keys(prefix)) {
        const parts = splitCompositeKey(key);
        todo.push([parts[5] as EntryKind, parts.slice(6).join('\u001f')]);
      }
    }
    return { head, state: { lines, claims, seq: head?.seq ?? 0 }, stored };
  }

  /** Entries whose wait ends at or before `now`, in deadline order: a range of the index, not a scan of the states. */
  *dueEntries(now: string): Generator<{ beneficiary: string; kind: EntryKind; id: string }> {
    for (const k of this.deadlines.keys()) {
      const [deadline, beneficiary, kind, ...id] = splitCompositeKey(k);
      if (deadline! > now) return;
      yield { beneficiary: beneficiary!, kind: kind as EntryKind, id: id.join('\u001f') };
    }
  }

  /** A beneficiary's whole state (inspection and tests: the service itself never reads one whole). */
  stateOf(beneficiary: string): ReconState | undefined {
    const head = this.head(beneficiary);
    if (head === undefined) return undefined;
    const lines: Record<string, LineEntry> = {};
    const claims: Record<string, ClaimEntry> = {};
    for (const [key, text] of this.people.entries(compositeKey(beneficiary, ''))) {
      const [, kind, ...rest] = splitCompositeKey(key);
      if (kind !== 'L' && kind !== 'C') continue;
      const entry = currentOf(parseEntryRecord(beneficiary, kind, text as string), head.w);
      if (entry === null) continue;
      if (kind === 'L') lines[rest.join('\u001f')] = entry as LineEntry;
      else claims[rest.join('\u001f')] = entry as ClaimEntry;
    }
    return { lines, claims, seq: head.seq };
  }

  /** Every state, in key order (inspection and tests). */
  *states(): Generator<[string, ReconState]> {
    for (const key of this.people.keys()) {
      const [beneficiary, kind] = splitCompositeKey(key);
      if (kind === 'H') yield [beneficiary!, this.stateOf(beneficiary!)!];
    }
  }

  /** The deadline index as [deadline, `<NIR-rang>␟<L|C>␟<id>`] pairs, in deadline order (inspection and tests). */
  *deadlineIndex(): Generator<[string, string]> {
    for (const k of this.deadlines.keys()) {
      const [deadline, ...rest] = splitCompositeKey(k);
      yield [deadline!, compositeKey(...rest)];
    }
  }

  /** The care-event index as `<NIR-rang>␟E␟<careDate>␟<psId>␟<actCode>␟<L|C>␟<id>` keys (inspection and tests). */
  *careEventIndex(): Generator<string> {
    for (const key of this.people.keys()) if (splitCompositeKey(key)[1] === 'E') yield key;
  }

  /** Left-overs to settle: entries read from the changelog above their head. */
  *suspectEntries(): Generator<{ beneficiary: string; kind: EntryKind; id: string }> {
    for (const k of this.suspects.keys()) {
      const [beneficiary, kind, ...id] = splitCompositeKey(k);
      yield { beneficiary: beneficiary!, kind: kind as EntryKind, id: id.join('\u001f') };
    }
  }

  /**
   * ONE durable transaction: the beneficiaries' changed entries with their index entries (care
   * event, deadline) and heads, the marker moved to `positions` (per changelog partition, the
   * first offset the store now reflects past; partitions not named keep theirs), suspect marks
   * added / removed.
   */
  async write(
    writes: Iterable<BeneficiaryWrite>,
    positions: ReadonlyMap<number, number>,
    busId: string,
    marks: { add?: Iterable<string>; remove?: Iterable<string> } = {},
  ): Promise<void> {
    await this.kv.update(() => {
      const before = this.marker();
      let keys = before?.keys ?? 0;
      const ops: (() => void)[] = [];
      for (const { beneficiary: b, head, entries } of writes) {
        if (head !== undefined) {
          const hk = headKey(b);
          const had = this.people.has(hk);
          if (head === null) {
            if (had) keys -= 1;
            ops.push(() => this.people.remove(hk));
          } else {
            if (!had) keys += 1;
            const value: StoredHead = [head.w, head.seq];
            ops.push(() => this.people.put(hk, value));
          }
        }
        for (const e of entries) {
          const key = compositeKey(b, e.kind, e.id);
          let old = e.old;
          if (old === undefined) {
            const text = this.people.get(key) as string | undefined;
            old = text === undefined ? null : parseEntryRecord(b, e.kind, text).entry;
          }
          const oldDeadline = old === null ? null : deadlineOf(e.kind, old);
          const newDeadline = e.entry === null ? null : deadlineOf(e.kind, e.entry);
          if (oldDeadline !== newDeadline) {
            if (oldDeadline !== null) {
              const k = compositeKey(oldDeadline, key);
              ops.push(() => this.deadlines.remove(k));
            }
            if (newDeadline !== null) {
              const k = compositeKey(newDeadline, key);
              ops.push(() => this.deadlines.put(k, 1));
            }
          }
          const oldGroup = old === null ? null : compositeKey(b, 'E', ...groupOf(e.kind, old), e.kind, e.id);
          const newGroup = e.entry === null ? null : compositeKey(b, 'E', ...groupOf(e.kind, e.entry), e.kind, e.id);
          if (oldGroup !== newGroup) {
            if (oldGroup !== null) ops.push(() => this.people.remove(oldGroup));
            if (newGroup !== null) ops.push(() => this.people.put(newGroup, 1));
          }
          if (e.text === null) ops.push(() => this.people.remove(key));
          else {
            const text = e.text;
            ops.push(() => this.people.put(key, text));
          }
        }
      }
      const next = { ...(before?.bus === busId ? before.next : {}) };
      for (const [p, offset] of positions) next[String(p)] = offset;
      const marker: ReconMarker = { v: RECON_LAYOUT, bus: busId, next, keys };
      const add = [...(marks.add ?? [])];
      const remove = [...(marks.remove ?? [])];
      return () => {
        for (const op of ops) op();
        for (const k of remove) this.suspects.remove(k);
        for (const k of add) this.suspects.put(k, 1);
        this.markers.put(MARKER, marker);
      };
    });
  }

  /** The entry keys of a beneficiary (a whole state of an older layout replaces them all; a forgotten beneficiary removes them). */
  *entryKeysOf(beneficiary: string): Generator<{ kind: EntryKind; id: string }> {
    for (const key of this.people.keys(compositeKey(beneficiary, ''))) {
      const [, kind, ...id] = splitCompositeKey(key);
      if (kind === 'L' || kind === 'C') yield { kind, id: id.join('\u001f') };
    }
  }

  /** Empties the reconciliation state (one transaction; an older layout's keys too) and records that it mirrors nothing of `busId` yet. */
  async wipe(busId: string): Promise<void> {
    await this.kv.commit(() => {
      for (const sub of [this.people, this.deadlines, this.suspects, this.legacyStates]) sub.clear();
      this.markers.put(MARKER, { v: RECON_LAYOUT, bus: busId, next: {}, keys: 0 });
    });
  }

  async close(): Promise<void> {
    await this.kv.close();
    if (this.scratch !== null) await rm(this.scratch, { recursive: true, force: true });
  }
}

/** The suspect mark of an entry key. */
export const suspectKey = (beneficiary: string, kind: EntryKind, id: string) => compositeKey(beneficiary, kind, id);

export interface ReconRestoreResult {
  /** the store was wiped and rebuilt from the changelog's first offset */
  rebuilt: boolean;
  why: string;
  /** changelog entries read */
  read: number;
  /** left-overs of writes cut before their head, rolled back on the changelog */
  settled: number;
}

/** Where to start per changelog partition, or why the store must be rebuilt. */
function startOffsets(marker: ReconMarker | undefined, busId: string, ends: PartitionOffsets[]): Map<number, number> | string {
  if (marker === undefined) return 'no marker';
  if (marker.v !== RECON_LAYOUT) return `store layout v${String((marker as { v: unknown }).v)}, this build keeps v${RECON_LAYOUT}`;
  if (marker.bus !== busId) return `marker of another bus (${marker.bus})`;
  const out = new Map<number, number>();
  for (const { partition, low, high } of ends) {
    const next = marker.next[String(partition)] ?? 0;
    if (next > high) return `marker past the end of reconcile-changelog[${partition}] (${next} > ${high}): the topic was recreated`;
    if (next < low && next > 0) return `reconcile-changelog[${partition}] no longer holds offset ${next}`;
    out.set(partition, Math.max(next, low));
  }
  return out;
}

const RESTORE_BATCH = 2048;

/**
 * A read batch of the changelog as store writes: the last value per key; heads as they end the
 * batch; a whole state of layouts 1–2 (key `<NIR-rang>`) as a write of all its entries and its
 * head at the beneficiary's next write number. Entries come from the bus (on Kafka anyone may
 * write there): checked with zod, a bad one stops the restore naming its offset.
 */
class ReadBatch {
  private readonly heads = new Map<string, Head | null>();
  private readonly entries = new Map<string, { b: string; w: EntryWrite; at: number }>();
  constructor(private readonly store: ReconStore) {}

  headW(b: string): number {
    const h = this.heads.has(b) ? this.heads.get(b) : this.store.head(b);
    return h?.w ?? 0;
  }

  private put(b: string, w: EntryWrite, at: number): void {
    const key = suspectKey(b, w.kind, w.id);
    this.entries.delete(key); // the batch's order of last writes
    this.entries.set(key, { b, w, at });
  }

  private forget(b: string): void {
    this.heads.set(b, null);
    const gone = new Set<string>();
    for (const { kind, id } of this.store.entryKeysOf(b)) gone.add(suspectKey(b, kind, id));
    for (const [key, e] of this.entries) if (e.b === b) gone.add(key);
    for (const key of gone) {
      const [, kind, ...id] = splitCompositeKey(key);
      this.put(b, { kind: kind as EntryKind, id: id.join('\u001f'), entry: null, text: null }, -1);
    }
  }

  add(key: string, value: string | null): void {
    const k = parseChangelogKey(key);
    const b = k.beneficiary;
    if (k.what === 'head') {
      if (value === null) return this.forget(b);
      this.heads.set(b, parseHeadRecord(value));
      return;
    }
    if (k.what === 'entry') {
      if (value === null) return this.put(b, { kind: k.kind, id: k.id, entry: null, text: null }, -1);
      const rec = parseEntryRecord(b, k.kind, value);
      const schema = k.kind === 'L' ? LineEntrySchema : ClaimEntrySchema;
      schema.parse(rec.entry);
      if (rec.undo) schema.parse(rec.undo);
      if (idOf(k.kind, rec.entry) !== k.id) throw new Error(`the entry's id is not its key's (${k.id})`);
      // the last record of a write commits it (its head); a later write's head always comes later
      if (rec.seq !== undefined && rec.w >= this.headW(b)) this.heads.set(b, { w: rec.w, seq: rec.seq });
      return this.put(b, { kind: k.kind, id: k.id, entry: rec.entry, text: value }, rec.w);
    }
    // a whole state of an older build: all its entries at the next write number, then its head
    if (value === null) return this.forget(b);
    const parsed: unknown = JSON.parse(value);
    const state = parseReconState(isCompactState(parsed) ? decodeReconState(b, parsed) : parsed);
    const w = this.headW(b) + 1;
    for (const [id, line] of Object.entries(state.lines)) this.put(b, { kind: 'L', id, entry: line, text: entryRecordText(w, entryText(b, 'L', line)) }, w);
    for (const [id, claim] of Object.entries(state.claims)) this.put(b, { kind: 'C', id, entry: claim, text: entryRecordText(w, entryText(b, 'C', claim)) }, w);
    this.heads.set(b, { w, seq: state.seq });
  }

  /** The store writes, and the entries left above their head at the batch's end (suspect: a write cut before its head, or a head in the next batch). */
  writes(): { writes: BeneficiaryWrite[]; suspects: string[] } {
    const byB = new Map<string, BeneficiaryWrite>();
    const of = (b: string) => {
      let w = byB.get(b);
      if (w === undefined) byB.set(b, (w = { beneficiary: b, entries: [] }));
      return w;
    };
    for (const [b, head] of this.heads) of(b).head = head;
    const suspects: string[] = [];
    for (const [key, { b, w, at }] of this.entries) {
      of(b).entries.push(w);
      if (w.entry !== null && at > this.headW(b)) suspects.push(key);
    }
    return { writes: [...byB.values()], suspects };
  }
}

/**
 * Brings the store up to the end of `reconcile-changelog`: from the marker (the tail only), or from
 * the first offset after a wipe when there is no usable marker (a new home, a store of layout 1–2,
 * another bus's, a recreated topic). Batch by batch, one transaction each (the marker moved past
 * it): memory is one batch whatever the changelog's size, and a crash mid-restore resumes where the
 * last commit stopped. Then the left-overs of writes cut before their head are settled
 * (`settleReconLeftovers`) before anything is decided.
 */
export async function restoreReconStates(bus: Bus, store: ReconStore, busId: string): Promise<ReconRestoreResult> {
  const ends = await bus.endOffsets('reconcile-changelog');
  let from = startOffsets(store.marker(), busId, ends);
  let why = 'marker: reading the changelog tail';
  const rebuilt = typeof from === 'string';
  if (typeof from === 'string') {
    why = from;
    await store.wipe(busId);
    from = new Map(ends.map((e) => [e.partition, e.low]));
  }
  let read = 0;
  for (const { partition, high } of ends) {
    const start = from.get(partition) ?? 0;
    if (high <= start) continue;
    for await (const records of bus.readRange('reconcile-changelog', partition, { from: start, to: high, maxBatch: RESTORE_BATCH })) {
      const batch = new ReadBatch(store);
      for (const r of records) {
        try {
          batch.add(r.value.key, r.value.value);
        } catch (e) {
          throw new Error(`reconcile-changelog[${partition}]@${r.offset}: not a reconciliation state record: ${(e as Error).message}`, { cause: e });
        }
      }
      const { writes, suspects } = batch.writes();
      await store.write(writes, new Map([[partition, records.at(-1)!.offset + 1]]), busId, { add: suspects });
      read += records.length;
    }
  }
  const settled = await settleReconLeftovers(bus, store, busId);
  return { rebuilt, why, read, settled };
}

/**
 * The rule for a write cut in two: a beneficiary's entry records are produced before its head, on
 * the beneficiary's partition; a crash can leave entries written and their head not. Such an entry
 * (its `w` above its head's) reads as its undo — but the next write of the beneficiary reuses that
 * write number and need not touch the same entries, and its head would make the left-over look
 * current. So every left-over found past the marker (marked when read) is rolled back on the
 * changelog — its undo at the head's write number, or a removal when it had none — and in the
 * store, before the service decides anything. A mark whose head caught up (it was in the next read
 * batch) is dropped. Returns the entries rolled back.
 */
export async function settleReconLeftovers(bus: Bus, store: ReconStore, busId: string): Promise<number> {
  const marks = [...store.suspectEntries()];
  if (marks.length === 0) return 0;
  const messages: OutgoingMessage<'reconcile-changelog'>[] = [];
  const writes: BeneficiaryWrite[] = [];
  for (const { beneficiary: b, kind, id } of marks) {
    const rec = store.record(b, kind, id);
    const headW = store.head(b)?.w ?? 0;
    if (rec === undefined || rec.w <= headW || rec.undo === undefined) continue;
    const undo = rec.undo;
    const undoText = undo === null ? null : entryText(b, kind, undo);
    messages.push({ value: { key: entryChangelogKey(b, kind, id), value: undoText === null ? null : entryRecordText(headW, undoText, null) }, partition: partitionFor(b) });
    writes.push({ beneficiary: b, entries: [{ kind, id, entry: undo, text: undoText === null ? null : entryRecordText(headW, undoText), old: rec.entry }] });
  }
  if (messages.length > 0) await bus.produce('reconcile-changelog', messages, TRUSTED);
  const ends = await bus.endOffsets('reconcile-changelog');
  await store.write(writes, new Map(ends.map((e) => [e.partition, e.high])), busId, { remove: marks.map((m) => suspectKey(m.beneficiary, m.kind, m.id)) });
  return messages.length;
}
