import { z } from 'zod';
import type { Bus, OutgoingMessage } from '../bus/bus.js';
import { partitionFor } from '../bus/topics.js';
import type { EngineState, LineRecord } from '../engine/index.js';
import { lineBucket } from '../engine/state.js';
import type { LedgerDelta } from './pool-messages.js';
import { PipelineStageError } from './errors.js';
import { ReliquidationCauseSchema, SettlementSchema, type ReliquidationCause, type Settlement } from '../model/settlement.js';
import { LineInputSchema, type LineInput } from './line-input.js';

/**
 * The liquidation service's state: one engine ledger per family (adhérent), persisted on
 * `counters-changelog` in PIECES, so that a change costs what changed, not the family's history:
 * a HEAD (counters, renewals, the watermark `applied`, and which version of each line bucket is
 * current) keyed `<adhérent>`, and up to 16 BUCKETS (the engine's `lines` buckets) keyed
 * `<adhérent>#<bucket>`. Compaction keeps the last value per piece key; every piece of a family
 * goes to the family's partition (partitionFor(adhérent)), so they are read back in write order.
 * Values: schemas/topics/ledger-snapshot.schema.json.
 *
 * `applied` is the watermark that makes redelivery harmless: per input topic-partition, the last
 * offset whose line is in this ledger (README "Exactly-once effect").
 *
 * The rule that keeps a half-written change harmless (README "State store"): a change publishes
 * its buckets BEFORE its head, in order on one partition (possibly over two produce calls). Each write bumps the head's
 * `seq`; a bucket carries the seq it was written at, and the head names, per bucket, the seq of the
 * version it belongs with. A bucket newer than its head (the crash fell between the bucket and the
 * head) is not state: it carries `undo` (the previous record, or null, of each line it changed),
 * which gives back the version the head knows. So the ledger read is always the last one whose head
 * was written, and the batch past its watermark is liquidated again against it.
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
  v: z.literal(2),
  piece: z.literal('head'),
  seq: Seq.meta({ description: 'write number of this family ledger (1 for the first)' }),
  counters: z.record(z.string(), z.string()),
  renewals: z.record(z.string(), z.array(RenewalEntrySchema)),
  buckets: z.record(z.string(), Seq).meta({ description: 'bucket → seq of its current version (a bucket piece with a higher seq is an unfinished write)' }),
  applied: z.record(z.string(), z.number().int().min(0)).meta({ description: '"<topic>:<partition>" → last input offset applied to this ledger' }),
  outbox: z.array(SettlementSchema).optional().meta({ description: 'the settlements a re-liquidation decided in this write, published AFTER it: whoever next handles the family (the redelivered request, or any next write) publishes them again before anything else (README "Re-liquidation")' }),
});
const BucketSchema = z.object({
  v: z.literal(2),
  piece: z.literal('bucket'),
  bucket: z.string().regex(/^[0-9a-f]$/),
  seq: Seq,
  lines: z.record(z.string(), LineRecordSchema),
  undo: z.record(z.string(), LineRecordSchema.nullable()).meta({ description: 'lineKey → its record before this write (null: absent): rolls back a bucket whose head was not written' }),
});

export const LedgerSnapshotSchema = z
  .discriminatedUnion('piece', [HeadSchema, BucketSchema])
  .meta({ title: 'Family ledger piece', description: 'value of a counters-changelog entry: the head of a family ledger (key = adhérent) or one of its line buckets (key = adhérent#bucket)' });

export type HeadPiece = z.infer<typeof HeadSchema>;
export type BucketPiece = z.infer<typeof BucketSchema>;
export type LedgerPiece = HeadPiece | BucketPiece;
type Lines = Record<string, LineRecord>;

/** A family ledger, whole (loadFamilies) or with only the buckets a batch needs (the service). */
export interface Family {
  state: EngineState;
  applied: Record<string, number>;
  /** the head's seq and bucket versions: a change is written relative to them */
  seq: number;
  stamps: Record<string, number>;
  /** settlements written with this head and published after it (a re-liquidation's): to publish again before the family's next write */
  outbox?: Settlement[];
}

export type Families = Map<string, Family>;

export const BUCKETS = '0123456789abcdef'.split('');
export const watermarkKey = (topic: string, partition: number) => `${topic}:${partition}`;
export const bucketKey = (adherentId: string, bucket: string) => `${adherentId}#${bucket}`;

/** What one liquidation changed in a family's ledger: the new head data and only the buckets that changed. */
export interface LedgerChange {
  counters: EngineState['counters'];
  renewals: EngineState['renewals'];
  buckets: Record<string, Lines>;
  /** lineKeys whose record was written (their previous records form the bucket's undo) */
  touched: string[];
}

