import { Decimal } from 'decimal.js';
import type { Bus, BusRecord, OutgoingMessage } from '../bus/bus.js';
import { TRUSTED } from '../bus/bus.js';
import { lineRecord } from '../engine/index.js';
import { withLine } from '../engine/state.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { lineKeyOf } from '../model/act-line.js';
import type { ReliquidationCause, SettlementStatus } from '../model/settlement.js';
import { PipelineStageError } from './errors.js';
import { isLineTopic, LIQUIDATION_GROUP, type LineTopic } from './keys.js';
import { causeOf, encodeChange, inputOf, ledgerChange, outboxOf, recordIdsOf, type Family, type StoredLineRecord } from './ledgers.js';
import { encodeLineInput } from './line-input.js';
import { asOfTimestamp, liquidateLines, type Reference } from './liquidate-lines.js';
import { changelogLedgers, type FamilyLedgers } from './replay-ledgers.js';

/**
 * Ops replay of one partition range (after a grid correction, say): each line is liquidated again
 * with the CURRENT reference data against its family's current ledger, its own previous
 * consumption given back first (the engine does that for a lineKey it has seen: version + 1).
 * Only settlements whose decision changed are published, as new versions, with the changed
 * ledgers; the payment stage pays or recovers the difference. Reads with `readRange`, never
 * touching the live group's offsets. A second replay of the same range finds nothing changed.
 *
 * What is not replayed (listed in `skipped`): lines the service has not liquidated yet (at or past
 * its committed offset: it will, with the current grids), annulations and annulled lines (an
 * annulation is final; re-deciding the original would pay it again), lines without a known
 * beneficiary, and all but the last occurrence of a lineKey in the range (the ledger holds the last).
 *
 * Must not run beside a live liquidation service on the same ledgers (its cached ledgers would
 * overwrite the replay's snapshots): the embedded bus's lock enforces it; on Kafka, stop the service.
 */
export interface ReplayOptions {
  bus: Bus;
  topic: string;
  partition: number;
  /** an offset, or an ISO date/time (the first record at or after it) */
  from: number | string;
  /** first offset (or date) NOT replayed; default: the service's committed offset */
  to?: number | string;
  dryRun: boolean;
  beneficiaries: BeneficiaryIndex;
  reference: Reference;
  groupId?: string;
  /**
   * Where the touched families' ledgers are read (replay-ledgers.ts): the home's ledger store
   * brought up to the changelog's end (`storeLedgers`: the cost follows the range), or by default
   * the whole `counters-changelog` (`changelogLedgers`: the cost follows the topic's history).
   */
  ledgers?: FamilyLedgers;
}

export interface LineDiff {
  lineKey: string;
  offset: number;
  version: { from: number; to: number };
  amc: { from: string; to: string };
  status: { from: SettlementStatus; to: SettlementStatus };
  /** the version replaced was produced by a re-liquidation: its cause (settlement `reliquidation`) */
  replaces?: ReliquidationCause;
}

export interface ReplayResult {
  topic: LineTopic;
  partition: number;
  from: number;
  to: number;
  read: number;
  replayed: number;
  changed: LineDiff[];
  skipped: Record<string, number>;
  totals: { lines: number; amcBefore: string; amcAfter: string; delta: string };
  published: { settlements: number; snapshots: number };
}

