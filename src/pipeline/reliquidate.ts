import type { ReliquidationRequest } from '../bus/messages.js';
import { lineRecord, stateKeyOf, withLine } from '../engine/state.js';
import type { EngineState, LineRecord } from '../engine/index.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { lineKeyOf, type ActLine } from '../model/act-line.js';
import type { Settlement } from '../model/settlement.js';
import { applyDelta, inputOf, recordIdsOf, slimState, stampLines, withLines, type LineStamp } from './ledgers.js';
import { byArrival, decodeLineInput, type LineInput } from './line-input.js';
import type { LiquidateTask, LiquidateTaskResult } from './pool-messages.js';
import { PipelineStageError } from './errors.js';

/**
 * One re-liquidation request applied to one family's ledger (README "Re-liquidation"): the lines it
 * names are decided again, in their order of arrival, each from the input its record keeps, with
 * the person as the membership knows them NOW and the current reference data, against the ledger
 * left by the previous ones. The engine's replay path does the accounting: a line's previous
 * version gives back what it consumed, the new decision consumes afresh, and a decision equal to
 * the recorded one is nothing new (liquidate-lines.ts). Only changed lines come back, each
 * settlement carrying the request's reason.
 *
 * Named lines: every `I` line whose care ends on or after `from` (a stay that straddles the date is
 * re-decided whole; re-deciding an unaffected line changes nothing), and every `I` line in review
 * or rejected whatever its date. Annulled lines are final and never re-decided.
 *
 * Handover (README "Re-liquidation", a line kept under a number its person never joins): a named
 * line this ledger only KEPT — its person unknown when it was decided, so it names this member
 * number and consumed nothing — whose person now belongs to another family is handed over: its
 * record here is marked `movedTo` (never named again), and a request for that family carries the
 * record (`handover`). That family's ledger takes the record as the line's current version when it
 * has none (a second copy of the handover finds it and adds nothing), then decides it like any
 * named line: version + 1, once, under the person's family.
 */
export interface FamilyReliquidation {
  /** the family's ledger after the request (same object when nothing changed) */
  state: EngineState;
  settlements: Settlement[];
  redecided: number;
  /** lines named but not decided again: no input kept, or the person now belongs to another family */
  skipped: number;
  /** lineKeys whose record changed (the line pieces written, each with its undo) */
  touched: string[];
  /** requests handing lines kept here over to their person's family: to produce BEFORE this ledger is written */
  handovers: ReliquidationRequest[];
}

/** A record the handover marks: the family the line went to. */
type KeptRecord = LineRecord & { movedTo?: string };

/** Kept only: decided while its person was unknown (under the number it names), nothing consumed. */
function onlyKept(familyId: string, record: KeptRecord, line: ActLine): boolean {
  return (record.status === 'review' || record.status === 'rejected') && line.amcMemberId === familyId && record.consumed.length === 0 && record.renewals.length === 0;
}

