import { z } from 'zod';
import type { Bus, OutgoingMessage } from '../bus/bus.js';
import { changelogKey } from '../bus/messages.js';
import { partitionFor } from '../bus/topics.js';
import type { EngineState, LineRecord } from '../engine/index.js';
import { lineBucket, lineRecord } from '../engine/state.js';
import type { LedgerDelta } from './pool-messages.js';
import { PipelineStageError } from './errors.js';
import { ReliquidationCauseSchema, SettlementSchema, type ReliquidationCause, type Settlement } from '../model/settlement.js';
import { LineInputSchema, type LineInput } from './line-input.js';
import { isLineTuple, lineTuple, linePieceOfTuple, LINE_PIECE_TAG, type Stamp } from './line-piece.js';

/**
 * The liquidation service's state: one engine ledger per family (adhérent), persisted on
 * `counters-changelog` in PIECES, so that a change costs what changed, not the family's history:
 * a HEAD (counters, renewals, the watermark `applied`, the write number `seq`) keyed `<adhérent>`,
 * and one LINE piece per line record, keyed `<adhérent>#<lineKey>`. Compaction keeps the last value
 * per piece key; every piece of a family goes to the family's partition (partitionFor(adhérent)),
 * so they are read back in write order. Values: schemas/topics/ledger-snapshot.schema.json.
 *
 * `applied` is the watermark that makes redelivery harmless: per input topic-partition, the last
 * offset whose line is in this ledger (README "Exactly-once effect").
 *
 * The rule that keeps a half-written change harmless (README "State store"): a change publishes
 * its line pieces BEFORE its head, in order on one partition (possibly over two produce calls).
 * Each write bumps the head's `seq`, and a line piece carries the seq it was written at. A line
 * piece newer than its head (the crash fell between the line and the head) is not state: it
 * carries `undo` (the line's previous record, or null), which gives back the version the head
 * knows. Such a left-over is rewritten as its rollback before any later write of the family
 * (ledger-restore.ts `healLedgers`): otherwise the next head, at a seq as high, would make it look
 * current. So the ledger read is always the last one
 * whose head was written, and the batch past its watermark is liquidated again against it.
 */
const RenewalEntrySchema = z.object({ date: z.string(), units: z.number(), lineKey: z.string() });
const LineRecordSchema = z.looseObject({
  version: z.number().int().min(1),
  operation: z.enum(['I', 'A']),
  inputHash: z.string(),
  recordIds: z.array(z.string()).optional().meta({ description: 'record ids (line messages) applied to this line: a record id seen again is not liquidated again' }),
  input: LineInputSchema.optional().meta({ description: 'I records: the act line of this version, its liquidation date and order of arrival, so a re-liquidation can decide it again (src/pipeline/line-input.ts)' }),
  cause: ReliquidationCauseSchema.optional().meta({ description: "set when this version was produced by a re-liquidation: the settlement's `reliquidation` (replay prints it)" }),
});
const Seq = z.number().int().min(0);

const HeadSchema = z.object({
  v: z.literal(3),
  piece: z.literal('head'),
  seq: Seq.meta({ description: 'write number of this family ledger (1 for the first); a line piece written at a higher seq is an unfinished write' }),
  counters: z.record(z.string(), z.string()),
  renewals: z.record(z.string(), z.array(RenewalEntrySchema)),
  applied: z.record(z.string(), z.number().int().min(0)).meta({ description: '"<topic>:<partition>" → last input offset applied to this ledger' }),
  outbox: z.array(SettlementSchema).optional().meta({ description: 'the settlements a re-liquidation decided in this write, published AFTER it: whoever next handles the family (the redelivered request, or any next write) publishes them again before anything else (README "Re-liquidation")' }),
});
const LineSchema = z.object({
  v: z.literal(3).meta({ description: 'the object form of a line piece, written by builds before session 17 (they read only this form)' }),
  piece: z.literal('line'),
  line: z.string().min(1).meta({ description: 'the lineKey (the piece key is `<adhérent>#<lineKey>`)' }),
  seq: Seq,
  record: LineRecordSchema.nullable().meta({ description: 'the line record as of this write (null: the rollback of a line an unfinished write created)' }),
  undo: LineRecordSchema.nullable().meta({ description: 'the record before this write (null: absent): read instead of `record` while the head is below `seq`' }),
});

