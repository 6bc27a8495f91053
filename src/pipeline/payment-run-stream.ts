import { moneyOfCents } from '../model/cents.js';
import type { PaymentLine, PaymentOrder, PaymentOrderHead } from '../model/payment.js';
import { endToEndId } from '../payments/end-to-end.js';
import { runDirOf } from '../payments/execute.js';
import { runIntent, type RunIntent } from '../payments/intent.js';
import { assembleRunReport, repaidMarksOf, type CarriedBlocked, SettledTotals, settledLineOf, settledRowOf, settledTupleOf, type RepaidMark, type RunReport, type SettledLine, type WithheldLine } from '../payments/report.js';
import { transferRecordOf } from '../payments/returns.js';
import { DEFAULT_LIMITS } from '../payments/controls.js';
import { factsChanged, parkableHold, parkedLinesOf, parkedByLineOf, parkedHeldOf, parkedOf, payeeFactsOf, wokenClosure, type ParkedPayee } from '../payments/parked.js';
import { add, cents, checkRun, decidePayee, keptReturns, movementsOf, orderWithLines, resolveHeld, runDecisionState } from '../payments/run.js';
import { planSepaFiles } from '../payments/sepa/files.js';
import type { DebtorAccount, PartyId } from '../payments/sepa/pain001.js';
import type { Approval, Blocked, Held, LineLedger, LineReturn, Pending, ReturnBlock, RunInput } from '../payments/types.js';
import { blockedShown, type LineBlocked, type LineRun } from '../statement/payment.js';
import { compositeKey } from '../state/kv-store.js';
import type { LevelSubStore } from '../state/level-store.js';
import { chunkKey, DueKeys, dueSetIdsOf, REPORT_LINES_PER_KEY, withLineRun, type PaymentsStore, type RunKeys, type StoredMove, type StoredOps } from './payments-store.js';

/**
 * A payment run decided and applied by streaming its due lines, so that its memory follows its
 * payees, not its lines (issue 12; bench/README.md "Session 8 — payment run"). The orders, their
 * EndToEndIds, the files and the ledger after the run are exactly those of the in-memory run
 * (src/payments/run.ts `runPayments`, which the dry run still uses): the per-payee decision is the
 * same function (`decidePayee`), fed with sums instead of lists.
 *
 *   1. scan    the due keys in slices of `sliceLines` (key order = lineKey order), one batch per
 *              slice: each line's report row to `payments.report-lines/<runId>␟<n>`, its movements
 *              to `payments.run-move/<payee>␟<lineKey>` (LevelDB appends them and sorts them in
 *              its own compactions); in memory, per payee, only its sum, line
 *              count and care period (and the rare bank-return marks of its lines), plus the
 *              pending and withheld lines the report lists. Nothing of the ledger changes.
 *   2. decide  payee by payee in payee order (the run's ceiling is first fit in that order): the
 *              EndToEndId hashes the payee's movements, read back from `run-move` (one payee's
 *              lines at a time), sorted as strings as `endToEndId` always did.
 *   3. record  ONE commit: the run, the payees' debts, held orders, approvals, return blocks, the
 *              per-payee outcomes (`payments.run-payee/<payee>`: the order's head, or blocked /
 *              held), the report without its rows, the intent (order heads), the EndToEndIds
 *              reserved in the handed-over index, and `payments.pending/apply`: the cursor.
 *   4. apply   the due keys again, in slices, each in its own batch WITH the cursor's advance:
 *              `paid`, the line-run record, the blocked mark, the due mark, the returns cleared,
 *              the statements' dirty marks — each line's movements computed again from the line,
 *              which nothing else changes until the cursor is at its end (the stage applies a
 *              recorded run before anything else; a bank return file first completes it). Then the
 *              transfer records, per order, in slices too. Then the cursor is removed.
 *   5. files   pain.001 from the heads; orders.ndjson, the topic and the report's rows read back
 *              from `run-move` and `report-lines`, a payee / a chunk at a time.
 * A crash in 1–2 leaves only scratch keys (cleared by the next scan); from 3 on the run is decided
 * for good and a restart resumes 4 at the cursor, then writes the files (the crash argument in
 * src/pipeline/README.md, "The payment run, streamed"). The state is the home's LevelDB (session
 * 11): every step that reads before it writes is one `level.update` (its range reads are async;
 * no other commit of the process runs between the reads and the batch).
 */

/**
 * Lines per slice of the scan and of the apply: one synced batch each. 16 384 since session 9,
 * chosen for LMDB (whose commits re-wrote the B-tree pages their keys fell in: 4 096 wrote 1 313 MB
 * at 100 k lines, 16 384 913 MB; bench/README.md, "Session 9 — payments"); in LevelDB a batch
 * appends its keys, the size only bounds the batch held in memory and the fsyncs per run.
 */
export const DEFAULT_SLICE_LINES = 16384;

/** The apply cursor (`payments.pending/apply`): the run being applied and how far. */
export interface ApplyCursor {
  runId: string;
  at: string;
  /**
   * the due lines, then the parked lines the run decided again (`payments.run-parked`, session 24:
   * a cursor recorded before goes from 'lines' to 'parked', which finds none), then the transfers
   */
  phase: 'lines' | 'parked' | 'transfers';
  /** the last key applied (a due lineKey, a parked lineKey, then a payee); null before the first */
  after: string | null;
  /**
   * the consumed batches' due sets the run's scan read (`payments.due-set` ids, DueKeys): the
   * apply reads the same due set, and its last line slice removes them (none: a cursor recorded
   * before session 20, whose due set was the per-line marks alone)
   */
  dueSets?: string[];
  /**
   * how many `payments.run-ops` chunks the scan wrote (its operator payments per line, session 21):
   * the apply reads them instead of the lines' claim lists and claims (none: a cursor recorded
   * before, whose apply reads those)
   */
  operatorChunks?: number;
}

export interface StreamedRunOptions extends RunInput {
  outDir: string;
  executionDate: string;
  initiatingParty: string;
  initiatingPartyId?: PartyId | null;
  debtorOf: (order: PaymentOrder | PaymentOrderHead) => DebtorAccount;
  sliceLines?: number;
  /** after each scan slice's batch (the crash tests stop there: NOEMIE_CRASH_AT=scan-slice) */
  onScanSlice?: () => void;
}

