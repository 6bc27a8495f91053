import type { ReliquidationRequest } from '../bus/messages.js';
import { lineBucket, stateKeyOf } from '../engine/state.js';
import type { EngineState, LineRecord } from '../engine/index.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { lineKeyOf, type ActLine } from '../model/act-line.js';
import type { Settlement } from '../model/settlement.js';
import { applyDelta, inputOf, recordIdsOf, slimState, stampLines, type LineStamp } from './ledgers.js';
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
 */
export interface FamilyReliquidation {
  /** the family's ledger after the request (same object when nothing changed) */
  state: EngineState;
  settlements: Settlement[];
  redecided: number;
  /** lines named but not decided again: no input kept, or the person now belongs to another family */
  skipped: number;
  /** lineKeys whose record changed (a bucket's undo names these only) */
  touched: string[];
}

export async function reliquidateFamily(
  familyId: string,
  state: EngineState,
  request: ReliquidationRequest,
  beneficiaries: Pick<BeneficiaryIndex, 'byNirRang'>,
  runTask: (task: Omit<LiquidateTask, 'reference'>) => Promise<LiquidateTaskResult>,
): Promise<FamilyReliquidation> {
  const named: { lineKey: string; record: LineRecord; input: LineInput; line: ActLine }[] = [];
  let skipped = 0;
  for (const bucket of Object.values(state.lines)) {
    for (const [lineKey, record] of Object.entries(bucket)) {
      if (record.operation !== 'I') continue;
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
  for (const item of named) {
    const beneficiary = beneficiaries.byNirRang(item.line.nir, item.line.rang) ?? null;
    // A person now under another adhérent: deciding the line would write that family's ledger,
    // which may live on another partition (another member's). Left as it is, counted.
    if (stateKeyOf({ line: item.line, beneficiary: beneficiary ?? undefined }) !== familyId) {
      skipped += 1;
      continue;
    }
    chosen.push(item);
    requests.push({ line: item.line, beneficiary, asOf: item.input.at });
  }
  if (requests.length === 0) return { state, settlements: [], redecided: 0, skipped, touched: [] };

  const result = await runTask({ requests, ledgers: { [familyId]: slimState(state, chosen.map((c) => c.lineKey)) } });
  const delta = result.ledgers[familyId];
  const settlements: Settlement[] = [];
  if (!delta) return { state, settlements, redecided: requests.length, skipped, touched: [] };
  // The engine's new records do not carry the pipeline's fields: carry them over from the version replaced.
  const stamps = new Map<string, LineStamp>();
  result.outcomes.forEach((outcome, k) => {
    if (!outcome.changed) return;
    const { lineKey, record, input } = chosen[k]!;
    stamps.set(lineKey, { recordIds: recordIdsOf(record), input, cause: request.reason });
    settlements.push({ ...outcome.settlement, reliquidation: request.reason });
  });
  const change = applyDelta(state, delta);
  stampLines(change, stamps, lineBucket);
  const next: EngineState = { counters: change.counters, renewals: change.renewals, lines: { ...state.lines, ...change.buckets } };
  return { state: next, settlements, redecided: requests.length, skipped, touched: change.touched };
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