/** A line piece as written since session 17 (line-piece.ts): positional, the lineKey from the piece key. */
const LineTupleSchema = z
  .tuple([
    z.literal(LINE_PIECE_TAG),
    Seq,
    z.array(z.unknown()).nullable().meta({ description: `the line record as of this write, its values in the order of line-piece.ts RECORD_FIELDS (null: absent; parts, consumptions, renewals and input as arrays too), then optionally an object of any other field; null: the rollback of a line an unfinished write created` }),
    z.array(z.unknown()).nullable().meta({ description: 'the record before this write, in the same form (null: absent): read instead of the record while the head is below seq' }),
  ])
  .meta({ description: 'a line piece since session 17: [4, seq, record, undo], positional (src/pipeline/line-piece.ts); its lineKey is the piece key after `#`' });
/** The object a line tuple reads as, checked field by field like the object form. */
const LineOfTupleSchema = LineSchema.extend({ v: z.literal(LINE_PIECE_TAG) });
const PieceObjectSchema = z.discriminatedUnion('piece', [HeadSchema, LineSchema]);

export const LedgerSnapshotSchema = z
  .union([PieceObjectSchema, LineTupleSchema])
  .meta({ title: 'Family ledger piece', description: 'value of a counters-changelog entry: the head of a family ledger (key = adhérent) or one of its line records (key = adhérent#lineKey), a line record positional since session 17 or an object (earlier builds)' });

export type HeadPiece = z.infer<typeof HeadSchema>;
/** A line piece read or to write: `v` says the form it was read in (3: the object form of earlier builds); it is written as a tuple (`storedPiece`). */
export type LinePiece = Omit<z.infer<typeof LineSchema>, 'v'> & { v: 3 | 4 };
export type LedgerPiece = HeadPiece | LinePiece;
type Lines = Record<string, LineRecord>;

/** A family ledger, whole (loadFamilies, requests) or with only the lines a batch needs (the service). */
export interface Family {
  state: EngineState;
  applied: Record<string, number>;
  /** the head's write number: a change is written at the next one */
  seq: number;
  /** settlements written with this head and published after it (a re-liquidation's): to publish again before the family's next write */
  outbox?: Settlement[];
}

export type Families = Map<string, Family>;

export const watermarkKey = (topic: string, partition: number) => `${topic}:${partition}`;
export const lineKeyOfPiece = (adherentId: string, lineKey: string) => `${adherentId}#${lineKey}`;

/** What one liquidation changed in a family's ledger: the new head data and the records of the lines it wrote. */
export interface LedgerChange {
  counters: EngineState['counters'];
  renewals: EngineState['renewals'];
  lines: Lines;
}

/** The change between two states: the engine copies only the bucket it writes and the record it writes, so reference equality finds them. */
export function ledgerChange(before: EngineState | undefined, after: EngineState): LedgerChange {
  const lines: Lines = {};
  // for…in with the own check, not Object.entries: no [key, value] pair per bucket and record (the
  // kernel's buckets are dictionaries; entries of them measured ≈ 4 µs a line in a worker).
  const buckets = after.lines;
  for (const b in buckets) {
    if (!Object.hasOwn(buckets, b)) continue;
    const bucket = buckets[b]!;
    const old = before && Object.hasOwn(before.lines, b) ? before.lines[b] : undefined;
    if (old === bucket) continue;
    for (const k in bucket) {
      if (!Object.hasOwn(bucket, k)) continue;
      const r = bucket[k]!;
      if (!old || !Object.hasOwn(old, k) || old[k] !== r) lines[k] = r;
    }
  }
  return { counters: after.counters, renewals: after.renewals, lines };
}

/** What crosses back from a pool task: the new records of the lines a change wrote. */
export function ledgerDelta(before: EngineState | undefined, after: EngineState): LedgerDelta {
  return ledgerChange(before, after);
}

/** A task's delta as a change of the family's ledger: the delta is already the records written. */
export function applyDelta(_before: EngineState | undefined, delta: LedgerDelta): LedgerChange {
  return { counters: delta.counters, renewals: delta.renewals, lines: { ...delta.lines } };
}