/** The intent of a streamed run: its orders without their lines (read back from the store when written). */
export type StreamedIntent = Omit<RunIntent, 'orders'> & { orders: PaymentOrderHead[] };

export interface StreamedDecision {
  runId: string;
  at: string;
  orders: PaymentOrderHead[];
  blocked: Blocked[];
  held: Held[];
  pending: Pending[];
  intent: StreamedIntent | null;
  /** the report without its rows (in `payments.report-lines`, `settledLineKeys` chunks of them) */
  report: RunReport;
  settledLineKeys: number;
  /** the due sets the scan read (ApplyCursor.dueSets) */
  dueSets: string[];
  /** the `payments.run-ops` chunks the scan wrote (ApplyCursor.operatorChunks) */
  operatorChunks: number;
  /** the parked payees after the run (parked.ts): this run's blocked ones put, the woken ones it paid or held removed */
  parked: { put: [string, ParkedPayee][]; remove: string[] };
  /** what the record commit writes besides the outcomes */
  after: { debts: Record<string, string>; held: Record<string, Held>; approvals: Record<string, Approval>; returnBlocks: Record<string, ReturnBlock> };
  before: { debts: Record<string, string>; held: Record<string, Held>; approvals: Record<string, Approval>; returnBlocks: Record<string, ReturnBlock>; returnsToReport: Record<string, LineReturn> };
}


interface PayeeTotals {
  sum: number;
  lineCount: number;
  careFrom: string | undefined;
  careTo: string | undefined;
  /** a line without a care date: the order has no care period */
  careMissing: boolean;
  /** the bank-return marks of its lines (re-payments in the report) */
  marks: RepaidMark[] | undefined;
}

const SCAN = 'scan';
const APPLY = 'apply';

const NO_OPERATOR = { byPayee: undefined, total: 0 } as const;

/**
 * The operator's payments of a slice's lines, per line (operatorOf's), read at once: the lines'
 * claim lists, then their claims (LevelSubStore.getMany: two round trips to the thread pool, where
 * point reads are a native call each on the main thread).
 */
async function operatorsOf(keys: RunKeys, lineKeys: readonly string[]): Promise<{ byPayee: Map<string, number> | undefined; total: number }[]> {
  const lists = await keys.lineOperators.getMany(lineKeys);
  const claims = [...new Set(lists.flatMap((l) => l ?? []))];
  const payments = await keys.operator.getMany(claims);
  const paymentOf = new Map(claims.map((c, i) => [c, payments[i]]));
  return lists.map((list) => {
    if (list === undefined) return NO_OPERATOR;
    const byPayee = new Map<string, number>();
    let total = 0;
    for (const c of list) {
      const p = paymentOf.get(c);
      if (p === undefined) continue;
      byPayee.set(p.payee, add(byPayee.get(p.payee) ?? 0, cents(p.amount)));
      total = add(total, cents(p.amount));
    }
    return { byPayee, total };
  });
}

/** One payee's movements, in lineKey order, as the run recorded them (one range read: the payee's own keys). */
async function movesOf(keys: RunKeys, payee: string): Promise<{ line: PaymentLine; returns: number }[]> {
  return (await keys.runMoves.entriesIn(compositeKey(payee, ''))).map(([k, [version, amount, returns]]) => ({ line: { lineKey: k.slice(payee.length + 1), version, amount: moneyOfCents(amount) }, returns }));
}

type Moves = { line: PaymentLine; returns: number }[];

/**
 * One walk of `payments.run-move` in key order (payee, then lineKey), handing out each payee's
 * movements in turn: the run reads them payee by payee, in payee order, four times (the decision,
 * the transfer records, orders.ndjson, the topic). A range read per payee was one iterator and one
 * async round trip to LevelDB's thread each (≈ 4 000 payees × 4 at 100 k lines); one walk reads
 * them in chunks. The payees asked for must come in key order (payee order: `payee␟…` keys sort as
 * the payees do, for the `ps:` / `member:` ids, which never hold a character below the separator);
 * a payee the walk has gone past or does not reach is read on its own, so a different order costs
 * time, never a wrong answer.
 */
class MoveWalk {
  private readonly chunks: AsyncGenerator<[string, StoredMove][]>;
  private buffer: [string, StoredMove][] = [];
  private at = 0;
  private ended = false;

  constructor(
    private readonly keys: RunKeys,
    from: string | null = null,
  ) {
    this.chunks = keys.runMoves.walk(from === null ? null : compositeKey(from, ''));
  }

  /**
   * The next entry not taken yet (undefined at the end of the walk), read from LevelDB. The
   * callers take entries from the chunk in hand synchronously and come here only when it is used
   * up: an `await` per entry (100 000 movements, four walks a run) was a promise and a
   * continuation each, most of the walks' allocation (bench/README.md, "Session 13 — payments").
   */
  private async refill(): Promise<[string, StoredMove] | undefined> {
    while (this.at >= this.buffer.length) {
      if (this.ended) return undefined;
      const next = await this.chunks.next();
      if (next.done === true) {
        this.ended = true;
        return undefined;
      }
      this.buffer = next.value;
      this.at = 0;
    }
    return this.buffer[this.at];
  }

  async movesOf(payee: string): Promise<Moves> {
    const prefix = compositeKey(payee, '');
    let e = this.at < this.buffer.length ? this.buffer[this.at] : await this.refill();
    // the payees before this one that nobody asks for (blocked and held payees, for the orders)
    while (e !== undefined && e[0] < prefix && !e[0].startsWith(prefix)) {
      this.at += 1;
      e = this.at < this.buffer.length ? this.buffer[this.at] : await this.refill();
    }
    if (e === undefined || !e[0].startsWith(prefix)) return movesOf(this.keys, payee);
    const out: Moves = [];
    const from = prefix.length;
    while (e !== undefined && e[0].startsWith(prefix)) {
      const [version, amount, returns] = e[1];
      out.push({ line: { lineKey: e[0].slice(from), version, amount: moneyOfCents(amount) }, returns });
      this.at += 1;
      e = this.at < this.buffer.length ? this.buffer[this.at] : await this.refill();
    }
    return out;
  }

  async close(): Promise<void> {
    await this.chunks.return(undefined);
  }
}

/**
 * Removes a streamed run's scratch keys (movements, outcomes): range clears, not one step — safe
 * because the scratch is dead whenever this runs (before a scan's marker, after the intent is
 * cleared): nothing reads it until the next run's record, and that run's scan clears it first.
 */
