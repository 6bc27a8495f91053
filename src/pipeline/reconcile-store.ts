import { rm } from 'node:fs/promises';
import type { Bus, OutgoingText, PartitionOffsets } from '../bus/bus.js';
import { changelogKey, changelogRecordJson, changelogText, type CounterChangelog } from '../bus/messages.js';
import { TRUSTED } from '../bus/bus.js';
import { partitionFor } from '../bus/topics.js';
import { parseReconState, type ClaimEntry, type LineEntry, type ReconState } from '../reconcile/index.js';
import { emptyDict } from '../reconcile/dict.js';
import { careEventOfClaim, careEventOfLine, findableInCareEvent, type CareEvent } from '../reconcile/match.js';
import {
  ENTRY_LAYOUT,
  deadlineOf,
  entryChangelogKey,
  entryRecordText,
  entryText,
  parseChangelogKey,
  parseEntryRecord,
  entryRecordOf,
  headRecordOf,
  type AnyEntry,
  type EntryKind,
  type EntryRecord,
} from '../reconcile/entry-codec.js';
import { decodeReconState, isCompactState } from '../reconcile/state-codec.js';
import { ClaimEntrySchema, LineEntrySchema } from '../reconcile/state-schema.js';
import { compositeKey, KEY_SEP, splitCompositeKey, StateStore } from '../state/kv-store.js';
import { LevelStore, type LevelSubStore } from '../state/level-store.js';
import { scratchDir } from './scratch.js';

/**
 * The reconcile service's state in the home's LOG-STRUCTURED store (src/state/level-store.ts,
 * LevelDB, `<home>/state/level/`; layout 3 lived in the LMDB store, whose commits re-wrote a
 * B-tree page per scattered key: bench/README.md "Session 8 — log-structured store"), layout 4 —
 * one key per line and per claim, not one per beneficiary (README "Reconciliation state"):
 *
 *   reconcile.person/<NIR-rang>␟H                          [w, seq] as JSON text: the beneficiary's last write number and outcome count
 *   reconcile.person/<NIR-rang>␟L␟<lineKey>                [3, w, tuple] (entry-codec.ts) as JSON text;
 *   reconcile.person/<NIR-rang>␟C␟<tpClaimId>                [3, w, tuple, undo] when read from the changelog
 *   reconcile.person/<NIR-rang>␟E␟<careDate>␟<psId>␟<actCode>   ["L<lineKey>", "C<tpClaimId>", …] — index: the entries of one
 *                                                          care event, as ONE value (a point read, not a range scan:
 *                                                          LevelDB's scans are async); match.ts careEventOf…
 *   reconcile.deadline/<deadline>␟<NIR-rang>␟<L|C>␟<id>    1 — index: whose wait runs out when (a tick scans it up to `now`)
 *   reconcile.suspect/<NIR-rang>␟<L|C>␟<id>                1 — an entry read from the changelog above its head, to settle
 *   reconcile.marker/changelog                             { v: 4, bus, next: { partition: first changelog offset NOT reflected }, keys }
 *
 * A batch reads its beneficiaries' heads and only the entries its events can reach (by id, and by
 * care event), and writes only the entries it changed: a change costs what changed, not the
 * person's history. The marker is written in the SAME batch as the entries it describes.
 */
export const RECON_LAYOUT = 4;

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

/**
 * A transaction's store operations as text (`ReconStore.stage`): `people` and `deadlines` as key,
 * value pairs (null: remove) in the order they are applied, `heads` the change in the number of
 * beneficiaries with a head (the marker's `keys`).
 */
export interface StagedWrite {
  readonly people: readonly (string | null)[];
  readonly deadlines: readonly (string | null)[];
  readonly heads: number;
}

/** A beneficiary's part of a transaction: its changed entries and its head (undefined: unchanged, null: removed). */
export interface BeneficiaryWrite {
  beneficiary: string;
  head?: Head | null;
  entries: EntryWrite[];
  /**
   * What the caller read of the beneficiary's keys just before (`load`, under the reconcile
   * service's one-at-a-time lock, no commit of these keys in between): whether its head existed
   * and the care-event lists read, by key. `write` uses them instead of reading the keys again
   * (two of the five LevelDB point reads per settlement); a list it was not given it reads.
   */
  known?: { head: boolean; groups: ReadonlyMap<string, readonly string[]> };
}