/** A family's state for a pool task: counters and renewals, and only the records of `lineKeys` (the engine reads no other line). */
export function slimState(state: EngineState, lineKeys: Iterable<string>): EngineState {
  const lines: Record<string, Lines> = {};
  for (const k of lineKeys) {
    const b = lineBucket(k);
    const held = Object.hasOwn(state.lines, b) ? state.lines[b]! : undefined;
    if (!held || !Object.hasOwn(held, k)) continue;
    (lines[b] ??= {})[k] = held[k]!;
  }
  return { counters: state.counters, renewals: state.renewals, lines };
}

/** `lines` with the records of `written` put in (each touched bucket copied once; the others shared). */
export function withLines(lines: EngineState['lines'], written: Readonly<Lines>): EngineState['lines'] {
  const out: Record<string, Lines> = { ...lines } as Record<string, Lines>;
  const copied = new Set<string>();
  for (const [k, r] of Object.entries(written)) {
    const b = lineBucket(k);
    if (!copied.has(b)) {
      out[b] = { ...(Object.hasOwn(out, b) ? out[b] : {}) };
      copied.add(b);
    }
    out[b]![k] = r;
  }
  return out;
}

/**
 * The changelog messages of one change, its line pieces first and the head last, on the family's
 * partition; and the family as it now is. `before` must hold the records of the lines written
 * (their previous versions are the pieces' `undo`): the service loads them, replay and requests
 * load whole ledgers.
 */
export function encodeChange(adherentId: string, before: Family | undefined, change: LedgerChange, applied: Record<string, number>, outbox: readonly Settlement[] = []): { messages: OutgoingMessage<'counters-changelog'>[]; family: Family; pieces: [string, LedgerPiece][]; texts: string[] } {
  const seq = (before?.seq ?? 0) + 1;
  const pieces = changePieces(adherentId, before, change, applied, outbox);
  const partition = partitionFor(adherentId);
  // The piece as the record's value (JSON in JSON, not a string of it: bus/messages.ts), keyed by the message's key.
  const messages = pieces.map(([key, piece]) => ({ key, partition, value: { value: storedPiece(piece) } }));
  // The family as it now is, built only when asked (a worker writing a batch never asks).
  return {
    messages,
    pieces,
    /** each piece's JSON text, what the store keeps */
    get texts(): string[] {
      return pieces.map(([, piece]) => JSON.stringify(storedPiece(piece)));
    },
    get family(): Family {
      const lines = withLines(before?.state.lines ?? {}, change.lines);
      return { state: { counters: change.counters, renewals: change.renewals, lines }, applied, seq, ...(outbox.length > 0 ? { outbox: [...outbox] } : {}) };
    },
  };
}

/**
 * The pieces of one change, line records first and the head last (`encodeChange` without the
 * messages: a worker turns them into text itself, liquidate-lines.ts `encodeTaskLedgers`).
 */
export function changePieces(adherentId: string, before: Pick<Family, 'state' | 'seq'> | undefined, change: LedgerChange, applied: Record<string, number>, outbox: readonly Settlement[] = []): [string, LedgerPiece][] {
  const seq = (before?.seq ?? 0) + 1;
  const pieces: [string, LedgerPiece][] = [];
  const lines = change.lines;
  for (const k in lines) {
    if (!Object.hasOwn(lines, k)) continue;
    const undo = (before && lineRecord(before.state, k)) ?? null;
    pieces.push([lineKeyOfPiece(adherentId, k), { v: LINE_PIECE_TAG, piece: 'line', line: k, seq, record: lines[k] as unknown as LinePiece['record'], undo: undo as unknown as LinePiece['undo'] }]);
  }
  const head: HeadPiece = { v: 3, piece: 'head', seq, counters: { ...change.counters }, renewals: change.renewals as HeadPiece['renewals'], applied, ...(outbox.length > 0 ? { outbox: [...outbox] } : {}) };
  pieces.push([adherentId, head]);
  return pieces;
}

/** A family's outbox (the settlements its last re-liquidation wrote before publishing), as messages keyed like any settlement of the family. */
export function outboxOf(id: string, family: Pick<Family, 'outbox'> | undefined): OutgoingMessage<'settlements'>[] {
  return (family?.outbox ?? []).map((value) => ({ value, key: value.adherentId ?? id }));
}

/** A whole family written as one change (tests, tools): every line it holds, then its head. */
export function encodeFamily(adherentId: string, family: Family): OutgoingMessage<'counters-changelog'>[] {
  return encodeFamilyPieces(adherentId, family).messages;
}