/** The change between two states: the engine copies only the bucket it writes, so reference equality finds it. */
export function ledgerChange(before: EngineState | undefined, after: EngineState): LedgerChange {
  const buckets: Record<string, Lines> = {};
  const touched: string[] = [];
  for (const [b, lines] of Object.entries(after.lines)) {
    const old = before && Object.hasOwn(before.lines, b) ? before.lines[b] : undefined;
    if (old === lines) continue;
    buckets[b] = lines as Lines;
    for (const [k, r] of Object.entries(lines)) if (!old || !Object.hasOwn(old, k) || old[k] !== r) touched.push(k);
  }
  return { counters: after.counters, renewals: after.renewals, buckets, touched };
}

/** What crosses back from a pool task: the new records of the lines a change wrote, not their buckets. */
export function ledgerDelta(before: EngineState | undefined, after: EngineState): LedgerDelta {
  const change = ledgerChange(before, after);
  const lines: Record<string, LineRecord> = {};
  for (const k of change.touched) lines[k] = change.buckets[lineBucket(k)]![k]!;
  return { counters: change.counters, renewals: change.renewals, lines };
}

/**
 * A task's delta as a change of the family's ledger as the service holds it (`before`: its head
 * data and at least the buckets of the delta's lines): each touched bucket is the held one with
 * the new records put in (a line record is never removed, only replaced).
 */
export function applyDelta(before: EngineState | undefined, delta: LedgerDelta): LedgerChange {
  const buckets: Record<string, Lines> = {};
  const touched = Object.keys(delta.lines);
  for (const k of touched) {
    const b = lineBucket(k);
    const bucket = Object.hasOwn(buckets, b) ? buckets[b]! : (buckets[b] = { ...(before && Object.hasOwn(before.lines, b) ? before.lines[b] : {}) });
    bucket[k] = delta.lines[k]!;
  }
  return { counters: delta.counters, renewals: delta.renewals, buckets, touched };
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

/**
 * The changelog messages of one change, buckets first and the head last, on the family's
 * partition; and the family as it now is (holding the buckets it held plus the changed ones).
 */
export function encodeChange(adherentId: string, before: Family | undefined, change: LedgerChange, applied: Record<string, number>, outbox: readonly Settlement[] = []): { messages: OutgoingMessage<'counters-changelog'>[]; family: Family; pieces: [string, LedgerPiece][] } {
  const seq = (before?.seq ?? 0) + 1;
  const stamps = { ...(before?.stamps ?? {}) };
  const lines: Record<string, Readonly<Lines>> = { ...(before?.state.lines ?? {}) };
  const touched = new Set(change.touched);
  const pieces: [string, LedgerPiece][] = [];
  for (const [b, bucketLines] of Object.entries(change.buckets)) {
    const old = Object.hasOwn(lines, b) ? lines[b]! : {};
    const undo: Record<string, LineRecord | null> = {};
    for (const k of Object.keys(bucketLines)) if (touched.has(k)) undo[k] = Object.hasOwn(old, k) ? old[k]! : null;
    pieces.push([bucketKey(adherentId, b), { v: 2, piece: 'bucket', bucket: b, seq, lines: bucketLines as unknown as BucketPiece['lines'], undo: undo as unknown as BucketPiece['undo'] }]);
    lines[b] = bucketLines;
    stamps[b] = seq;
  }
  const head: HeadPiece = { v: 2, piece: 'head', seq, counters: { ...change.counters }, renewals: change.renewals as HeadPiece['renewals'], buckets: stamps, applied, ...(outbox.length > 0 ? { outbox: [...outbox] } : {}) };
  pieces.push([adherentId, head]);
  const partition = partitionFor(adherentId);
  const messages = pieces.map(([key, piece]) => ({ key, partition, value: { key, value: JSON.stringify(piece) } }));
  return { messages, pieces, family: { state: { counters: change.counters, renewals: change.renewals, lines }, applied, seq, stamps, ...(outbox.length > 0 ? { outbox: [...outbox] } : {}) } };
}

/** A family's outbox (the settlements its last re-liquidation wrote before publishing), as messages keyed like any settlement of the family. */
export function outboxOf(id: string, family: Family | undefined): OutgoingMessage<'settlements'>[] {
  return (family?.outbox ?? []).map((value) => ({ value, key: value.adherentId ?? id }));
}

/** A whole family written as one change (tests, tools): every bucket it holds, then its head. */
export function encodeFamily(adherentId: string, family: Family): OutgoingMessage<'counters-changelog'>[] {
  return encodeChange(adherentId, { ...family, state: { ...family.state, lines: {} } }, ledgerChange(undefined, family.state), family.applied).messages;
}

export function decodeSnapshot(text: string, where: { partition: number; offset: number }): LedgerPiece {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `counters-changelog[${where.partition}]@${where.offset}: value is not JSON`, { topic: 'counters-changelog', ...where, offset: String(where.offset) }, { cause });
  }
  const parsed = LedgerSnapshotSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `counters-changelog[${where.partition}]@${where.offset}: not a ledger piece: ${why}`, { topic: 'counters-changelog', ...where, offset: String(where.offset) });
  }
  return parsed.data;
}

