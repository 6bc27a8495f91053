import { emptyState, lineRecord, LiquidationKernel, stateKeyOf, type EngineState, type LineRecord } from '../engine/index.js';
import { lineKeyOf, type ActLine } from '../model/act-line.js';
import type { IsoDate } from '../model/dates.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { Beneficiary, PmssTable } from '../model/reference.js';
import type { Settlement } from '../model/settlement.js';
import { changePieces, inputOf, ledgerChange, ledgerDelta, recordIdsOf, storedPiece, withLines, type HeadPiece, type LineStamp } from './ledgers.js';
import { encodeLineInput } from './line-input.js';
import { changelogRecordJson } from '../bus/messages.js';
import type { LedgerWrite, LiquidateTask, LiquidateTaskResult, TaskPiece, WrittenLines } from './pool-messages.js';
import { utf8Views } from './task-bytes.js';
import { SettlementSums } from '../model/settlement-sums.js';
import { unpackRaw, unpackRequests } from './task-lines.js';

/**
 * The per-line loop run in a worker (and in-process by replay): the engine's `liquidateAll`, plus
 * the "nothing new" rule. A line whose lineKey the family's ledger already holds and whose new
 * decision is the same — same inputHash, or the same outcome (status, amounts, payee, parts) and the
 * same consumption — publishes nothing and leaves the ledger as it was: that is how a line sent
 * twice, or a replay after a grid change that does not touch it, costs nothing downstream.
 * Pure (no I/O): the caller brings reference data and ledgers.
 */
export interface Reference {
  grids: GridSet;
  nomenclature: Nomenclature;
  pmss: PmssTable;
}

export interface LineRequest {
  line: ActLine;
  beneficiary: Beneficiary | null;
  /** the engine's liquidation date: the input record's bus timestamp, as a UTC date (README "asOf") */
  asOf: IsoDate;
  /** a new version even when the decision equals the recorded one: a line handed over to its person's family (reliquidate.ts), whose settlement now names that family */
  newVersion?: boolean;
}

export interface LineOutcome {
  settlement: Settlement;
  /** false: identical to the version already recorded, not to publish */
  changed: boolean;
  /** the ledger's record of this lineKey before the line (undefined: first time) */
  previous?: LineRecord;
}

/**
 * One kernel per reference data object (a worker keeps one per version): the integer-cent kernel
 * decides first-time initial lines, the decimal engine everything else (src/engine/kernel; the two
 * give the same settlements and ledgers, test/engine/kernel.test.ts on 100 000 lines).
 */
const kernels = new WeakMap<Reference, LiquidationKernel>();
function kernelOf(reference: Reference): LiquidationKernel {
  let kernel = kernels.get(reference);
  if (kernel === undefined) kernels.set(reference, (kernel = new LiquidationKernel(reference)));
  return kernel;
}

/**
 * `written`: each changed line's settlement is handed to it as soon as decided, and its outcome
 * keeps no settlement (only `changed` and `previous`): a task's
 * settlements — ≈ 40 small objects each — are then garbage at once instead of living through the
 * rest of the task (a worker's young generation copied them at every scavenge).
 */
export function liquidateLines(requests: readonly LineRequest[], reference: Reference, ledgers: Readonly<Record<string, EngineState>>): { outcomes: LineOutcome[]; ledgers: Record<string, EngineState> };
export function liquidateLines(
  requests: readonly LineRequest[],
  reference: Reference,
  ledgers: Readonly<Record<string, EngineState>>,
  written: (settlement: Settlement, k: number) => void,
): { outcomes: Omit<LineOutcome, 'settlement'>[]; ledgers: Record<string, EngineState> };
export function liquidateLines(
  requests: readonly LineRequest[],
  reference: Reference,
  ledgers: Readonly<Record<string, EngineState>>,
  written?: (settlement: Settlement, k: number) => void,
): { outcomes: (LineOutcome | Omit<LineOutcome, 'settlement'>)[]; ledgers: Record<string, EngineState> } {
  const changedLedgers: Record<string, EngineState> = {};
  const current = (key: string): EngineState => (Object.hasOwn(changedLedgers, key) ? changedLedgers[key]! : Object.hasOwn(ledgers, key) ? ledgers[key]! : emptyState());
  const outcomes: (LineOutcome | Omit<LineOutcome, 'settlement'>)[] = [];
  const kernel = kernelOf(reference);
  // A line with no record yet (most of a drop) is always new: its state is always kept, so the
  // kernel may write it in place, copy-on-write once per family for the call (`exclusive`: the
  // given ledgers are copied, never changed), where `liquidate` copies the touched maps every
  // line. A line with a record may turn out unchanged, its new state then dropped: it gets a copy.
  const exclusive = kernel.exclusive();
  for (const r of requests) {
    const request = { line: r.line, beneficiary: r.beneficiary ?? undefined };
    const key = stateKeyOf(request);
    const before = current(key);
    const lineKey = lineKeyOf(r.line);
    const previous = lineRecord(before, lineKey);
    const { settlement, state } = previous === undefined ? exclusive(request, r.asOf, before) : kernel.liquidate(request, r.asOf, before);
    if (previous && !r.newVersion && sameDecision(previous, lineRecord(state, lineKey), settlement)) {
      outcomes.push(written ? { changed: false, previous } : { settlement, changed: false, previous });
      continue;
    }
    changedLedgers[key] = state;
    if (written) {
      written(settlement, outcomes.length);
      outcomes.push(previous ? { changed: true, previous } : { changed: true });
      continue;
    }
    outcomes.push(previous ? { settlement, changed: true, previous } : { settlement, changed: true });
  }
  return { outcomes, ledgers: changedLedgers };
}