export async function clearRunScratch(store: PaymentsStore): Promise<void> {
  const keys = store.runKeys();
  for (const sub of [keys.runMoves, keys.runPayees, keys.runOps, keys.runParked] as LevelSubStore<unknown>[]) await sub.clear();
}

/**
 * Steps 1–2: scans the due lines and decides the run (nothing of the ledger written; the scratch
 * and the report's rows are). Null when the run id has run already.
 */
export async function decideStreamedRun(store: PaymentsStore, options: StreamedRunOptions): Promise<StreamedDecision | null> {
  const at = checkRun(options);
  const keys = store.runKeys();
  if (keys.runs.has(options.runId)) return null;
  const slice = options.sliceLines ?? DEFAULT_SLICE_LINES;
  // what an interrupted scan left: its report rows (under its run id, never recorded) and the scratch
  const left = keys.pendingRun.get(SCAN) as { runId: string } | undefined;
  if (left !== undefined && !keys.runs.has(left.runId)) await removeReportRows(store, left.runId);
  await removeReportRows(store, options.runId);
  await clearRunScratch(store);
  await keys.level.commit(() => keys.pendingRun.put(SCAN, { runId: options.runId } as never));

  // ---- 1. scan ----
  const payees = new Map<string, PayeeTotals>();
  const pending: Pending[] = [];
  const withheld: WithheldLine[] = [];
  const totals = new SettledTotals();
  let rows: SettledLine[] = [];
  let chunks = 0;
  let operatorChunks = 0;
  // what the decision reads besides the lines, read before the scan: the parked payees woken by a
  // change of their account, return block or debt (parked.ts) are known before their lines are read
  const before = {
    debts: Object.fromEntries(await keys.debts.entriesIn()), held: Object.fromEntries(await keys.held.entriesIn()), approvals: Object.fromEntries(await keys.approvals.entriesIn()),
    returnBlocks: Object.fromEntries(await keys.returnBlocks.entriesIn()), returnsToReport: Object.fromEntries(await keys.returnsToReport.entriesIn()),
  };
  // one entry per blocked payee (their line lists: keys, not the lines)
  const parked = new Map(await keys.parked.entriesIn());
  const parkedByLine = parkedByLineOf(parked);
  const factsOf = (payee: string) => payeeFactsOf(options.accounts, before, payee);
  const woken = new Set<string>();
  const maxOrder = (options.limits ?? DEFAULT_LIMITS).maxOrder;
  for (const [payee, p] of parked) if (factsChanged(p, factsOf(payee), { maxOrder, approved: Object.hasOwn(before.approvals, payee) })) woken.add(payee);
  // the parked lines the due set named (a line of theirs due again: its payees are woken, and the
  // line is not read twice)
  const scanned = new Set<string>();
  /** one slice's lines into the payees' totals, the report's rows and the movements (the scratch the decision reads back) */
  const scanSlice = (dueKeys: readonly string[], lines: readonly (LineLedger | undefined)[], operators: readonly { byPayee: Map<string, number> | undefined; total: number }[], moves: [string, StoredMove][]) => {
    for (let i = 0; i < dueKeys.length; i++) {
      const lineKey = dueKeys[i]!;
      const parkedFor = parkedByLine.get(lineKey);
      if (parkedFor !== undefined) {
        scanned.add(lineKey);
        for (const p of parkedFor) woken.add(p);
      }
      const line = lines[i];
      if (line === undefined) continue;
      const operator = operators[i]!;
      const m = movementsOf(lineKey, line, operator.byPayee);
      if (!(m instanceof Map)) {
        pending.push(m);
        continue;
      }
      const settled = settledLineOf(lineKey, line, operator.total);
      if (settled !== null) {
        rows.push(settled.row);
        totals.add(settled.row);
        if (settled.withheld !== null) withheld.push(settled.withheld);
      }
      const careDate = line.settlement?.careDate;
      for (const [payee, move] of m) {
        // a parked payee with a line in this run is decided again, on all its lines
        if (parked.has(payee)) woken.add(payee);
        let t = payees.get(payee);
        if (t === undefined) payees.set(payee, (t = { sum: 0, lineCount: 0, careFrom: undefined, careTo: undefined, careMissing: false, marks: undefined }));
        t.sum = add(t.sum, move.amount);
        t.lineCount += 1;
        if (careDate === undefined) t.careMissing = true;
        else {
          if (t.careFrom === undefined || careDate < t.careFrom) t.careFrom = careDate;
          if (t.careTo === undefined || careDate > t.careTo) t.careTo = careDate;
        }
        if (line.returned !== undefined) {
          const marks = repaidMarksOf([{ lineKey, amount: moneyOfCents(move.amount) }], payee, () => line.returned);
          if (marks.length > 0) (t.marks ??= []).push(...marks);
        }
        moves.push([compositeKey(payee, lineKey), [move.version, move.amount, line.returns ?? 0]]);
      }
    }
  };
  /** the report's rows in full chunks (all of them: the scan's end) */
  const fullChunks = (end: boolean) => {
    const full: SettledLine[][] = [];
    while (rows.length >= REPORT_LINES_PER_KEY || (end && rows.length > 0)) {
      full.push(rows.slice(0, REPORT_LINES_PER_KEY));
      rows = rows.slice(REPORT_LINES_PER_KEY);
    }
    return full;
  };
  /** a scan slice's batch: its full chunks of report rows and its movements (only writes: LevelStore.writesOnly) */
  const writeSlice = (full: readonly SettledLine[][], moves: readonly [string, StoredMove][]) => {
    keys.level.writesOnly();
    for (const c of full) keys.reportLines.put(chunkKey(options.runId, chunks++), c.map(settledTupleOf));
    for (const [k, v] of moves) keys.runMoves.put(k, v);
  };
  // The movements are keyed payee first (the decision and the transfers read them per payee), but
  // the scan meets them in lineKey order. In LMDB each slice's commit re-wrote pages all over
  // `payments.run-move` (quadratic in the run), so they were sorted in a private LMDB first; a
  // LevelDB batch appends them to its log whatever their order, and its compactions sort them.
  // the due sets there now: nothing consumes before this run is applied and complete
  const dueSets = dueSetIdsOf(await keys.dueSets.keysAfter(null, Number.MAX_SAFE_INTEGER));
  const due = DueKeys.open(keys, dueSets, null);
  for (;;) {
    let dueKeys: string[] = [];
    await keys.level.update(async () => {
      dueKeys = (await due.next(slice)).keys;
      const moves: [string, StoredMove][] = [];
      const [lines, operators] = await Promise.all([keys.linesOf(dueKeys), operatorsOf(keys, dueKeys)]);
      // what the operator paid on the slice's lines, for the apply (its movements are these lines' again)
      const ops: StoredOps['ops'] = [];
      for (let i = 0; i < dueKeys.length; i++) {
        const byPayee = operators[i]!.byPayee;
        if (byPayee !== undefined && byPayee.size > 0) ops.push([dueKeys[i]!, [...byPayee]]);
      }
      scanSlice(dueKeys, lines, operators, moves);
      // (the rows' last chunk waits for the parked lines' rows)
      const full = fullChunks(false);
      if (full.length === 0 && moves.length === 0 && dueKeys.length === 0) return null;
      return () => {
        writeSlice(full, moves);
        if (dueKeys.length > 0) keys.runOps.put(opsChunkKey(operatorChunks++), { last: dueKeys.at(-1)!, ops });
      };
    });
    options.onScanSlice?.();
    if (dueKeys.length === 0) break;
  }
  // the woken parked payees' lines the due set did not name, in rounds: a round's lines may name
  // another parked payee (wokenClosure covers the lines the records share; this, a movement the
  // record did not count), whose lines come in the next round. Their keys go to the scratch for
  // the apply (no run-ops chunk: the apply reads their operator payments itself).
  const redecided = new Set<string>();
  for (;;) {
    const round = new Set<string>();
    for (const payee of wokenClosure(parked, parkedByLine, woken)) {
      if (redecided.has(payee)) continue;
      redecided.add(payee);
      for (const k of parked.get(payee)!.lineKeys) if (!scanned.has(k)) round.add(k);
    }
    if (round.size === 0) break;
    const roundKeys = [...round].sort();
    for (const k of roundKeys) scanned.add(k);
    for (let at = 0; at < roundKeys.length; at += slice) {
      const sliceKeys = roundKeys.slice(at, at + slice);
      await keys.level.update(async () => {
        const moves: [string, StoredMove][] = [];
        const [lines, operators] = await Promise.all([keys.linesOf(sliceKeys), operatorsOf(keys, sliceKeys)]);
        scanSlice(sliceKeys, lines, operators, moves);
        const full = fullChunks(false);
        return () => {
          writeSlice(full, moves);
          for (const k of sliceKeys) keys.runParked.put(k, 1);
        };
      });
      options.onScanSlice?.();
    }
  }
  const last = fullChunks(true);
  if (last.length > 0) await keys.level.commit(() => writeSlice(last, []));

  // ---- 2. decide, payee by payee ----
  const state = runDecisionState(before, options, at);
  const orders: PaymentOrderHead[] = [];
  const blocked: Blocked[] = [];
  const held: Held[] = [];
  const stillDue = new Set(pending.map((p) => p.lineKey));
  const walk = new MoveWalk(keys);
  try {
  for (const [payee, t] of [...payees].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // read before the decision, which is synchronous (it always needs them: an EndToEndId or the lines kept due)
    const mine = await walk.movesOf(payee);
    const lines = () => mine;
    const care = t.careMissing ? {} : { careFrom: t.careFrom!, careTo: t.careTo! };
    const decision = decidePayee(
      state,
      { payee, sum: t.sum, lineCount: t.lineCount, ...care },
      (kind, amount) => {
        const returns = new Map(lines().map((m) => [m.line.lineKey, m.returns]));
        return endToEndId(payee, kind, amount, lines().map((m) => m.line), (k) => returns.get(k) ?? 0);
      },
      () => lines().map((m) => m.line.lineKey),
    );
    if (decision.kind === 'order') orders.push(decision.order);
    else {
      const list = decision.kind === 'blocked' ? decision.blocked.lineKeys : decision.held.lineKeys;
      if (decision.kind === 'blocked') blocked.push(decision.blocked);
      else held.push(decision.held);
      for (const k of list) stillDue.add(k);
    }
  }
  } finally {
    await walk.close();
  }
  // the parked payees not decided again: carried as they are (a held one's order stays held)
  const carried: CarriedBlocked[] = [];
  const carriedLines = new Set<string>();
  for (const [payee, p] of parked) {
    if (redecided.has(payee)) continue;
    carried.push({ payee, amount: p.amount, reason: p.reason, lines: p.lineKeys.length, since: p.runId, ...(p.kind === undefined ? {} : { kind: p.kind }) });
    for (const k of p.lineKeys) carriedLines.add(k);
  }
  resolveHeld(state, (k) => stillDue.has(k) || carriedLines.has(k));
  // the blocked and (per-order) held payees parked (again, or anew), the woken ones paid (or held by the run's ceiling) un-parked
  const run = { runId: options.runId, at };
  const put: [string, ParkedPayee][] = [...blocked.map((b) => [b.payee, parkedOf(b, run, factsOf(b.payee))] as [string, ParkedPayee]), ...held.filter(parkableHold).map((h) => [h.payee, parkedHeldOf(h, run, factsOf(h.payee))] as [string, ParkedPayee])];
  const parkedNow = new Set(put.map(([payee]) => payee));
  const parkedChanges = { put, remove: [...redecided].filter((p) => !parkedNow.has(p)) };

  const files = orders.length === 0 ? [] : planSepaFiles({ runId: options.runId, createdAt: at, executionDate: options.executionDate, initiatingParty: options.initiatingParty, initiatingPartyId: options.initiatingPartyId ?? null, orders, debtorOf: options.debtorOf });
  const intent = orders.length === 0 ? null : (runIntent(options.runId, at, runDirOf(options.outDir, options.runId), orders, files) as StreamedIntent);
  const report = assembleRunReport({
    runId: options.runId, at, settled: { lines: [], totals }, withheldReconciliation: withheld, result: { orders, blocked, held, pending }, files: intent?.files ?? [],
    debtOf: (payee) => (Object.hasOwn(before.debts, payee) ? before.debts[payee] : undefined), returnsToReport: before.returnsToReport,
    repaidMarksOf: (o) => payees.get(o.payee)?.marks ?? [],
    carried,
  });
  return {
    runId: options.runId, at, orders, blocked, held, pending, intent, report, settledLineKeys: chunks, dueSets, operatorChunks, parked: parkedChanges,
    before, after: { debts: state.debts, held: state.heldByPayee, approvals: state.approvals, returnBlocks: state.returnBlocks },
  };
}