/**
 * A beneficiary's entries as a batch reads them: the part of its ReconState the batch's events can
 * reach. From `loadMany`, an empty map or dictionary may be one shared by every beneficiary that
 * read nothing into it: read them, never write into them.
 */
export interface LoadedState {
  head: Head | undefined;
  state: ReconState;
  /** entries whose stored record is not what was loaded (a left-over read as its undo), by kind + id: the key's content, for its index entries */
  stored: Map<string, AnyEntry>;
  /** the care-event lists read (an absent key: empty), by key, as the store holds them (BeneficiaryWrite.known) */
  groups: Map<string, string[]>;
  /**
   * `loadMany`: the tuple text (entry-codec.ts `entryText`) of entries read from a record of the
   * store's own form `[3, w, tuple]`, by entry object — a write's undo is that text, not encoded again
   */
  texts?: Map<AnyEntry, string>;
}

const MARKER = 'changelog';
const headOf = (text: string): Head => {
  const h = JSON.parse(text) as StoredHead;
  return { w: h[0], seq: h[1] };
};

/** The tuple of a store record `[3,w,tuple]` as the text it was written with (entryRecordText). */
const tupleTextOf = (record: string, w: number): string => record.slice(`[${ENTRY_LAYOUT},${w},`.length, -1);

/** What a batch wants read of one beneficiary (`ReconStore.loadMany`): as `load`'s arguments. */
export interface LoadWants {
  lines: Iterable<string>;
  claims: Iterable<string>;
  groups?: Iterable<CareEvent>;
  /** false: only the entries named (a tick's due entries), no care events, no partners */
  close?: boolean;
}

/** A key of a `loadMany` round: a head (H), an entry (L, C) or a care event's index value (E) of beneficiary `b`. */
interface Pending {
  b: string;
  kind: 'H' | EntryKind | 'E';
  id: string;
}
/*
 * What a beneficiary loaded with nothing in it shares: most of a batch's beneficiaries (a member
 * line's first version) read no entry, no care event, no left-over, and an empty Map or dictionary
 * costs ≈ 190 bytes that live through the batch's awaits (copied by every scavenge, then promoted:
 * an empty LoadedState was ≈ 1 KB). `loadMany` replaces each by its own on its first write; never written.
 */
const NO_ENTRIES: Readonly<Record<string, never>> = Object.freeze(emptyDict<never>());
const NO_STORED: Map<string, AnyEntry> = new Map();
const NO_GROUPS: Map<string, string[]> = new Map();
const NO_TEXTS: Map<AnyEntry, string> = new Map();
const emptyLoaded = (head: Head | undefined): LoadedState => ({ head, state: { lines: NO_ENTRIES, claims: NO_ENTRIES, seq: head?.seq ?? 0 }, stored: NO_STORED, groups: NO_GROUPS, texts: NO_TEXTS });

/**
 * The hot keys spelled out (compositeKey's bytes: the parts joined by ␟) — compositeKey's rest
 * array and join cost a tenth of the store's write in the 100 k profile.
 */
const entryKey = (beneficiary: string, kind: EntryKind, id: string) => `${beneficiary}${KEY_SEP}${kind}${KEY_SEP}${id}`;
const headKey = (beneficiary: string) => `${beneficiary}${KEY_SEP}H`;
/** The key of a care event's index value under its beneficiary. */
const groupKey = (beneficiary: string, g: CareEvent) => `${beneficiary}${KEY_SEP}E${KEY_SEP}${g[0]}${KEY_SEP}${g[1]}${KEY_SEP}${g[2]}`;

/** Whether two care events (null: not listed) are the same one: as their keys under one beneficiary compare. */
const sameCareEvent = (a: CareEvent | null, b: CareEvent | null): boolean =>
  a === null || b === null ? a === b : a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