/**
 * One pool task (worker side, or in-thread): what crosses back is each changed ledger's counters,
 * renewals and the records of the lines it wrote (found by reference before the structured clone
 * loses identity), and each line's settlement and whether it is new.
 */
export function liquidateTask(task: LiquidateTask, reference: Reference): LiquidateTaskResult {
  if (task.packed) {
    task.requests = unpackRequests(task.packed);
    delete task.packed;
  } else if (task.raw) {
    // Raw lines' record ids are read from their messages here (pool-messages.ts LedgerWrite.recordIds).
    const recordIds = task.write && task.write.recordIds === undefined ? (task.write.recordIds = []) : undefined;
    task.requests = unpackRaw(task.raw, recordIds);
    delete task.raw;
  }
  openLedgers(task);
  if (task.write) {
    // The new settlements' JSON made here, off the service's thread, as each is decided; it crosses
    // back by column (pool-messages.ts WrittenLines): the texts back to back in a buffer the worker
    // transfers (task-bytes.ts), each one's end, which lines are new, and the metrics' sums — no
    // object per line. The ledger pieces' texts as UTF-8 views: what the bus writes in the first
    // buffer, after the settlements, the line pieces' texts the store stages until its flush in
    // another, so that a staged piece keeps alive no more than the staged texts (its bound counts
    // their bytes).
    const sent: string[] = [];
    const kept: string[] = [];
    const sums = new SettlementSums();
    const { outcomes, ledgers } = liquidateLines(task.requests, reference, task.ledgers, (s) => {
      sent.push(JSON.stringify(s));
      sums.add(s.status, s.operation, s.amcAmount);
    });
    const settlements = sent.length;
    const changed = new Uint8Array(outcomes.length);
    for (let k = 0; k < outcomes.length; k++) if (outcomes[k]!.changed) changed[k] = 1;
    const pieces = encodeTaskLedgers(task, task.write, outcomes, ledgers);
    // per piece: its text's slot in `kept` (a head's text stays a string: -1) and its record's in `sent`
    const pieceSlots: Record<string, [number, number][]> = {};
    for (const family in pieces) pieceSlots[family] = pieces[family]!.map(([key, text, json]) => [key === family ? -1 : kept.push(text as string) - 1, sent.push(json as string) - 1]);
    const out = utf8Views(sent);
    const stored = utf8Views(kept);
    for (const family in pieces) {
      const slotsOf = pieceSlots[family]!;
      pieces[family]!.forEach((piece, i) => {
        const [text, json] = slotsOf[i]!;
        if (text >= 0) piece[1] = stored.views[text]!;
        piece[2] = out.views[json]!;
      });
    }
    const written: WrittenLines = { changed, ends: out.ends.slice(0, settlements), sums: sums.sums() };
    return { outcomes: [], written, ledgers: {}, pieces, bytes: [out.buffer, stored.buffer] };
  }
  const { outcomes, ledgers } = liquidateLines(task.requests, reference, task.ledgers);
  const changes: LiquidateTaskResult['ledgers'] = {};
  for (const [id, state] of Object.entries(ledgers)) changes[id] = ledgerDelta(Object.hasOwn(task.ledgers, id) ? task.ledgers[id] : undefined, state);
  return { outcomes: outcomes.map(({ settlement, changed }) => ({ settlement, changed })), ledgers: changes };
}

/**
 * A task of the service carries its families' heads as the store's text (pool-messages.ts
 * `heads`): parsed here, in the worker, into the ledgers the engine reads. Our own writes, read
 * without zod (the store checked them when it read them from the changelog).
 */
export function openLedgers(task: LiquidateTask): void {
  if (!task.heads) return;
  for (const [id, { head, lines }] of Object.entries(task.heads)) {
    const parsed = JSON.parse(head) as HeadPiece;
    task.ledgers[id] = { counters: parsed.counters, renewals: parsed.renewals, lines: withLines({}, lines) };
  }
  delete task.heads;
}