/** The family of a piece key (`A` or `A#b`, as the piece's value says). */
export function familyOfPiece(key: string, piece: LedgerPiece): string {
  return piece.piece === 'head' ? key : key.slice(0, -(piece.bucket.length + 1));
}

/**
 * A family from its head and the bucket pieces found (only those wanted, or all): a bucket newer
 * than the head's stamp is an unfinished write, rolled back with its `undo`; an older one means
 * the changelog lost a write (never happens with ordered produces on one partition) and is refused.
 */
export function assemble(adherentId: string, head: HeadPiece, found: ReadonlyMap<string, BucketPiece>): Family {
  const lines: Record<string, Readonly<Lines>> = {};
  for (const [b, piece] of found) {
    const stamp = head.buckets[b];
    if (stamp === piece.seq) lines[b] = piece.lines as unknown as Lines;
    else if (stamp === undefined || piece.seq > stamp) {
      const back: Lines = { ...(piece.lines as unknown as Lines) };
      for (const [k, r] of Object.entries(piece.undo)) {
        if (r === null) delete back[k];
        else back[k] = r as unknown as LineRecord;
      }
      if (stamp !== undefined) lines[b] = back;
    } else {
      throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `ledger of ${adherentId}: bucket ${b} is at write ${piece.seq}, older than its head's ${stamp}`, { topic: 'counters-changelog' });
    }
  }
  return { state: { counters: head.counters, renewals: head.renewals, lines }, applied: head.applied, seq: head.seq, stamps: head.buckets, ...(head.outbox ? { outbox: head.outbox } : {}) };
}

/**
 * Rebuilds whole family ledgers by reading the changelog partitions to their end (the last piece
 * per key wins; `value: null` deletes). Reads outside any consumer group. Holds every family unless
 * `only` names the ones wanted (replay: the families of its range); the liquidation service uses
 * the bounded LedgerStore instead (ledger-store.ts).
 */
export async function loadFamilies(bus: Bus, only?: ReadonlySet<string>): Promise<Families> {
  const heads = new Map<string, HeadPiece>();
  const buckets = new Map<string, Map<string, BucketPiece>>();
  for (const { partition, low, high } of await bus.endOffsets('counters-changelog')) {
    if (high <= low) continue;
    for await (const batch of bus.readRange('counters-changelog', partition, { from: low, to: high })) {
      for (const r of batch) {
        const { key, value } = r.value;
        if (value === null) {
          heads.delete(key);
          const hash = key.lastIndexOf('#');
          if (hash > 0) buckets.get(key.slice(0, hash))?.delete(key.slice(hash + 1));
          continue;
        }
        const piece = decodeSnapshot(value, { partition, offset: r.offset });
        const family = familyOfPiece(key, piece);
        if (only && !only.has(family)) continue;
        if (piece.piece === 'head') heads.set(family, piece);
        else {
          let m = buckets.get(family);
          if (!m) buckets.set(family, (m = new Map()));
          m.set(piece.bucket, piece);
        }
      }
    }
  }
  const families: Families = new Map();
  for (const [id, head] of heads) families.set(id, assemble(id, head, buckets.get(id) ?? new Map()));
  return families;
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

/** Puts each line's pipeline fields into the changed records of `change` (new objects: the change may share them with a worker's state); each bucket is copied once. */
export function stampLines(change: LedgerChange, stamps: ReadonlyMap<string, LineStamp>, bucketOf: (lineKey: string) => string): void {
  const copied = new Set<string>();
  for (const [lineKey, stamp] of stamps) {
    const b = bucketOf(lineKey);
    const bucket = Object.hasOwn(change.buckets, b) ? change.buckets[b]! : undefined;
    if (!bucket || !Object.hasOwn(bucket, lineKey)) continue;
    const record: StoredLineRecord = { ...bucket[lineKey]! };
    if (stamp.recordIds && stamp.recordIds.length > 0) record.recordIds = [...stamp.recordIds];
    if (stamp.input && record.operation === 'I') record.input = stamp.input;
    if (stamp.cause) record.cause = stamp.cause;
    if (!copied.has(b)) {
      change.buckets[b] = { ...bucket };
      copied.add(b);
    }
    change.buckets[b]![lineKey] = record;
  }
}