const groupOf = (kind: EntryKind, entry: AnyEntry): CareEvent => (kind === 'L' ? careEventOfLine(entry as LineEntry) : careEventOfClaim((entry as ClaimEntry).claim));
/** In its care event's index: every claim, a line only when the decider can find it there (layout 4 listed every line; such a list still reads). */
const listed = (kind: EntryKind, entry: AnyEntry): boolean => kind === 'C' || findableInCareEvent(entry as LineEntry);
const idOf = (kind: EntryKind, entry: AnyEntry): string => (kind === 'L' ? (entry as LineEntry).lineKey : (entry as ClaimEntry).claim.tpClaimId);

/** The entry a record reads as, given its beneficiary's head: a write above the head (cut before it) reads as its undo. */
export function currentOf(record: EntryRecord, headW: number): AnyEntry | null {
  if (record.w > headW && record.undo !== undefined) return record.undo;
  return record.entry;
}

export class ReconStore {
  /** a beneficiary's head, entries and care-event index under one prefix (values as text: JSON the codecs write) */
  private readonly people: LevelSubStore<string>;
  private readonly deadlines: LevelSubStore<string>;
  private readonly suspects: LevelSubStore<string>;
  private readonly markers: LevelSubStore<ReconMarker>;

  private constructor(
    readonly level: LevelStore,
    /** a scratch folder of this process (no home given): removed at close */
    private readonly scratch: string | null,
  ) {
    this.people = level.sub('reconcile.person', 'text');
    this.deadlines = level.sub('reconcile.deadline', 'text');
    this.suspects = level.sub('reconcile.suspect', 'text');
    this.markers = level.sub('reconcile.marker');
  }

  /**
   * The home's store; without a home (tests, bench) a per-process scratch one, empty, removed at
   * close — the state names people (keys are NIR-rang), so a killed process's folder is removed by
   * the next one (scratch.ts). `fsync` false: batches not fsynced (benches and tests without fsync).
   * A home of an earlier layout (its state in the LMDB store) has its LMDB keys removed here; the
   * LevelDB side has no marker yet, so the restore rebuilds it from reconcile-changelog.
   */
  static async open(home?: string, o: { fsync?: boolean } = {}): Promise<ReconStore> {
    if (home !== undefined) {
      const level = await LevelStore.open(home, { sync: o.fsync ?? true });
      try {
        await dropLmdbReconState(home);
      } catch (e) {
        await level.close();
        throw e;
      }
      return new ReconStore(level, null);
    }
    const dir = await scratchDir('noemie-recon-');
    return new ReconStore(await LevelStore.open(dir, { sync: o.fsync ?? true }), dir);
  }

  /** where the state is: the LevelDB folder */
  get dir(): string {
    return this.level.dir;
  }

  marker(): ReconMarker | undefined {
    return this.markers.get(MARKER);
  }

  /** beneficiaries with state */
  get keys(): number {
    return this.marker()?.keys ?? 0;
  }

  head(beneficiary: string): Head | undefined {
    const text = this.people.get(headKey(beneficiary));
    return text === undefined ? undefined : headOf(text);
  }