/** A run's report rows removed (a range clear: only ever for a run not recorded, whose rows nothing reads). */
async function removeReportRows(store: PaymentsStore, runId: string): Promise<void> {
  await store.runKeys().reportLines.clear(compositeKey(runId, ''));
}

function diffInto<V>(before: Readonly<Record<string, V>>, after: Readonly<Record<string, V>>, put: (k: string, v: V) => void, remove: (k: string) => void): void {
  for (const [k, v] of Object.entries(after)) if (!Object.hasOwn(before, k) || before[k] !== v) put(k, v);
  for (const k of Object.keys(before)) if (!Object.hasOwn(after, k)) remove(k);
}

/** Step 3: the decision recorded, in ONE batch (module comment). */
export async function recordStreamedRun(store: PaymentsStore, d: StreamedDecision): Promise<void> {
  const keys = store.runKeys();
  // the keys of an earlier intent's orders, removed in the same batch (none is pending: a pending run completes first)
  await keys.level.update(async () => {
    const oldOrders = d.intent === null ? [] : await keys.pendingOrders.keysAfter(null, Number.MAX_SAFE_INTEGER);
    const marks = await keys.commitMarks();
    return () => {
      keys.runs.put(d.runId, { at: d.at, orders: d.orders.length });
      diffInto(d.before.debts, d.after.debts, (k, v) => keys.debts.put(k, v), (k) => keys.debts.remove(k));
      diffInto(d.before.approvals, d.after.approvals, (k, v) => keys.approvals.put(k, v), (k) => keys.approvals.remove(k));
      diffInto(d.before.returnBlocks, d.after.returnBlocks, (k, v) => keys.returnBlocks.put(k, v), (k) => keys.returnBlocks.remove(k));
      // this run's report lists the returns applied since the previous run: they are reported
      for (const k of Object.keys(d.before.returnsToReport)) keys.returnsToReport.remove(k);
      // a statement shows a hold's payee: the lines a hold starts or stops naming
      const heldChanged = new Set<string>();
      diffInto(
        d.before.held,
        d.after.held,
        (k, v) => {
          const was = new Set(Object.hasOwn(d.before.held, k) ? d.before.held[k]!.lineKeys : []);
          const now = new Set(v.lineKeys);
          for (const l of now) if (!was.has(l)) heldChanged.add(l);
          for (const l of was) if (!now.has(l)) heldChanged.add(l);
          keys.held.put(k, v);
        },
        (k) => {
          for (const l of d.before.held[k]!.lineKeys) heldChanged.add(l);
          keys.held.remove(k);
        },
      );
      marks.markLines(heldChanged, (k) => [keys.lineOf(k)?.settlement?.adherentId]);
      for (const o of d.orders) keys.runPayees.put(o.payee, { o: 'order', head: o });
      for (const b of d.blocked) keys.runPayees.put(b.payee, { o: 'blocked', reason: b.reason });
      // (a held order the run parks: its lines leave the due set in the apply, as a blocked payee's)
      for (const h of d.held) keys.runPayees.put(h.payee, parkableHold(h) ? { o: 'held', parked: true } : { o: 'held' });
      for (const [payee, p] of d.parked.put) keys.parked.put(payee, p);
      for (const payee of d.parked.remove) keys.parked.remove(payee);
      keys.reports.put(d.runId, { ...d.report, settledLineKeys: d.settledLineKeys });
      if (d.intent !== null) {
        putStreamedIntent(keys, d.intent, oldOrders);
        for (const f of d.intent.files) for (const id of f.endToEndIds) keys.handedOver.put(id, f.messageId);
      }
      keys.pendingRun.put(APPLY, { runId: d.runId, at: d.at, phase: 'lines', after: null, dueSets: d.dueSets, operatorChunks: d.operatorChunks } satisfies ApplyCursor as never);
      keys.pendingRun.remove(SCAN);
    };
  });
}