/** `encodeFamily` with its pieces and their texts (the store's values). */
export function encodeFamilyPieces(adherentId: string, family: Family): ReturnType<typeof encodeChange> {
  return encodeChange(adherentId, { ...family, state: { ...family.state, lines: {} } }, ledgerChange(undefined, family.state), family.applied);
}

/**
 * What a piece is written as (the changelog record's value; its JSON text is the store's value): a
 * head as its object, a line piece as its tuple (line-piece.ts), whatever form it was read in; a
 * worker's `stamp` (record ids, input) written into the tuple rather than into the kernel's record.
 */
export function storedPiece(piece: LedgerPiece, stamp?: Stamp): Record<string, unknown> | unknown[] {
  return piece.piece === 'head' ? piece : lineTuple(piece.line, piece.seq, piece.record, piece.undo, stamp);
}

/**
 * A piece from a changelog value: its JSON text (earlier builds' records, the store's values) or the
 * JSON itself (the records written since session 16, parsed by the bus with the record), checked.
 * `key` is the piece key: a line tuple (since session 17) does not repeat its lineKey.
 */
export function decodeSnapshot(value: string | object, where: { partition: number; offset: number }, key?: string): LedgerPiece {
  let json: unknown = value;
  const bad = (why: string, cause?: unknown) => new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `counters-changelog[${where.partition}]@${where.offset}: ${why}`, { topic: 'counters-changelog', ...where, offset: String(where.offset) }, cause === undefined ? undefined : { cause });
  if (typeof value === 'string') {
    try {
      json = JSON.parse(value);
    } catch (cause) {
      throw bad('value is not JSON', cause);
    }
  }
  let parsed;
  if (isLineTuple(json)) {
    const line = key === undefined ? undefined : lineOfKey(key);
    if (line === undefined) throw bad(`a line piece under key ${key ?? '(none)'}, which names no line`);
    let piece;
    try {
      piece = linePieceOfTuple(line, json);
    } catch (cause) {
      throw bad(`not a ledger piece: ${(cause as Error).message}`);
    }
    parsed = LineOfTupleSchema.safeParse(piece);
  } else parsed = PieceObjectSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw bad(`not a ledger piece: ${why}`);
  }
  return parsed.data;
}

/** The family of a piece key (`A` or `A#lineKey`, as the piece's value says). */
export function familyOfPiece(key: string, piece: LedgerPiece): string {
  return piece.piece === 'head' ? key : key.slice(0, -(piece.line.length + 1));
}

/** The family of a piece key without its value (an adhérent id holds no `#`). */
export function familyOfKey(key: string): string {
  const hash = key.indexOf('#');
  return hash < 0 ? key : key.slice(0, hash);
}

/** The lineKey a line piece's key names (`<adhérent>#<lineKey>`); undefined for a head's key. */
export function lineOfKey(key: string): string | undefined {
  const hash = key.indexOf('#');
  return hash < 0 ? undefined : key.slice(hash + 1);
}

/** The record a line piece gives under a head of write number `headSeq` (undefined: no record). */
export function recordUnder(piece: LinePiece, headSeq: number): LineRecord | undefined {
  const r = piece.seq <= headSeq ? piece.record : piece.undo;
  return (r ?? undefined) as LineRecord | undefined;
}

/** A line piece is a left-over of an unfinished write: written above its head's (or without a head). */
export function unfinished(piece: LinePiece, head: Pick<HeadPiece, 'seq'> | undefined): boolean {
  return piece.seq > (head?.seq ?? 0);
}

/** The piece that undoes a left-over line piece: its previous record at the head's write number (null: remove the key). */
export function rollbackOf(piece: LinePiece, head: Pick<HeadPiece, 'seq'> | undefined): LinePiece | null {
  if (piece.undo === null || head === undefined) return null;
  return { v: LINE_PIECE_TAG, piece: 'line', line: piece.line, seq: head.seq, record: piece.undo, undo: piece.undo };
}

/** A family from its head and the line pieces found (only those wanted, or all): a piece newer than the head reads as its `undo`. */
export function assemble(head: HeadPiece, found: Iterable<LinePiece>): Family {
  const written: Lines = {};
  for (const piece of found) {
    const r = recordUnder(piece, head.seq);
    if (r !== undefined) written[piece.line] = r;
  }
  return { state: { counters: head.counters, renewals: head.renewals, lines: withLines({}, written) }, applied: head.applied, seq: head.seq, ...(head.outbox ? { outbox: head.outbox } : {}) };
}