  /** The record an entry key holds, decoded (undefined: none). */
  record(beneficiary: string, kind: EntryKind, id: string): EntryRecord | undefined {
    const text = this.people.get(entryKey(beneficiary, kind, id));
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
    const lines = emptyDict<LineEntry>();
    const claims = emptyDict<ClaimEntry>();
    const stored = new Map<string, AnyEntry>();
    const seen = new Set<string>();
    const todo: [EntryKind, string][] = [];
    for (const k of lineKeys) todo.push(['L', k]);
    for (const k of claimIds) todo.push(['C', k]);
    const groupTodo: string[] = [];
    for (const g of groups) groupTodo.push(groupKey(beneficiary, g));
    const seenGroups = new Map<string, string[]>();
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
        groupTodo.push(groupKey(beneficiary, groupOf(kind, entry)));
        if (kind === 'L' && (entry as LineEntry).claimId !== null) todo.push(['C', (entry as LineEntry).claimId!]);
        if (kind === 'C' && (entry as ClaimEntry).lineKey !== null) todo.push(['L', (entry as ClaimEntry).lineKey!]);
        continue;
      }
      const group = groupTodo.pop()!;
      if (seenGroups.has(group)) continue;
      const list = this.groupMembers(group);
      seenGroups.set(group, list);
      for (const member of list) todo.push([member[0] as EntryKind, member.slice(1)]);
    }
    return { head, state: { lines, claims, seq: head?.seq ?? 0 }, stored, groups: seenGroups };
  }

  /**
   * `load` for every beneficiary of a batch at once, the same entries (the closure is a fixed point:
   * the order keys are read in does not change it), read in rounds of ONE `getMany` each instead of
   * a `getSync` per key: round 1 the heads, the entries named and the care events named; each next
   * round what the previous one's entries and care events lead to (their care events, partners,
   * members), until nothing is new — 2 or 3 rounds for a batch of thousands. LevelDB's lookups run
   * on libuv's pool, off the service's thread, and the per-read toll of a synchronous native call
   * (abstract-level's options, a N-API crossing per key) is paid once per round: the reads were a
   * third of the service's time (bench/README.md, "Session 13 — reconciliation"). Outside a commit
   * only: `getMany` does not see a batch being built.
   */
  async loadMany(wants: ReadonlyMap<string, LoadWants>): Promise<Map<string, LoadedState>> {
    const out = new Map<string, LoadedState>();
    const seen = new Set<string>();
    // keys to read in the next round, and what each is — a head (H), an entry (L, C), a care event
    // (E) — of which beneficiary: parallel arrays, not an object per key (they live through the round)
    let keys: string[] = [];
    let owners: string[] = [];
    let kinds: Pending['kind'][] = [];
    let ids: string[] = [];
    const want = (b: string, kind: Pending['kind'], id: string, key: string) => {
      if (seen.has(key)) return;
      seen.add(key);
      keys.push(key);
      owners.push(b);
      kinds.push(kind);
      ids.push(id);
    };
    const closing = new Map<string, boolean>();
    for (const [b, w] of wants) {
      closing.set(b, w.close !== false);
      want(b, 'H', '', headKey(b));
      for (const id of w.lines) want(b, 'L', id, entryKey(b, 'L', id));
      for (const id of w.claims) want(b, 'C', id, entryKey(b, 'C', id));
      for (const g of w.groups ?? []) want(b, 'E', '', groupKey(b, g));
    }
    while (keys.length > 0) {
      const values = await this.people.getMany(keys);
      const roundKeys = keys;
      const roundOwners = owners;
      const roundKinds = kinds;
      const roundIds = ids;
      keys = [];
      owners = [];
      kinds = [];
      ids = [];
      // heads first: an entry read in the same round reads as its head says (currentOf)
      for (let i = 0; i < roundKinds.length; i++) {
        if (roundKinds[i] !== 'H') continue;
        const text = values[i];
        const head = text === undefined ? undefined : headOf(text);
        out.set(roundOwners[i]!, emptyLoaded(head));
      }
      for (let i = 0; i < roundKinds.length; i++) {
        const kind = roundKinds[i]!;
        if (kind === 'H') continue;
        const b = roundOwners[i]!;
        const text = values[i];
        const loaded = out.get(b)!;
        if (kind === 'E') {
          const list = text === undefined ? [] : (JSON.parse(text) as string[]);
          if (loaded.groups === NO_GROUPS) loaded.groups = new Map();
          loaded.groups.set(roundKeys[i]!, list);
          for (const member of list) {
            const k = member[0] as EntryKind;
            const id = member.slice(1);
            want(b, k, id, entryKey(b, k, id));
          }
          continue;
        }
        if (text === undefined) continue;
        const id = roundIds[i]!;
        const rec = parseEntryRecord(b, kind, text);
        const entry = currentOf(rec, loaded.head?.w ?? 0);
        if (entry !== rec.entry) {
          if (loaded.stored === NO_STORED) loaded.stored = new Map();
          loaded.stored.set(kind + id, rec.entry);
        }
        if (entry === null) continue;
        if (entry === rec.entry && rec.undo === undefined) {
          if (loaded.texts === NO_TEXTS) loaded.texts = new Map();
          loaded.texts!.set(entry, tupleTextOf(text, rec.w));
        }
        const state = loaded.state as { lines: Record<string, LineEntry>; claims: Record<string, ClaimEntry> };
        if (kind === 'L') {
          if (state.lines === NO_ENTRIES) state.lines = emptyDict<LineEntry>();
          state.lines[id] = entry as LineEntry;
        } else {
          if (state.claims === NO_ENTRIES) state.claims = emptyDict<ClaimEntry>();
          state.claims[id] = entry as ClaimEntry;
        }
        if (!closing.get(b)) continue;
        want(b, 'E', '', groupKey(b, groupOf(kind, entry)));
        const partner = kind === 'L' ? (entry as LineEntry).claimId : (entry as ClaimEntry).lineKey;
        if (partner !== null) {
          const k = kind === 'L' ? 'C' : 'L';
          want(b, k, partner, entryKey(b, k, partner));
        }
      }
    }
    return out;
  }

  /** The members of a care event's index value (`<L|C><id>` each), none when it has none. */
  private groupMembers(key: string): string[] {
    const text = this.people.get(key);
    return text === undefined ? [] : (JSON.parse(text) as string[]);
  }

  /** Entries whose wait ends at or before `now`, in deadline order: a range of the index, not a scan of the states. */
  async *dueEntries(now: string): AsyncGenerator<{ beneficiary: string; kind: EntryKind; id: string }> {
    for await (const k of this.deadlines.keys()) {
      const [deadline, beneficiary, kind, ...id] = splitCompositeKey(k);
      if (deadline! > now) return;
      yield { beneficiary: beneficiary!, kind: kind as EntryKind, id: id.join(KEY_SEP) };
    }
  }

  /** A beneficiary's whole state (inspection and tests: the service itself never reads one whole). */
  async stateOf(beneficiary: string): Promise<ReconState | undefined> {
    const head = this.head(beneficiary);
    if (head === undefined) return undefined;
    const lines: Record<string, LineEntry> = {};
    const claims: Record<string, ClaimEntry> = {};
    for await (const [key, text] of this.people.entries(compositeKey(beneficiary, ''))) {
      const [, kind, ...rest] = splitCompositeKey(key);
      if (kind !== 'L' && kind !== 'C') continue;
      const entry = currentOf(parseEntryRecord(beneficiary, kind, text), head.w);
      if (entry === null) continue;
      if (kind === 'L') lines[rest.join(KEY_SEP)] = entry as LineEntry;
      else claims[rest.join(KEY_SEP)] = entry as ClaimEntry;
    }
    return { lines, claims, seq: head.seq };
  }

  /** Every state, in key order (inspection and tests). */
  async states(): Promise<Map<string, ReconState>> {
    const heads: string[] = [];
    for await (const key of this.people.keys()) {
      const [beneficiary, kind] = splitCompositeKey(key);
      if (kind === 'H') heads.push(beneficiary!);
    }
    const out = new Map<string, ReconState>();
    for (const b of heads) out.set(b, (await this.stateOf(b))!);
    return out;
  }

  /** The deadline index as [deadline, `<NIR-rang>␟<L|C>␟<id>`] pairs, in deadline order (inspection and tests). */
  async deadlineIndex(): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for await (const k of this.deadlines.keys()) {
      const [deadline, ...rest] = splitCompositeKey(k);
      out.push([deadline!, compositeKey(...rest)]);
    }
    return out;
  }

  /** The care-event index as `<NIR-rang>␟E␟<careDate>␟<psId>␟<actCode>␟<L|C>␟<id>`, one per member, in key order (inspection and tests). */
  async careEventIndex(): Promise<string[]> {
    const out: string[] = [];
    for await (const [key, text] of this.people.entries()) {
      if (splitCompositeKey(key)[1] !== 'E') continue;
      for (const member of JSON.parse(text) as string[]) out.push(compositeKey(key, member[0]!, member.slice(1)));
    }
    return out.sort();
  }

  /** Left-overs to settle: entries read from the changelog above their head. */
  async *suspectEntries(): AsyncGenerator<{ beneficiary: string; kind: EntryKind; id: string }> {
    for await (const k of this.suspects.keys()) {
      const [beneficiary, kind, ...id] = splitCompositeKey(k);
      yield { beneficiary: beneficiary!, kind: kind as EntryKind, id: id.join(KEY_SEP) };
    }
  }

  /**
   * ONE durable batch: the beneficiaries' changed entries with their index entries (care event,
   * deadline) and heads, the marker moved to `positions` (per changelog partition, the first
   * offset the store now reflects past; partitions not named keep theirs), suspect marks added /
   * removed. What it reads (heads, old entries, care-event lists) it reads inside the commit,
   * after every earlier commit of the process has been written (LevelStore.commit runs them in order).
   */
  async write(
    writes: Iterable<BeneficiaryWrite>,
    positions: ReadonlyMap<number, number>,
    busId: string,
    marks: { add?: Iterable<string>; remove?: Iterable<string> } = {},
  ): Promise<void> {
    await this.level.commit(() => this.put(this.stage(writes), positions, busId, marks));
  }

  /** `write` of operations staged by `stage`: the same ONE durable batch. */
  async commitStaged(staged: StagedWrite, positions: ReadonlyMap<number, number>, busId: string): Promise<void> {
    await this.level.commit(() => this.put(staged, positions, busId, {}));
  }

  /**
   * The store operations of `writes` — keys and values as text, no entry object — computed now,
   * for a `commitStaged` after the awaits that come between (the reconcile service's produces):
   * what lives through them is these strings, not the slice's entries, their old versions and the
   * care-event lists read (bench/README.md "Session 21 — reconcile"). The caller guarantees no
   * commit of these keys in between (the service's one-at-a-time lock): the reads made here (a
   * list or an old entry the caller did not give) then give what they would inside the commit.
   */
  stage(writes: Iterable<BeneficiaryWrite>): StagedWrite {
    let heads = 0;
    // the puts (a value) and removes (null), made after the reads above: key, value pairs per sub-store
    const people: (string | null)[] = [];
    const deadlines: (string | null)[] = [];
    // care-event lists read and changed by this batch, written once each at the end
    const groups = new Map<string, string[]>();
    let known: BeneficiaryWrite['known'];
    const members = (key: string) => {
      let list = groups.get(key);
      if (list === undefined) {
        const read = known?.groups.get(key);
        groups.set(key, (list = read !== undefined ? read.slice() : this.groupMembers(key)));
      }
      return list;
    };
    for (const { beneficiary: b, head, entries, known: k } of writes) {
      known = k;
      if (head !== undefined) {
        const hk = headKey(b);
        const had = known !== undefined ? known.head : this.people.get(hk) !== undefined;
        if (head === null) {
          if (had) heads -= 1;
          people.push(hk, null);
        } else {
          if (!had) heads += 1;
          const value = JSON.stringify([head.w, head.seq] satisfies StoredHead);
          people.push(hk, value);
        }
      }
      for (const e of entries) {
        const key = entryKey(b, e.kind, e.id);
        let old = e.old;
        if (old === undefined) {
          const text = this.people.get(key);
          old = text === undefined ? null : parseEntryRecord(b, e.kind, text).entry;
        }
        const oldDeadline = old === null ? null : deadlineOf(e.kind, old);
        const newDeadline = e.entry === null ? null : deadlineOf(e.kind, e.entry);
        if (oldDeadline !== newDeadline) {
          if (oldDeadline !== null) {
            const k = `${oldDeadline}${KEY_SEP}${key}`;
            deadlines.push(k, null);
          }
          if (newDeadline !== null) {
            const k = `${newDeadline}${KEY_SEP}${key}`;
            deadlines.push(k, '1');
          }
        }
        // listed: claims, and the lines the decider finds by care event (match.ts findableInCareEvent); a
        // member or review line is reached by its lineKey only (one list and one put less per such line)
        const oldEvent = old === null || !listed(e.kind, old) ? null : groupOf(e.kind, old);
        const newEvent = e.entry === null || !listed(e.kind, e.entry) ? null : groupOf(e.kind, e.entry);
        // compared by their fields: most writes leave an entry in its care event, and the two keys
        // were made (then flattened to compare) for each of them (bench/README.md "Session 23 — alloc")
        if (!sameCareEvent(oldEvent, newEvent)) {
          const oldGroup = oldEvent === null ? null : groupKey(b, oldEvent);
          const newGroup = newEvent === null ? null : groupKey(b, newEvent);
          // (different fields may still spell one key, a separator inside one: the keys decide, as before)
          if (oldGroup !== newGroup) {
            const member = e.kind + e.id;
            if (oldGroup !== null) {
              const list = members(oldGroup);
              const at = list.indexOf(member);
              if (at >= 0) list.splice(at, 1);
            }
            if (newGroup !== null) {
              const list = members(newGroup);
              if (!list.includes(member)) list.push(member);
            }
          }
        }
        people.push(key, e.text);
      }
    }
    for (const [key, list] of groups) people.push(key, list.length === 0 ? null : JSON.stringify(list));
    return { people, deadlines, heads };
  }

  /** Inside a commit: the staged operations, the suspect marks, and the marker (its count of heads moved by theirs). */
  private put(staged: StagedWrite, positions: ReadonlyMap<number, number>, busId: string, marks: { add?: Iterable<string>; remove?: Iterable<string> }): void {
    const before = this.marker();
    const next = { ...(before?.bus === busId ? before.next : {}) };
    for (const [p, offset] of positions) next[String(p)] = offset;
    const marker: ReconMarker = { v: RECON_LAYOUT, bus: busId, next, keys: (before?.keys ?? 0) + staged.heads };
    // nothing is read after this in the commit: its writes need not be kept for read-your-writes
    // (a key and value pair pushed per write, alive until the batch is written: bench/README.md "Session 23 — alloc")
    this.level.writesOnly();
    applyOps(this.people, staged.people);
    applyOps(this.deadlines, staged.deadlines);
    for (const k of marks.remove ?? []) this.suspects.remove(k);
    for (const k of marks.add ?? []) this.suspects.put(k, '1');
    this.markers.put(MARKER, marker);
  }

  /** The entry keys of a beneficiary (a whole state of an older layout replaces them all; a forgotten beneficiary removes them). */
  async *entryKeysOf(beneficiary: string): AsyncGenerator<{ kind: EntryKind; id: string }> {
    for await (const key of this.people.keys(compositeKey(beneficiary, ''))) {
      const [, kind, ...id] = splitCompositeKey(key);
      if (kind === 'L' || kind === 'C') yield { kind, id: id.join(KEY_SEP) };
    }
  }

  /**
   * Empties the reconciliation state and records that it mirrors nothing of `busId` yet: the
   * marker removed first (a durable batch), then the ranges cleared, then the empty marker — a
   * crash in between leaves no marker, so the next start wipes again.
   */
  async wipe(busId: string): Promise<void> {
    await this.level.commit(() => this.markers.remove(MARKER));
    for (const sub of [this.people, this.deadlines, this.suspects]) await sub.clear();
    await this.level.commit(() => this.markers.put(MARKER, { v: RECON_LAYOUT, bus: busId, next: {}, keys: 0 }));
  }

  async close(): Promise<void> {
    await this.level.close();
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
/** Staged key, value pairs (null: remove) applied to their sub-store, in order. */
function applyOps(sub: LevelSubStore<string>, ops: readonly (string | null)[]): void {
  for (let i = 0; i < ops.length; i += 2) {
    const value = ops[i + 1]!;
    if (value === null) sub.remove(ops[i]!);
    else sub.put(ops[i]!, value);
  }
}

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

  private async forget(b: string): Promise<void> {
    this.heads.set(b, null);
    const gone = new Set<string>();
    for await (const { kind, id } of this.store.entryKeysOf(b)) gone.add(suspectKey(b, kind, id));
    for (const [key, e] of this.entries) if (e.b === b) gone.add(key);
    for (const key of gone) {
      const [, kind, ...id] = splitCompositeKey(key);
      this.put(b, { kind: kind as EntryKind, id: id.join(KEY_SEP), entry: null, text: null }, -1);
    }
  }

  /**
   * One changelog record: its value as written — a string of the record's JSON (earlier builds) or
   * that JSON itself (since session 16: read from it, not parsed again; the store keeps its text).
   */
  async add(key: string, written: CounterChangelog['value']): Promise<void> {
    const k = parseChangelogKey(key);
    const b = k.beneficiary;
    const json = (): unknown => (typeof written === 'string' ? JSON.parse(written) : written);
    if (k.what === 'head') {
      if (written === null) return this.forget(b);
      this.heads.set(b, headRecordOf(json()));
      return;
    }
    if (k.what === 'entry') {
      if (written === null) return this.put(b, { kind: k.kind, id: k.id, entry: null, text: null }, -1);
      const rec = entryRecordOf(b, k.kind, json());
      const schema = k.kind === 'L' ? LineEntrySchema : ClaimEntrySchema;
      schema.parse(rec.entry);
      if (rec.undo) schema.parse(rec.undo);
      if (idOf(k.kind, rec.entry) !== k.id) throw new Error(`the entry's id is not its key's (${k.id})`);
      // the last record of a write commits it (its head); a later write's head always comes later
      if (rec.seq !== undefined && rec.w >= this.headW(b)) this.heads.set(b, { w: rec.w, seq: rec.seq });
      // the text only here, where the store keeps it (a JSON-form record's is stringified again)
      return this.put(b, { kind: k.kind, id: k.id, entry: rec.entry, text: changelogText(written) }, rec.w);
    }
    // a whole state of an older build: all its entries at the next write number, then its head
    if (written === null) return this.forget(b);
    const parsed: unknown = json();
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
          // either form of record (bus/messages.ts): the value's JSON as text, the key the value's or the record's
          await batch.add(changelogKey(r), r.value.value);
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
  const marks: { beneficiary: string; kind: EntryKind; id: string }[] = [];
  for await (const m of store.suspectEntries()) marks.push(m);
  if (marks.length === 0) return 0;
  const messages: OutgoingText[] = [];
  const writes: BeneficiaryWrite[] = [];
  for (const { beneficiary: b, kind, id } of marks) {
    const rec = store.record(b, kind, id);
    const headW = store.head(b)?.w ?? 0;
    if (rec === undefined || rec.w <= headW || rec.undo === undefined) continue;
    const undo = rec.undo;
    const undoText = undo === null ? null : entryText(b, kind, undo);
    messages.push({ json: changelogRecordJson(undoText === null ? null : entryRecordText(headW, undoText, null)), key: entryChangelogKey(b, kind, id), headers: {}, partition: partitionFor(b) });
    writes.push({ beneficiary: b, entries: [{ kind, id, entry: undo, text: undoText === null ? null : entryRecordText(headW, undoText), old: rec.entry }] });
  }
  if (messages.length > 0) await bus.produce('reconcile-changelog', messages, TRUSTED);
  const ends = await bus.endOffsets('reconcile-changelog');
  await store.write(writes, new Map(ends.map((e) => [e.partition, e.high])), busId, { remove: marks.map((m) => suspectKey(m.beneficiary, m.kind, m.id)) });
  return messages.length;
}

/** Keys removed per LMDB commit when a home of an earlier layout drops its reconciliation state. */
const LEGACY_REMOVE_BATCH = 20_000;

/**
 * A home of layouts 1–3 (the state in LMDB, `store.mdb`): not read any more — the LevelDB side has
 * no marker, so the restore rebuilds it from reconcile-changelog — and its LMDB keys are removed:
 * the marker first, then the keys in commits of 20 000 (a crash in between leaves keys nothing
 * reads, removed at the next start). One point read and empty range reads for a home without them.
 */
export async function dropLmdbReconState(home: string): Promise<number> {
  const kv = StateStore.open(home, { create: false });
  if (kv === null) return 0;
  try {
    const markers = kv.sub<unknown>('reconcile.marker');
    const subs = ['reconcile.person', 'reconcile.deadline', 'reconcile.suspect', 'reconcile.state'].map((name) => kv.sub<unknown>(name));
    if (markers.has(MARKER)) await kv.commit(() => markers.remove(MARKER));
    let removed = 0;
    for (const sub of subs) {
      for (;;) {
        const keys: string[] = [];
        for (const k of sub.keys()) {
          keys.push(k);
          if (keys.length === LEGACY_REMOVE_BATCH) break;
        }
        if (keys.length === 0) break;
        await kv.commit(() => keys.forEach((k) => sub.remove(k)));
        removed += keys.length;
      }
    }
    return removed;
  } finally {
    await kv.close();
  }
}