const ORDER_HEADS_PER_KEY = 1000;

function putStreamedIntent(keys: RunKeys, intent: StreamedIntent, oldKeys: readonly string[]): void {
  for (const k of oldKeys) keys.pendingOrders.remove(k);
  let n = 0;
  for (let i = 0; i < intent.orders.length; i += ORDER_HEADS_PER_KEY) keys.pendingOrders.put(String(n++).padStart(6, '0'), intent.orders.slice(i, i + ORDER_HEADS_PER_KEY) as never);
  keys.pendingRun.put('run', { ...intent, orders: [], orderKeys: n, streamed: true } as never);
}

/** The run whose line updates are not all applied yet (null: none). */
export function applyCursorOf(store: PaymentsStore): ApplyCursor | null {
  return (store.runKeys().pendingRun.get(APPLY) as ApplyCursor | undefined) ?? null;
}

/**
 * Step 4: applies the recorded run at the cursor, slice by slice, each slice and the cursor's
 * advance in one commit; `onSlice` after each (the crash tests stop there). Idempotent: a slice
 * is applied whole or not at all, and the cursor says where the next one starts.
 */
export async function applyStreamedRun(store: PaymentsStore, options: { sliceLines?: number; onSlice?: () => void; blockedMarksAtOnce?: number } = {}): Promise<void> {
  const keys = store.runKeys();
  const slice = options.sliceLines ?? DEFAULT_SLICE_LINES;
  let outcomes: Map<string, LineOutcome> | null = null;
  let blocked: Map<string, LineBlocked> | 'per-slice' | null = null;
  let due: DueKeys | null = null;
  // the due lines that had a blocked mark, when this apply reads the whole due set (module comment of blockedMarksOf)
  let seen: Set<string> | null = null;
  let ops: RunOps | null | undefined;
  for (;;) {
    const cursor = applyCursorOf(store);
    if (cursor === null) return;
    if (cursor.phase === 'lines') {
      outcomes ??= await lineOutcomesOf(keys);
      if (blocked === null) {
        blocked = await blockedMarksOf(keys, options.blockedMarksAtOnce ?? BLOCKED_MARKS_AT_ONCE);
        if (cursor.after === null) seen = new Set();
      }
      // from the cursor: a restart resumes after the last slice applied
      due ??= DueKeys.open(keys, cursor.dueSets ?? [], cursor.after);
      if (ops === undefined) ops = cursor.operatorChunks === undefined ? null : new RunOps(keys, cursor.operatorChunks);
      await applyLineSlice(keys, cursor, slice, outcomes, blocked, due, seen, ops);
    } else if (cursor.phase === 'parked') {
      outcomes ??= await lineOutcomesOf(keys);
      // (after a restart: read per slice, the sweep is done)
      blocked ??= 'per-slice';
      // the parked lines decided again: no due mark of their own, no run-ops chunk (their operator payments read here)
      const after = cursor.after;
      const parked: LineSource = { next: async (limit) => {
        const keysOf = await keys.runParked.keysAfter(after, limit);
        return { keys: keysOf, marked: keysOf.map(() => false) };
      } };
      await applyLineSlice(keys, cursor, slice, outcomes, blocked, parked, null, null);
    }
    else await applyTransferSlice(keys, cursor, slice);
    options.onSlice?.();
  }
}