/**
 * Rebuilds whole family ledgers by reading the changelog partitions to their end (the last piece
 * per key wins; `value: null` deletes). Reads outside any consumer group. Holds every family unless
 * `only` names the ones wanted (replay: the families of its range); the liquidation service uses
 * the bounded LedgerStore instead (ledger-store.ts).
 */
export async function loadFamilies(bus: Bus, only?: ReadonlySet<string>): Promise<Families> {
  const heads = new Map<string, HeadPiece>();
  const lines = new Map<string, Map<string, LinePiece>>();
  const families = new Map<string, string>();
  for (const { partition, low, high } of await bus.endOffsets('counters-changelog')) {
    if (high <= low) continue;
    for await (const batch of bus.readRange('counters-changelog', partition, { from: low, to: high })) {
      for (const r of batch) {
        const key = changelogKey(r);
        const { value } = r.value;
        if (value === null) {
          heads.delete(key);
          const family = families.get(key);
          if (family !== undefined) lines.get(family)?.delete(key);
          continue;
        }
        const piece = decodeSnapshot(value, { partition, offset: r.offset }, key);
        const family = familyOfPiece(key, piece);
        if (only && !only.has(family)) continue;
        if (piece.piece === 'head') heads.set(family, piece);
        else {
          families.set(key, family);
          let m = lines.get(family);
          if (!m) lines.set(family, (m = new Map()));
          m.set(key, piece);
        }
      }
    }
  }
  const out: Families = new Map();
  for (const [id, head] of heads) out.set(id, assemble(head, lines.get(id)?.values() ?? []));
  return out;
}

/**
 * What the pipeline keeps in a line's record beside the engine's fields (the engine neither reads
 * nor writes them, and builds each new version's record without them: the service stamps them on
 * every record that changed, `stampLines`):
 * - `recordIds`: the record ids (bus/messages.ts `recordId`) of the input records that made the
 *   line's record: an `I` published again after a crash of the ingestion (same drop, same record
 *   id) is recognised as applied even when its line has been annulled since — liquidated again it
 *   would reopen the annulled line. Carried over to every later version, the annulation's included.
 * - `input`: the act line of the current `I` version, its liquidation date and order of arrival
 *   (line-input.ts), what a re-liquidation decides again. Not kept on `A` records (never re-decided).
 * - `cause`: on a version a re-liquidation produced, why (the settlement's `reliquidation`).
 */
export type StoredLineRecord = LineRecord & { recordIds?: string[]; input?: LineInput; cause?: ReliquidationCause };

export function recordIdsOf(record: LineRecord | undefined): readonly string[] {
  return (record as StoredLineRecord | undefined)?.recordIds ?? [];
}

export function inputOf(record: LineRecord | undefined): LineInput | undefined {
  return (record as StoredLineRecord | undefined)?.input;
}

export interface LineStamp {
  recordIds?: readonly string[];
  input?: LineInput;
  cause?: ReliquidationCause;
}

export function causeOf(record: LineRecord | undefined): ReliquidationCause | undefined {
  return (record as StoredLineRecord | undefined)?.cause;
}

/**
 * Puts each line's pipeline fields into the records `change` writes, as new objects (the change may
 * share them with a state that lives on): re-liquidations. A worker's task does not stamp its
 * records: it writes the same fields into each record's stored tuple (liquidate-lines.ts
 * `encodeTaskLedgers`, line-piece.ts `lineTuple` with its stamp), the kernel's objects untouched.
 */
export function stampLines(change: LedgerChange, stamps: ReadonlyMap<string, LineStamp>): void {
  for (const [lineKey, stamp] of stamps) {
    if (!Object.hasOwn(change.lines, lineKey)) continue;
    const record: StoredLineRecord = { ...change.lines[lineKey]! };
    if (stamp.recordIds && stamp.recordIds.length > 0) record.recordIds = [...stamp.recordIds];
    if (stamp.input && record.operation === 'I') record.input = stamp.input;
    if (stamp.cause) record.cause = stamp.cause;
    change.lines[lineKey] = record;
  }
}