/**
 * A batch's ledger writes, done where the lines were decided (the worker: the service's thread
 * only appends the text): every changed record is written with the pipeline's fields — the record
 * ids of the input records that made it, and for an `I` its input with its order of arrival — put
 * into its stored tuple as it is written (line-piece.ts `lineTuple`; stamping them into the
 * kernel's records, as ledgers.ts `stampLines` does, gave those objects new hidden classes and cost
 * ≈ 12 % more of a worker's task, bench/README.md "Session 17 — pieces"); each changed family is
 * encoded as its changelog pieces (line records, then the head at the next write number with the
 * batch's watermarks).
 */
export function encodeTaskLedgers(task: LiquidateTask, write: LedgerWrite, outcomes: readonly Pick<LineOutcome, 'changed'>[], ledgers: Readonly<Record<string, EngineState>>): Record<string, TaskPiece[]> {
  const stamps = new Map<string, Map<string, LineStamp & { recordIds: string[] }>>();
  task.requests.forEach((r, k) => {
    if (!outcomes[k]!.changed) return;
    const family = stateKeyOf({ line: r.line, beneficiary: r.beneficiary ?? undefined });
    const lineKey = lineKeyOf(r.line);
    const recordId = write.recordIds?.[k] ?? undefined;
    let ofFamily = stamps.get(family);
    if (!ofFamily) stamps.set(family, (ofFamily = new Map()));
    // The record before the batch (the task carries it): its record ids and place are kept.
    const recorded = Object.hasOwn(task.ledgers, family) ? lineRecord(task.ledgers[family]!, lineKey) : undefined;
    let stamp = ofFamily.get(lineKey);
    if (!stamp) ofFamily.set(lineKey, (stamp = { recordIds: [...recordIdsOf(recorded)] }));
    if (recordId !== undefined && !stamp.recordIds.includes(recordId)) stamp.recordIds.push(recordId);
    // Order of arrival: a line keeps the place of its first record; a new one takes
    // [this family write's number, its position in the batch].
    const n = inputOf(recorded)?.n ?? stamp.input?.n ?? [(write.seqs[family] ?? 0) + 1, write.positions[k]!];
    stamp.input = r.line.operation === 'I' ? encodeLineInput(r.line, r.asOf, n) : undefined;
  });
  const out: Record<string, TaskPiece[]> = {};
  for (const [id, state] of Object.entries(ledgers)) {
    const before = Object.hasOwn(task.ledgers, id) ? task.ledgers[id]! : undefined;
    const change = ledgerChange(before, state);
    // the pipeline's fields go into each record's tuple as it is written (line-piece.ts), not into the kernel's records
    const stampsOf = stamps.get(id);
    const pieces = changePieces(id, { state: before ?? emptyState(), seq: write.seqs[id] ?? 0 }, change, write.applied[id] ?? {});
    // The changelog record's JSON made here too: the service produces it as it is (pool-messages.ts
    // TaskPiece). No message objects (the service keys and partitions them). The piece's text goes
    // into the record as it is (bus/messages.ts: JSON in JSON, keyed by the record's key), not
    // stringified a second time and escaped as earlier builds did.
    const texts: TaskPiece[] = new Array(pieces.length);
    for (let i = 0; i < pieces.length; i++) {
      const [key, piece] = pieces[i]!;
      // a line piece as its tuple (line-piece.ts: no field names, the lineKey not repeated), a head as its object
      const text = JSON.stringify(storedPiece(piece, piece.piece === 'line' ? stampsOf?.get(piece.line) : undefined));
      texts[i] = [key, text, changelogRecordJson(text)];
    }
    out[id] = texts;
  }
  return out;
}

function sameDecision(previous: LineRecord, next: LineRecord | undefined, s: Settlement): boolean {
  if (!next || previous.operation !== next.operation) return false;
  if (previous.inputHash !== '' && previous.inputHash === s.inputHash) return true;
  const parts = (p: LineRecord['parts']) => JSON.stringify(p.map(({ contract, amount, rule }) => [contract, amount, rule ?? null]));
  return (
    previous.status === next.status &&
    previous.amcAmount === next.amcAmount &&
    previous.restToPay === next.restToPay &&
    previous.payee === next.payee &&
    parts(previous.parts) === parts(next.parts) &&
    JSON.stringify(previous.consumed) === JSON.stringify(next.consumed) &&
    JSON.stringify(previous.renewals.map((r) => [r.key, r.entry.date, r.entry.units])) === JSON.stringify(next.renewals.map((r) => [r.key, r.entry.date, r.entry.units]))
  );
}

/** The engine's date from a bus timestamp: UTC, so every machine derives the same date from a record. */
export function asOfTimestamp(timestamp: number): IsoDate {
  return new Date(timestamp).toISOString().slice(0, 10);
}