/** What the line updates need of a payee's recorded decision: paid, or why not (a blocked payee's reason). */
type LineOutcome = { o: 'order' } | { o: 'blocked'; reason: string } | { o: 'held'; parked: boolean };
const PAID: LineOutcome = { o: 'order' };
const HELD: LineOutcome = { o: 'held', parked: false };
const HELD_PARKED: LineOutcome = { o: 'held', parked: true };

/**
 * Every payee's recorded decision, read once for the whole apply (one range read; one entry per
 * payee, as the scan's totals): the slices looked each payee up again, a point read and a JSON
 * parse of its order head per payee and slice. Nothing writes them while the run is applied.
 */
async function lineOutcomesOf(keys: RunKeys): Promise<Map<string, LineOutcome>> {
  const out = new Map<string, LineOutcome>();
  for (const [payee, o] of await keys.runPayees.entriesIn()) out.set(payee, o.o === 'order' ? PAID : o.o === 'held' ? (o.parked === true ? HELD_PARKED : HELD) : { o: 'blocked', reason: o.reason });
  return out;
}

/**
 * Every line's blocked mark, read once for the whole apply (one range read), where each slice read
 * its lines' marks (a `getMany` per slice: 98 k keys at 100 k lines, all misses in a first run;
 * bench/README.md, "Session 20 — payments"). A run leaves a mark only on a line it keeps due (its
 * payee blocked) and removes it when it pays the line: the marks are about the lines of the blocked
 * payees (1 239 at 100 k lines), not the ledger's. Each slice writes the marks of its own lines
 * only, so what later slices read of this map is still what is stored.
 * Since session 21 a mark never outlives its reason: the apply removes it from a line it moves or
 * leaves due for nobody (its movements came to nothing, or were all made), from a line gone, and —
 * in its last line slice, when it read the whole due set in this process (`seen`: not after a
 * restart; the next run does it) — from every line the due set did not name (a run keeps a blocked
 * line due: a mark on a line not due is stale, left by a build before session 21). So the marks are
 * the blocked lines' and a second run reads no stale one. A home holding more than
 * BLOCKED_MARKS_AT_ONCE marks (an older home's history) reads them per slice, for the slice's lines
 * only, as before ('per-slice'), until its first run sweeps them.
 */
async function blockedMarksOf(keys: RunKeys, atOnce: number): Promise<Map<string, LineBlocked> | 'per-slice'> {
  const marks = await keys.lineBlocked.entriesAfter(null, atOnce + 1);
  return marks.length > atOnce ? 'per-slice' : new Map(marks);
}

/** The most blocked marks an apply holds at once (≈ 100 B each). */
export const BLOCKED_MARKS_AT_ONCE = 50_000;

/** Where an apply slice's lines come from: the due set (DueKeys, `marked`: the line has a due mark of its own), or the run's parked lines. */
interface LineSource {
  next(limit: number): Promise<{ keys: string[]; marked: boolean[] }>;
}