export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  if (!isLineTopic(o.topic)) throw new PipelineStageError('PIPELINE_REPLAY_RANGE', `replay re-liquidates décompte or invoice lines: --topic must be decompte-lines or invoice-lines, got ${o.topic}`, { topic: o.topic });
  const topic = o.topic;
  const ends = (await o.bus.endOffsets(topic)).find((e) => e.partition === o.partition);
  if (!ends) throw new PipelineStageError('PIPELINE_REPLAY_RANGE', `${topic} has no partition ${o.partition}`, { topic, partition: o.partition });
  const committed = (await o.bus.committedOffsets(o.groupId ?? LIQUIDATION_GROUP, topic)).find((c) => c.partition === o.partition)?.offset ?? ends.low;
  const from = await resolveOffset(o.bus, topic, o.partition, o.from);
  const askedTo = o.to === undefined ? committed : await resolveOffset(o.bus, topic, o.partition, o.to);
  const to = Math.min(askedTo, committed);
  const skipped: Record<string, number> = {};
  const skip = (why: string, n = 1) => (skipped[why] = (skipped[why] ?? 0) + n);
  if (askedTo > committed) skip('not liquidated yet (past the committed offset)', askedTo - Math.max(from, committed));

  // First pass: the last offset of each lineKey in the range (the ledger's record is the last one's).
  const lastOf = new Map<string, number>();
  const range = () => (to > from ? o.bus.readRange(topic, o.partition, { from, to }) : emptyRange<LineTopic>());
  // And the families the range touches, with the range's lines of each: only those ledgers and
  // records are read (as the service reads a batch's), not the portfolio's nor a family's history.
  const wanted = new Map<string, Set<string>>();
  for await (const batch of range()) {
    for (const r of batch) {
      const lineKey = lineKeyOf(r.value.line);
      lastOf.set(lineKey, r.offset);
      const b = o.beneficiaries.byNirRang(r.value.line.nir, r.value.line.rang);
      if (!b) continue;
      let lines = wanted.get(b.adherentId);
      if (!lines) wanted.set(b.adherentId, (lines = new Set()));
      lines.add(lineKey);
    }
  }

  const families = await (o.ledgers ?? changelogLedgers(o.bus))(wanted);
  const touched = new Map<string, Family>();
  const changed: LineDiff[] = [];
  const settlements: OutgoingMessage<'settlements'>[] = [];
  let read = 0;
  let replayed = 0;
  let before = new Decimal(0);
  let after = new Decimal(0);
  for await (const batch of range()) {
    for (const r of batch) {
      read += 1;
      const { line } = r.value;
      const lineKey = lineKeyOf(line);
      const beneficiary = o.beneficiaries.byNirRang(line.nir, line.rang);
      const family = beneficiary ? (touched.get(beneficiary.adherentId) ?? families.get(beneficiary.adherentId)) : undefined;
      const previous = family ? lineRecord(family.state, lineKey) : undefined;
      if (line.operation === 'A') skip('annulation');
      else if (lastOf.get(lineKey) !== r.offset) skip('superseded later in the range');
      else if (!beneficiary || !family) skip('no ledger (unknown beneficiary or never liquidated)');
      else if (!previous) skip('not in the ledger');
      else if (previous.operation === 'A') skip('annulled');
      else {
        replayed += 1;
        const { outcomes, ledgers } = liquidateLines([{ line, beneficiary, asOf: asOfTimestamp(r.timestamp) }], o.reference, { [beneficiary.adherentId]: family.state });
        const { settlement, changed: isNew } = outcomes[0]!;
        if (!isNew) continue;
        let state = ledgers[beneficiary.adherentId];
        const ids = recordIdsOf(previous);
        const next = state && lineRecord(state, lineKey);
        // The engine's new record does not carry the pipeline's fields (ledgers.ts): the line's record
        // ids and its input (kept in its place of arrival) go over to the new version.
        const input = encodeLineInput(line, asOfTimestamp(r.timestamp), inputOf(previous)?.n ?? [family.seq + 1, 0]);
        if (state && next) state = { ...state, lines: withLine(state.lines, lineKey, { ...next, ...(ids.length > 0 ? { recordIds: [...ids] } : {}), input } as StoredLineRecord) };
        if (state) {
          // One change per family for the whole range: its line pieces' undo is against the ledger read.
          const base = families.get(beneficiary.adherentId)!;
          touched.set(beneficiary.adherentId, { ...base, state });
        }
        const cause = causeOf(previous);
        changed.push({ lineKey, offset: r.offset, version: { from: previous.version, to: settlement.version }, amc: { from: previous.amcAmount, to: settlement.amcAmount }, status: { from: previous.status, to: settlement.status }, ...(cause ? { replaces: cause } : {}) });
        before = before.plus(previous.amcAmount);
        after = after.plus(settlement.amcAmount);
        settlements.push({ value: settlement, key: settlement.adherentId ?? line.amcMemberId, headers: headersOf(r) });
      }
    }
  }
  const snapshots: OutgoingMessage<'counters-changelog'>[] = [];
  // A re-liquidation's settlements still in a family's outbox go out before the rewrite drops them.
  const outboxes = [...touched.keys()].flatMap((id) => outboxOf(id, families.get(id)));
  for (const [id, f] of touched) {
    const base = families.get(id)!;
    snapshots.push(...encodeChange(id, base, ledgerChange(base.state, f.state), base.applied).messages);
  }
  if (!o.dryRun) {
    // Settlements first, then ledgers: a crash between them replays to the same versions (README).
    for (let i = 0; i < outboxes.length; i += 500) await o.bus.produce('settlements', outboxes.slice(i, i + 500), TRUSTED);
    for (let i = 0; i < settlements.length; i += 500) await o.bus.produce('settlements', settlements.slice(i, i + 500), TRUSTED);
    for (let i = 0; i < snapshots.length; i += 200) await o.bus.produce('counters-changelog', snapshots.slice(i, i + 200), TRUSTED);
  }
  return {
    topic, partition: o.partition, from, to: Math.max(from, to), read, replayed, changed, skipped,
    totals: { lines: changed.length, amcBefore: before.toFixed(2), amcAfter: after.toFixed(2), delta: after.minus(before).toFixed(2) },
    published: o.dryRun ? { settlements: 0, snapshots: 0 } : { settlements: settlements.length, snapshots: snapshots.length },
  };
}

async function resolveOffset(bus: Bus, topic: LineTopic, partition: number, at: number | string): Promise<number> {
  if (typeof at === 'number') return at;
  if (/^\d+$/.test(at)) return Number(at);
  const ms = Date.parse(at);
  if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(ms)) throw new PipelineStageError('PIPELINE_REPLAY_RANGE', `"${at}" is neither an offset nor an ISO date`, { topic, partition });
  return bus.offsetForTime(topic, partition, ms);
}

function headersOf(r: BusRecord<LineTopic>) {
  const { file, entry, record } = r.headers;
  return { ...(file ? { file } : {}), ...(entry ? { entry } : {}), ...(record ? { record } : {}) };
}

async function* emptyRange<T extends LineTopic>(): AsyncGenerator<BusRecord<T>[]> {}