export async function reliquidateFamily(
  familyId: string,
  given: EngineState,
  request: ReliquidationRequest,
  beneficiaries: Pick<BeneficiaryIndex, 'byNirRang'>,
  runTask: (task: Omit<LiquidateTask, 'reference'>) => Promise<LiquidateTaskResult>,
): Promise<FamilyReliquidation> {
  let state = given;
  const named: { lineKey: string; record: LineRecord; input: LineInput; line: ActLine }[] = [];
  let skipped = 0;
  // Lines handed over by the ledger that kept them: this ledger's current version of each, unless it has one.
  const seeded: string[] = [];
  for (const [lineKey, record] of Object.entries(request.handover?.lines ?? {})) {
    if (lineRecord(state, lineKey) !== undefined) continue;
    const { movedTo: _movedTo, ...kept } = record as unknown as KeptRecord;
    state = { ...state, lines: withLine(state.lines, lineKey, kept) };
    seeded.push(lineKey);
  }
  for (const bucket of Object.values(state.lines)) {
    for (const [lineKey, record] of Object.entries(bucket)) {
      if (record.operation !== 'I' || (record as KeptRecord).movedTo !== undefined) continue;
      const input = inputOf(record);
      const stuck = record.status === 'review' || record.status === 'rejected';
      if (!input) {
        // Written before line records kept their input: cannot be decided again without it.
        if (stuck) skipped += 1;
        continue;
      }
      const line = decode(familyId, lineKey, input);
      if (stuck || line.careEnd >= request.from) named.push({ lineKey, record, input, line });
    }
  }
  named.sort((a, b) => byArrival(a.input, b.input));

  const chosen: typeof named = [];
  const requests: LiquidateTask['requests'] = [];
  const handedOver = new Map<string, Record<string, LineRecord>>();
  for (const item of named) {
    const beneficiary = beneficiaries.byNirRang(item.line.nir, item.line.rang) ?? null;
    const owner = stateKeyOf({ line: item.line, beneficiary: beneficiary ?? undefined });
    if (owner !== familyId) {
      // A line this ledger only kept goes to its person's family (marked here, carried by a request).
      if (onlyKept(familyId, item.record, item.line)) {
        const lines = handedOver.get(owner) ?? {};
        lines[item.lineKey] = item.record;
        handedOver.set(owner, lines);
        state = { ...state, lines: withLine(state.lines, item.lineKey, { ...item.record, movedTo: owner } as KeptRecord) };
        continue;
      }
      // A person now under another adhérent, decided here while a member of it: deciding the line
      // would write that family's ledger, which may live on another partition (another member's).
      // Left as it is, counted.
      skipped += 1;
      continue;
    }
    chosen.push(item);
    // A line handed over is decided under this family for the first time: a new version, even when its outcome is the same.
    requests.push({ line: item.line, beneficiary, asOf: item.input.at, ...(seeded.includes(item.lineKey) ? { newVersion: true } : {}) });
  }
  const handovers: ReliquidationRequest[] = [...handedOver].map(([adherentId, lines]) => ({
    requestId: `${request.requestId}:from:${familyId}`,
    adherentId,
    from: request.from,
    reason: request.reason,
    handover: { from: familyId, lines: lines as unknown as NonNullable<ReliquidationRequest['handover']>['lines'] },
  }));
  const moved = [...handedOver.values()].flatMap((lines) => Object.keys(lines));
  const written = [...seeded, ...moved];
  if (requests.length === 0) return { state, settlements: [], redecided: 0, skipped, touched: written, handovers };

  const result = await runTask({ requests, ledgers: { [familyId]: slimState(state, chosen.map((c) => c.lineKey)) } });
  const delta = result.ledgers[familyId];
  const settlements: Settlement[] = [];
  if (!delta) return { state, settlements, redecided: requests.length, skipped, touched: written, handovers };
  // The engine's new records do not carry the pipeline's fields: carry them over from the version replaced.
  const stamps = new Map<string, LineStamp>();
  result.outcomes.forEach((outcome, k) => {
    if (!outcome.changed) return;
    const { lineKey, record, input } = chosen[k]!;
    stamps.set(lineKey, { recordIds: recordIdsOf(record), input, cause: request.reason });
    settlements.push({ ...outcome.settlement, reliquidation: request.reason });
  });
  const change = applyDelta(state, delta);
  stampLines(change, stamps);
  const next: EngineState = { counters: change.counters, renewals: change.renewals, lines: withLines(state.lines, change.lines) };
  return { state: next, settlements, redecided: requests.length, skipped, touched: [...new Set([...Object.keys(change.lines), ...written])], handovers };
}

/** A stored input that does not decode, or decodes to another line, is a damaged ledger: stop rather than decide wrong. */
function decode(familyId: string, lineKey: string, input: LineInput): ActLine {
  let line: ActLine;
  try {
    line = decodeLineInput(input);
  } catch (cause) {
    throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `ledger of ${familyId}: the input kept for line ${lineKey} is not an act line: ${(cause as Error).message.slice(0, 300)}`, { topic: 'counters-changelog', lineKey }, { cause });
  }
  if (lineKeyOf(line) !== lineKey) throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `ledger of ${familyId}: the input kept for line ${lineKey} is line ${lineKeyOf(line)}`, { topic: 'counters-changelog', lineKey });
  return line;
}