async function applyLineSlice(
  keys: RunKeys, cursor: ApplyCursor, slice: number, outcomes: ReadonlyMap<string, LineOutcome>, blockedMarks: ReadonlyMap<string, LineBlocked> | 'per-slice', due: LineSource, seen: Set<string> | null, ops: RunOps | null,
): Promise<void> {
  const duePhase = cursor.phase === 'lines';
  const { runId, at } = cursor;
  await keys.level.update(async () => {
    const { keys: dueKeys, marked } = await due.next(slice);
    const outcomeOf = (payee: string) => {
      const o = outcomes.get(payee);
      if (o === undefined) throw new Error(`payment run ${runId}: no recorded decision for payee ${payee} (the run's record is incomplete)`);
      return o;
    };
    // what each line gets, decided here with every read (the line, its operator payments, its
    // blocked mark, its run list) done before the batch: the batch then only writes, so it never
    // folds its own writes into a read-your-writes map (LevelStore.read)
    const writes: LineWrite[] = [];
    const changed = new Map<string, string | null | undefined>();
    // the operator payments the scan found (run-ops): not the claim lists and claims read again
    const scanned = ops?.of(dueKeys) ?? null;
    const [lines, operators, sliceMarks] = await Promise.all([
      keys.linesOf(dueKeys),
      scanned ?? operatorsOf(keys, dueKeys),
      blockedMarks === 'per-slice' ? keys.lineBlocked.getMany(dueKeys) : null,
    ]);
    // a line's run list is inside the line since session 21; a line written before keeps it in its
    // own key, which exists only once a run has paid it someone (its `paid` names a payee:
    // PaymentsStore.paymentFactsOf reads them the same way): a line paid for the first time has none to read
    const runLists = await runListsOf(keys, dueKeys, lines);
    for (let i = 0; i < dueKeys.length; i++) {
      const lineKey = dueKeys[i]!;
      const line = lines[i];
      const wasBlocked = sliceMarks === null ? (blockedMarks as ReadonlyMap<string, LineBlocked>).get(lineKey) : sliceMarks[i];
      if (wasBlocked !== undefined) seen?.add(lineKey);
      if (line === undefined) {
        // the line is gone: so is the reason of a blocked mark it kept
        if (wasBlocked !== undefined) changed.set(lineKey, undefined);
        writes.push({ lineKey, line: undefined, dropRunsKey: false, unblock: wasBlocked !== undefined, blockedFor: [], due: marked[i]! ? 'remove' : 'keep' });
        continue;
      }
      const m = movementsOf(lineKey, line, operators[i]!.byPayee);
      if (!(m instanceof Map)) {
        // pending (under review, awaiting reconciliation, nobody to pay): it leaves the due set — what
        // would make it payable is a new version or outcome of the line, which makes it due again
        // (session 24; before, every run read it again to find it pending again)
        // (a blocked mark it kept goes with it: the line waits for its own facts, not for a payee's account)
        if (wasBlocked !== undefined) changed.set(lineKey, line.settlement?.adherentId);
        if (marked[i]! || wasBlocked !== undefined) writes.push({ lineKey, line: undefined, dropRunsKey: false, unblock: wasBlocked !== undefined, blockedFor: [], due: marked[i]! ? 'remove' : 'keep' });
        continue;
      }
      // (made when first needed: most lines move for one payee, and are blocked for none)
      let paid: Record<string, string> | null = null;
      const moved: { payee: string; amount: string }[] = [];
      let notMoved: Set<string> | null = null;
      let blockedFor: { payee: string; reason: string }[] = NOT_BLOCKED;
      // the payees not moved whose decision is parked (blocked, held by the per-order ceiling)
      let parkedFor = 0;
      for (const [payee, move] of m) {
        const o = outcomeOf(payee);
        if (o.o === 'order') {
          (paid ??= { ...line.paid })[payee] = moneyOfCents(add(cents(Object.hasOwn(line.paid, payee) ? line.paid[payee]! : '0.00'), move.amount));
          moved.push({ payee, amount: moneyOfCents(move.amount) });
        } else {
          (notMoved ??= new Set<string>()).add(payee);
          if (o.o === 'blocked') (blockedFor === NOT_BLOCKED ? (blockedFor = []) : blockedFor).push({ payee, reason: o.reason });
          if (o.o === 'blocked' || o.parked) parkedFor += 1;
        }
      }
      let next: LineLedger = paid !== null ? { ...line, paid } : line;
      if (next.returned !== undefined) {
        const kept = keptReturns(next.returned, (payee) => notMoved?.has(payee) === true);
        if (kept !== next.returned) {
          const { returned: _cleared, ...rest } = next;
          next = kept === undefined ? rest : { ...rest, returned: kept };
        }
      }
      // the run's record in the line's run list, in the line's own value (one put: no `payments.line-runs` key)
      if (moved.length > 0) next = { ...next, runs: withLineRun(line.runs ?? runLists[i], { runId, at, moved }) };
      // the mark goes when the run moved the line or leaves it due for nobody (its movements came to
      // nothing, or all were made): a mark never outlives its reason (a blocked payee's is put again)
      const unblock = wasBlocked !== undefined && (moved.length > 0 || notMoved === null);
      // (a mark this apply puts is no stale one: the last slice's sweep, reading the marks per slice, sees it)
      if (blockedFor.length > 0) seen?.add(lineKey);
      if (next !== line || unblock) changed.set(lineKey, line.settlement?.adherentId);
      for (const b of blockedFor) if (blockedShown(wasBlocked) !== blockedShown(b)) changed.set(lineKey, line.settlement?.adherentId);
      writes.push({
        lineKey,
        line: next !== line ? next : undefined,
        // a list read from its own key (a line written before) is now inside the line
        dropRunsKey: moved.length > 0 && runLists[i] !== undefined,
        // read once above, in this update's decision: nothing else writes the line meanwhile
        unblock,
        blockedFor,
        // moved for every payee, or left only to parked payees (blocked, held by the per-order
        // ceiling: their records name it, parked.ts): out of the due set; left to a payee held by
        // the run's ceiling: due
        due: notMoved === null || parkedFor === notMoved.size ? (marked[i]! ? 'remove' : 'keep') : marked[i]! ? 'keep' : 'mark',
      });
    }
    // the last line slice: the due sets go (each line they named is applied, or marked on its own if still due)
    const last = dueKeys.length < slice;
    const setKeys: string[] = [];
    if (last && duePhase) for (const id of cursor.dueSets ?? []) setKeys.push(...(await keys.dueSets.keysAfter(null, Number.MAX_SAFE_INTEGER, compositeKey(id, ''))));
    // the marks of lines neither the due set nor a parked payee names: no run keeps a line blocked
    // without keeping it due or parked, so their reason is gone (a mark left by a build before
    // session 21); not shown by a statement (a line due to nobody shows no waiting payment): no
    // statement mark. (The parked lines this run decides again are applied next: not swept.)
    const swept: string[] = [];
    if (last && duePhase && seen !== null) {
      // (per slice: more than BLOCKED_MARKS_AT_ONCE marks, an older home's history, read once here, then gone)
      const all = blockedMarks === 'per-slice' ? await keys.lineBlocked.keysAfter(null, Number.MAX_SAFE_INTEGER) : blockedMarks.keys();
      const parked = parkedLinesOf((await keys.parked.entriesIn()).map(([, p]) => p), await keys.runParked.keysAfter(null, Number.MAX_SAFE_INTEGER));
      for (const k of all) if (!seen.has(k) && !parked.has(k)) swept.push(k);
    }
    const next: ApplyCursor = !last ? { ...cursor, after: dueKeys.at(-1)! } : duePhase ? { runId, at, phase: 'parked', after: null } : { runId, at, phase: 'transfers', after: null };
    const marks = await keys.commitMarks();
    return () => {
      // the marks first: they read the statement index (and the marks), before the batch holds any write
      marks.markLines(changed.keys(), (k) => [changed.get(k)]);
      // then only writes: none kept on the heap for a read back (LevelStore.writesOnly)
      keys.level.writesOnly();
      for (const w of writes) {
        if (w.line !== undefined) keys.putLine(w.lineKey, w.line);
        if (w.dropRunsKey) keys.lineRuns.remove(w.lineKey);
        if (w.unblock) keys.lineBlocked.remove(w.lineKey);
        for (const b of w.blockedFor) keys.lineBlocked.put(w.lineKey, { runId, at, payee: b.payee, reason: b.reason } satisfies LineBlocked);
        if (w.due === 'remove') keys.due.remove(w.lineKey);
        else if (w.due === 'mark') keys.due.put(w.lineKey, 1);
      }
      for (const k of swept) keys.lineBlocked.remove(k);
      for (const k of setKeys) keys.dueSets.remove(k);
      keys.pendingRun.put(APPLY, next as never);
    };
  });
}

/** The due lines' run lists kept in their own key (undefined: none), read only for the lines paid to someone before whose value holds none. */
async function runListsOf(keys: RunKeys, dueKeys: readonly string[], lines: readonly (LineLedger | undefined)[]): Promise<(LineRun[] | undefined)[]> {
  const at: number[] = [];
  for (let i = 0; i < dueKeys.length; i++) {
    if (lines[i]?.runs !== undefined) continue;
    const paid = lines[i]?.paid;
    if (paid !== undefined) for (const _ in paid) {
      at.push(i);
      break;
    }
  }
  const out = new Array<LineRun[] | undefined>(dueKeys.length);
  if (at.length === 0) return out;
  const read = await keys.lineRuns.getMany(at.map((i) => dueKeys[i]!));
  for (let j = 0; j < at.length; j++) out[at[j]!] = read[j];
  return out;
}

const opsChunkKey = (n: number) => String(n).padStart(6, '0');

/**
 * The scan's `payments.run-ops` chunks, read in order as the apply's due keys come (the same due
 * set, in the same key order: nothing is consumed, and nothing changes a claim, between a run's
 * scan and its apply). Chunk n holds the lines after chunk n − 1's `last` up to its own: a key is
 * looked up in the first chunk whose `last` is not before it (a resumed apply skips the chunks of
 * the slices applied). One chunk held at a time.
 */
class RunOps {
  private next = 0;
  private last: string | null = null;
  private byLine = new Map<string, Map<string, number>>();

  constructor(
    private readonly keys: RunKeys,
    private count: number,
  ) {}

  /** The operator's payments per payee of each key (operatorsOf's shape), or null when a key is past the chunks (then the apply reads them). */
  of(dueKeys: readonly string[]): { byPayee: Map<string, number> | undefined }[] | null {
    const out = new Array<{ byPayee: Map<string, number> | undefined }>(dueKeys.length);
    for (let i = 0; i < dueKeys.length; i++) {
      const k = dueKeys[i]!;
      while (this.last === null || k > this.last) {
        if (this.next >= this.count) return null;
        const chunk = this.keys.runOps.get(opsChunkKey(this.next++));
        if (chunk === undefined) {
          // (never, short of a scratch cleared under the apply): from here on the apply reads them all
          this.count = 0;
          return null;
        }
        this.last = chunk.last;
        this.byLine = new Map(chunk.ops.map(([line, byPayee]) => [line, new Map(byPayee)]));
      }
      out[i] = { byPayee: this.byLine.get(k) };
    }
    return out;
  }
}

/** A line blocked for no payee (shared, never written to). */
const NOT_BLOCKED: { payee: string; reason: string }[] = [];

/** What the apply writes for one due line (undefined: that key is left as it is). */
interface LineWrite {
  lineKey: string;
  line: LineLedger | undefined;
  /** the line's `payments.line-runs` key removed: its list was read from there and is now inside the line */
  dropRunsKey: boolean;
  /** the line's blocked mark removed (the run moved it) */
  unblock: boolean;
  blockedFor: { payee: string; reason: string }[];
  /**
   * the line's own due mark: removed (every payee's movement was made, or the line is gone), put
   * (the line stays due and only a batch's due set, removed with this run, named it), or kept as it is
   */
  due: 'remove' | 'mark' | 'keep';
}

async function applyTransferSlice(keys: RunKeys, cursor: ApplyCursor, slice: number): Promise<void> {
  await keys.level.update(async () => {
    const records: [string, NonNullable<ReturnType<typeof transferRecordOf>>][] = [];
    let lines = 0;
    let last: string | null = null;
    let end = true;
    const outcomes = await keys.runPayees.entriesAfter(cursor.after, slice);
    const walk = new MoveWalk(keys, outcomes[0]?.[0] ?? null);
    try {
      for (const [payee, o] of outcomes) {
        if (lines >= slice) {
          end = false;
          break;
        }
        last = payee;
        if (o.o !== 'order' || !o.head.transfer) continue;
        const order = orderWithLines(o.head, (await walk.movesOf(payee)).map((m) => m.line));
        const t = transferRecordOf(order);
        if (t !== null) records.push([o.head.endToEndId, t]);
        lines += o.head.lineCount;
      }
    } finally {
      await walk.close();
    }
    // a full slice of payees read: there may be more after the last one
    if (end && last !== null && (await keys.runPayees.keysAfter(last, 1)).length > 0) end = false;
    return () => {
      // what each transfer paid, to undo it exactly if the bank returns it
      for (const [id, t] of records) keys.transfers.put(id, t);
      if (end) keys.pendingRun.remove(APPLY);
      else keys.pendingRun.put(APPLY, { ...cursor, after: last } as never);
    };
  });
}

/** The streamed intent recorded (its order heads), or null when the pending intent is not a streamed one. */
export function streamedIntentOf(store: PaymentsStore): StreamedIntent | null {
  const keys = store.runKeys();
  const stored = keys.pendingRun.get('run') as (RunIntent & { orderKeys?: number; streamed?: boolean }) | undefined;
  if (stored === undefined || stored.streamed !== true) return null;
  const { orderKeys, streamed: _s, ...intent } = stored;
  const orders: PaymentOrderHead[] = [];
  for (let n = 0; n < (orderKeys ?? 0); n++) for (const o of (keys.pendingOrders.get(String(n).padStart(6, '0')) ?? []) as unknown as PaymentOrderHead[]) orders.push(o);
  return { ...intent, orders };
}

/** A streamed run's orders with their lines, one at a time (orders.ndjson, the topic). */
export async function* ordersWithLines(store: PaymentsStore, heads: readonly PaymentOrderHead[]): AsyncGenerator<PaymentOrder> {
  const walk = new MoveWalk(store.runKeys());
  try {
    for (const h of heads) yield orderWithLines(h, (await walk.movesOf(h.payee)).map((m) => m.line));
  } finally {
    await walk.close();
  }
}

/** A report's settled rows, chunk by chunk, from the store (a report recorded without them). */
export function* reportRows(store: PaymentsStore, runId: string, chunks: number): Generator<SettledLine[]> {
  const keys = store.runKeys();
  for (let n = 0; n < chunks; n++) yield (keys.reportLines.get(chunkKey(runId, n)) ?? []).map(settledRowOf);
}
