import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { applyPaymentEvents, initialLedger, parsePaymentsLedger, RunIntentSchema, type PaymentEvent, type PaymentsLedger, type RunIntent } from '../payments/index.js';
import { foldPaymentEvents, noFoldChanges, type FoldChanges } from '../payments/ledger.js';
import { settledRowOf, settledTupleOf, type RunReport, type SettledLine, type SettledTuple } from '../payments/report.js';
import type { Approval, Blocked, Held, LineLedger, LineReturn, OperatorPayment, ReturnBlock } from '../payments/types.js';
import { parkedLinesOf, type ParkedPayee } from '../payments/parked.js';
import type { TransferRecord } from '../payments/returns.js';
import { transferRecordOf } from '../payments/returns.js';
import { blockedShown, type LineBlocked, type LinePaymentFacts, type LineReturned, type LineRun } from '../statement/payment.js';
import { compositeKey, KEY_SEP, StateStore, stateStoreFileOf } from '../state/kv-store.js';
import { centsOf, moneyOfCents } from '../model/cents.js';
import type { PaymentLine, PaymentOrderHead } from '../model/payment.js';
import { orderWithLines } from '../payments/run.js';
import { DirtyFamilies, PaymentStatementMarks } from './statement-dirty.js';
import { isLevelLocked, LevelStore, levelDirOf, type BinaryCodec, type LevelSubStore } from '../state/level-store.js';
import { moveMarkerOf, type MoveMarker } from '../state/lmdb-to-level.js';
import { movePaymentsToLevel, PAYMENTS_LAYOUT } from './payments-move.js';
import { ledgerLineCodec, paymentLineCodec } from './payment-line-codec.js';

/**
 * The payment stage's durable state, in the home's LevelDB store (src/state/level-store.ts,
 * `<home>/state/level/`; session 11 — LMDB's `<home>/state/store.mdb` before, moved by the first
 * open: payments-move.ts), one key per fact so that applying a batch and deciding a run touch only
 * their own keys (src/pipeline/README.md, "Payment state", has the table of what each holds):
 *
 *   payments.line/<lineKey>                   LineLedger (latest facts, what each payee was paid): msgpack, payment-line-codec.ts
 *   payments.due/<lineKey>                    1 — the line must be looked at by the next run
 *   payments.due-set/<id>␟<nnnnnn>            the lines ONE consumed batch made due, sorted, '\n'-joined, DUE_SET_CHUNK per key (session 20; DueKeys)
 *   payments.operator/<claimId>               OperatorPayment (what the TP operator paid for the claim)
 *   payments.line-operators/<lineKey>         [claimId, …] — index: a line's operator payments (one value per line)
 *   payments.debt/<payee>                     Money the payee owes us after a recovery
 *   payments.run/<runId>                      { at, orders }
 *   payments.held/<payee>, payments.approval/<payee>   the controls' held order / its approval
 *   payments.handed-over/<EndToEndId>         MsgId of the only pain.001 that may carry it
 *   payments.pending/run                      the intent of the run whose files are not all done (its orders in:)
 *   payments.pending-orders/<nnnnnn>          the pending intent's orders, in order, ~INTENT_LINES_PER_KEY line movements per key
 *   payments.report/<runId>                   the run's report for finance (src/payments/report.ts), without its settled lines:
 *   payments.report-lines/<runId>␟<nnnnnn>    the report's settled lines, REPORT_LINES_PER_KEY per key, in order (tuples since session 13: settledTupleOf)
 *   payments.outbox/<runId>                   format-1 outbox entries (imported, drained, never written anew)
 *   payments.transfer/<EndToEndId>            TransferRecord: what a transfer handed to the bank paid (to undo it if returned)
 *   payments.return-block/<payee>             ReturnBlock: the payee's account the bank returned (no transfer there again)
 *   payments.returned/<EndToEndId>            the bank return applied for that transfer (a second one is an exception)
 *   payments.return-file/<sha256>             a bank return file applied (the same bytes again are skipped)
 *   payments.return-exception/<sha256>␟<record>  a return that could not be applied (unknown or already returned transfer…)
 *   payments.return-to-report/<EndToEndId>    LineReturn: a bank return applied since the last run (the next run's report lists it)
 *   payments.line-runs/<lineKey>              [LineRun, …]: the form before session 21 of a line's run list (now `runs` inside
 *                                             payments.line, what each run moved to whom: member statements, bank returns);
 *                                             still read, never written, removed by the next run that moves the line
 *   payments.line-blocked/<lineKey>           LineBlocked: the last run could not pay the line (no usable account)
 *   payments.parked/<payee>                   ParkedPayee: a blocked payee's decision, its lines out of the due set until
 *                                             something it read changes (src/payments/parked.ts; session 24)
 *   payments.run-move/<payee>␟<lineKey>        scratch of the run being decided / applied: StoredMove (payment-run-stream.ts)
 *   payments.run-payee/<payee>                scratch: PayeeOutcome, the recorded decision for the payee
 *   payments.run-ops/<nnnnnn>                 scratch: a scan slice's operator payments per line (StoredOps), for the apply
 *   payments.run-parked/<lineKey>             scratch: the parked lines the run decides again (its woken payees'), for the apply
 *   payments.pending/apply, payments.pending/scan   the streamed run's apply cursor / the run id of a scan in progress
 *   payments.layout/layout                    the payment state is in LevelDB (payments-move.ts)
 *
 * A payment run is decided and applied by streaming (payment-run-stream.ts, through `runKeys`); the
 * other steps' pure code (src/payments: applyPaymentEvents, approvePayment, applyReturn; runPayments
 * for a dry run) still works on a PaymentsLedger; here it is given a SLICE of the ledger — only the
 * keys the step can read or change — and what it returns is diffed against the slice into the puts
 * and removes of ONE batch. A slice must hold every key the step may touch (see `readSlice`): a
 * batch needs its own lines and claims; a run needs the due lines, their operator payments, the
 * debts, held orders and approvals (one per payee at most), and its own runId. A step that reads
 * before it writes is one `LevelStore.update` (the reads, then the batch, no other commit of the
 * process between: LevelDB's range reads are async); point reads are synchronous, and inside a
 * batch they see the batch's own writes (the per-line lists are read-modify-written there).
 *
 * Every step that changes a line's payment facts as a member statement reads them (`paymentFactsOf`:
 * the line, its line-runs, its blocked mark, its operator payments, a hold naming it) marks the
 * line's family in `statements.dirty` in the same batch (statement-dirty.ts); `replaceAll` makes
 * the next statement pass a full one.
 *
 * LevelDB's LOCK allows one process: beside a running `noemie run` the store does not open
 * (LEVEL_LOCKED; the CLI asks the running service). A home written by the previous version
 * (`<home>/payments/ledger.json`, formats 1 and 2) is imported once when the store is opened for
 * writing, then renamed `ledger.json.imported`.
 */
const OutboxEntrySchema = z.object({ runId: z.string().min(1), ordersFile: z.string().min(1) });
const LegacyFileSchema = z.object({
  format: z.union([z.literal(1), z.literal(2)]),
  ledger: z.unknown(),
  outbox: z.array(OutboxEntrySchema).default([]),
  pending: RunIntentSchema.nullable().default(null),
  handedOver: z.record(z.string(), z.string()).default({}),
});

export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

export interface PaymentsState {
  ledger: PaymentsLedger;
  outbox: OutboxEntry[];
  /** the run decided and recorded whose files / topic messages are not all done yet */
  pending: RunIntent | null;
  /** EndToEndId → MsgId of the pain.001 that carries it (the hard control against a second file) */
  handedOver: Record<string, string>;
}

/** The previous version's whole-ledger file: imported once, then renamed `.imported`. */
export const legacyLedgerFileOf = (home: string) => join(home, 'payments', 'ledger.json');

export const emptyPaymentsState = (): PaymentsState => ({ ledger: initialLedger(), outbox: [], pending: null, handedOver: {} });

/** Reads (and checks: it comes from disk, written by another version) a legacy ledger.json; null when there is none. */
export async function readLegacyLedgerFile(file: string): Promise<PaymentsState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const parsed = LegacyFileSchema.parse(JSON.parse(text));
  return { ledger: parsePaymentsLedger(parsed.ledger), outbox: parsed.outbox, pending: parsed.pending, handedOver: parsed.handedOver };
}

/** What a slice must cover. */
export interface SliceKeys {
  lineKeys?: Iterable<string>;
  claimIds?: Iterable<string>;
  /** the due set, its lines and their operator payments, debts, held orders, approvals (a run) */
  run?: boolean;
  /** held orders and approvals only (an approval) */
  controls?: boolean;
  /** the run record of this runId, if any (a run's "already run" check) */
  runId?: string;
  /** these payees' debts and return blocks (a bank return) */
  payees?: Iterable<string>;
  /**
   * false: the lines' due marks are not read (a consumed batch: applyPaymentEvents only ever adds
   * marks, so a line already due gets its mark put again, the same value — a 40-byte log record,
   * where the read was a LevelDB point read per consumed line, most of them misses). Default true.
   */
  lineDue?: boolean;
}

/** A bank return applied to a transfer (payments.returned). */
export interface ReturnedTransfer {
  paymentId: string;
  payee: string;
  amount: string;
  code: string;
  label: string;
  blocks: boolean;
  file: string;
  record: number;
  at: string;
}

/** A bank return file applied (payments.return-file): its hash is the key, so the same bytes are applied once. */
export interface ReturnFileRecord {
  file: string;
  format: string;
  messageId: string;
  at: string;
  returned: number;
  acknowledged: number;
  exceptions: number;
}

/** A return that could not be applied: kept for ops, listed by `payments show`, never lost. */
export interface ReturnException {
  file: string;
  sha256: string;
  record: number;
  path: string;
  endToEndId: string | null;
  code: string | null;
  reason: string;
  at: string;
}

const PENDING = 'run';

/**
 * A report's settled lines per `payments.report-lines` key: one value per due line would be a
 * million keys, one value for all of them a single encode buffer (and LMDB overflow pages) as
 * large as the run; 5 000 lines are a few hundred kB.
 */
export const REPORT_LINES_PER_KEY = 5000;

/** How `payments.report` values are stored since session 7: the settled lines are in `payments.report-lines`, `settledLineKeys` keys of them. */
export type StoredReport = RunReport & { settledLineKeys?: number };

/** A pending intent's orders per `payments.pending-orders` key: up to this many line movements (or 1 000 orders) per key. */
export const INTENT_LINES_PER_KEY = 5000;
const INTENT_ORDERS_PER_KEY = 1000;

/** How the pending intent is stored since session 7: its orders in `payments.pending-orders`, `orderKeys` keys of them. */
export type StoredIntent = RunIntent & { orderKeys?: number; /** a streamed run's: its orders are heads, their lines in `payments.run-move` */ streamed?: boolean };

/** A streamed run's movement of one line for one payee (`payments.run-move/<payee>␟<lineKey>`): [version, signed cents, the line's bank returns]. */
export type StoredMove = readonly [version: number, cents: number, returns: number];

/**
 * What the scan of a streamed run found the TP operator paid on the lines of one of its slices
 * (`payments.run-ops/<nnnnnn>`, session 21), for the apply, which needs the same to compute the
 * same movements: `last`, the slice's last due key (chunk n holds the slice's lines after chunk
 * n − 1's `last`, up to its own), and, for each line with an operator payment, per payee, cents.
 */
export interface StoredOps {
  last: string;
  ops: [lineKey: string, byPayee: [payee: string, cents: number][]][];
}

/** A streamed run's decision for one payee (`payments.run-payee/<payee>`): its order's head, or why its lines stay due. */
export type PayeeOutcome = { o: 'order'; head: PaymentOrderHead } | { o: 'blocked'; reason: string } | { o: 'held'; /** parked (session 24; absent: not) */ parked?: true };

export interface RunKeys {
  level: LevelStore;
  lines: LevelSubStore<StoredLine>;
  due: LevelSubStore<1>;
  dueSets: LevelSubStore<string>;
  operator: LevelSubStore<OperatorPayment>;
  lineOperators: LevelSubStore<string[]>;
  debts: LevelSubStore<string>;
  runs: LevelSubStore<{ at: string; orders: number }>;
  held: LevelSubStore<Held>;
  approvals: LevelSubStore<Approval>;
  handedOver: LevelSubStore<string>;
  pendingRun: LevelSubStore<StoredIntent>;
  pendingOrders: LevelSubStore<RunIntent['orders']>;
  transfers: LevelSubStore<TransferRecord>;
  returnBlocks: LevelSubStore<ReturnBlock>;
  returnsToReport: LevelSubStore<LineReturn>;
  lineRuns: LevelSubStore<LineRun[]>;
  lineBlocked: LevelSubStore<LineBlocked>;
  reports: LevelSubStore<StoredReport>;
  /** a chunk of a report's settled rows, as tuples (before session 13: objects; settledRowOf reads both) */
  reportLines: LevelSubStore<(SettledTuple | SettledLine)[]>;
  runMoves: LevelSubStore<StoredMove>;
  runPayees: LevelSubStore<PayeeOutcome>;
  runOps: LevelSubStore<StoredOps>;
  parked: LevelSubStore<ParkedPayee>;
  runParked: LevelSubStore<1>;
  statements: PaymentStatementMarks;
  /** the statement marks of ONE commit, asked for in its read phase (`PaymentStatementMarks.forCommit`) */
  commitMarks(): Promise<PaymentStatementMarks>;
  lineOf(lineKey: string): LineLedger | undefined;
  /** these lines, read at once before a batch (LevelSubStore.getMany): undefined for a line not there */
  linesOf(lineKeys: readonly string[]): Promise<(LineLedger | undefined)[]>;
  putLine(lineKey: string, line: LineLedger): void;
}

export const chunkKey = (runId: string, n: number) => compositeKey(runId, String(n).padStart(6, '0'));

export class PaymentsStore {
  private readonly lines: LevelSubStore<StoredLine>;
  /** the same keys read and written as LineLedgers, without the StoredLine between (the stage's reads and writes: payment-line-codec.ts) */
  private readonly ledgerLines: LevelSubStore<LineLedger>;
  /** the same keys as stored, not decoded (a statement group's lines, decoded family by family: `storedFactsOf`) */
  private readonly storedLines: LevelSubStore<Buffer>;
  private readonly due: LevelSubStore<1>;
  /** the due lines of consumed batches, one key per batch (`DueKeys`): with `due`, the due set */
  private readonly dueSets: LevelSubStore<string>;
  private readonly operator: LevelSubStore<OperatorPayment>;
  /** per line, the claims whose operator payment names it (one value per line: a point read, where LMDB scanned `payments.operator-by-line/<lineKey>␟<claimId>`) */
  private readonly lineOperators: LevelSubStore<string[]>;
  private readonly debts: LevelSubStore<string>;
  private readonly runs: LevelSubStore<{ at: string; orders: number }>;
  private readonly held: LevelSubStore<Held>;
  private readonly approvals: LevelSubStore<Approval>;
  private readonly handedOver: LevelSubStore<string>;
  private readonly pendingRun: LevelSubStore<StoredIntent>;
  private readonly pendingOrders: LevelSubStore<RunIntent['orders']>;
  private readonly outboxEntries: LevelSubStore<OutboxEntry>;
  readonly transfers: LevelSubStore<TransferRecord>;
  readonly returnBlocks: LevelSubStore<ReturnBlock>;
  readonly returned: LevelSubStore<ReturnedTransfer>;
  readonly returnFiles: LevelSubStore<ReturnFileRecord>;
  readonly returnExceptions: LevelSubStore<ReturnException>;
  private readonly returnsToReport: LevelSubStore<LineReturn>;
  /** per line, the runs that moved it, in runId order (one value per line, where LMDB had `payments.line-run/<lineKey>␟<runId>`) */
  private readonly lineRuns: LevelSubStore<LineRun[]>;
  private readonly lineBlocked: LevelSubStore<LineBlocked>;
  private readonly reports: LevelSubStore<StoredReport>;
  private readonly reportLines: LevelSubStore<(SettledTuple | SettledLine)[]>;
  private readonly runMoves: LevelSubStore<StoredMove>;
  private readonly runPayees: LevelSubStore<PayeeOutcome>;
  private readonly runOps: LevelSubStore<StoredOps>;
  /** the blocked payees whose lines are out of the due set (src/payments/parked.ts) */
  private readonly parked: LevelSubStore<ParkedPayee>;
  private readonly runParked: LevelSubStore<1>;
  /** the member statements to write again (statement-dirty.ts): in the payment commits' own batch */
  private readonly statements: PaymentStatementMarks;

  private constructor(readonly level: LevelStore) {
    this.lines = level.sub('payments.line', paymentLineCodec);
    this.ledgerLines = level.sub('payments.line', paymentLedgerLineCodec);
    this.storedLines = level.sub('payments.line', STORED_BYTES);
    this.due = level.sub('payments.due');
    this.dueSets = level.sub('payments.due-set', 'text');
    this.operator = level.sub('payments.operator');
    this.lineOperators = level.sub('payments.line-operators');
    this.debts = level.sub('payments.debt');
    this.runs = level.sub('payments.run');
    this.held = level.sub('payments.held');
    this.approvals = level.sub('payments.approval');
    this.handedOver = level.sub('payments.handed-over');
    this.pendingRun = level.sub('payments.pending');
    this.pendingOrders = level.sub('payments.pending-orders');
    this.outboxEntries = level.sub('payments.outbox');
    this.transfers = level.sub('payments.transfer');
    this.returnBlocks = level.sub('payments.return-block');
    this.returned = level.sub('payments.returned');
    this.returnFiles = level.sub('payments.return-file');
    this.returnExceptions = level.sub('payments.return-exception');
    this.returnsToReport = level.sub('payments.return-to-report');
    this.lineRuns = level.sub('payments.line-runs');
    this.lineBlocked = level.sub('payments.line-blocked');
    this.reports = level.sub('payments.report');
    this.reportLines = level.sub('payments.report-lines');
    this.runMoves = level.sub('payments.run-move');
    this.runPayees = level.sub('payments.run-payee');
    this.runOps = level.sub('payments.run-ops');
    this.parked = level.sub('payments.parked');
    this.runParked = level.sub('payments.run-parked');
    this.statements = new PaymentStatementMarks(new DirtyFamilies(level));
  }

  /** The statement marks for ONE commit, asked for in its read phase (`PaymentStatementMarks.forCommit`). */
  commitMarks(): Promise<PaymentStatementMarks> {
    return this.statements.forCommit();
  }

  /**
   * Opens the payment state in the home's LevelDB for the payment stage: an older home's state is
   * moved from LMDB first (payments-move.ts), then a legacy ledger.json imported. LevelDB's LOCK
   * allows one process: beside a running `noemie run` this throws its LEVEL_LOCKED error
   * (`isLevelLocked`), and the CLI asks the running service instead (src/cli/service-client.ts).
   */
  static async open(home: string): Promise<PaymentsStore> {
    const level = await LevelStore.open(home);
    const store = new PaymentsStore(level);
    try {
      // the runs' folders go there; made once the LevelDB is ours (openForReading: none, no payment state)
      await mkdir(join(home, 'payments'), { recursive: true });
      await movedOnce(home, level);
      await store.importLegacy(home);
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /**
   * A view over the home's LevelDB already open in this process (the statement index's, in `noemie
   * run --once`): the caller keeps it and closes it. No legacy import; an older home's state is
   * moved first (`kv`: its LMDB store, open in the caller), so the view never reads a half layout.
   */
  static async over(level: LevelStore, kv: StateStore | null): Promise<PaymentsStore> {
    await movedOnce(dirname(dirname(level.dir)), level, kv);
    return new PaymentsStore(level);
  }

  /**
   * Read-only view for a dry run or a read-only command: the legacy file if one is still waiting
   * to be imported (nothing renamed), else the state (an older home's moved to LevelDB first: a
   * change of layout, not of facts), else null. A home whose payment stage never ran (no
   * `<home>/payments`: `open` makes it before it writes anything) has none, even beside a process
   * holding the LevelDB; a home that has one, beside such a process: LEVEL_LOCKED, thrown.
   */
  static async openForReading(home: string): Promise<PaymentsStore | { legacy: PaymentsState } | null> {
    const legacy = await readLegacyLedgerFile(legacyLedgerFileOf(home));
    if (legacy !== null) return { legacy };
    if (!existsSync(levelDirOf(home)) && !existsSync(stateStoreFileOf(home))) return null;
    let level: LevelStore;
    try {
      level = await LevelStore.open(home);
    } catch (e) {
      if (isLevelLocked(e) && !existsSync(join(home, 'payments'))) return null;
      throw e;
    }
    const store = new PaymentsStore(level);
    try {
      await movedOnce(home, level);
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /**
   * Import: the file's state replaces the store's payment keys, then the file is renamed. A crash
   * before the rename imports the same file again over the same keys: same result.
   */
  private async importLegacy(home: string): Promise<void> {
    const file = legacyLedgerFileOf(home);
    await rm(`${file}.tmp`, { force: true }); // a save of the previous version interrupted by a crash: never the state
    if (!existsSync(file)) return;
    const state = await readLegacyLedgerFile(file);
    if (state === null) return;
    await this.replaceAll(state);
    await rename(file, `${file}.imported`);
  }

  // ---- slices -------------------------------------------------------------------------------

  /** The part of the ledger a step may read or change (module comment): point reads, and scans for a run or the controls. */
  async readSlice(keys: SliceKeys): Promise<PaymentsLedger> {
    const lines: Record<string, LineLedger> = {};
    const operatorPaid: Record<string, OperatorPayment> = {};
    const due: Record<string, true> = {};
    const addLine = (k: string) => {
      if (Object.hasOwn(lines, k)) return;
      const line = this.ledgerLines.get(k);
      if (line !== undefined) lines[k] = line;
    };
    const addClaim = (c: string) => {
      if (Object.hasOwn(operatorPaid, c)) return;
      const p = this.operator.get(c);
      if (p !== undefined) operatorPaid[c] = p;
    };
    const lineDue = keys.lineDue !== false;
    // the given lines and claims read at once (LevelDB's reads on the thread pool): a consumed batch's thousands
    const lineKeys = [...new Set(keys.lineKeys ?? [])];
    const stored = await this.ledgerLines.getMany(lineKeys);
    for (let i = 0; i < lineKeys.length; i++) {
      const k = lineKeys[i]!;
      const line = stored[i];
      if (line !== undefined) lines[k] = line;
      // a line already due stays due: knowing it spares the batch a put of the same key (and a
      // step that removes marks must know them: a bank return's slice reads them)
      if (lineDue && this.due.has(k)) due[k] = true;
    }
    const claimIds = [...new Set(keys.claimIds ?? [])];
    const paid = await this.operator.getMany(claimIds);
    for (let i = 0; i < claimIds.length; i++) if (paid[i] !== undefined) operatorPaid[claimIds[i]!] = paid[i]!;
    let debts: Record<string, string> = {};
    let held: Record<string, Held> = {};
    let approvals: Record<string, Approval> = {};
    if (keys.run) {
      for await (const k of this.due.keys()) {
        due[k] = true;
        addLine(k);
      }
      for (const [, text] of await this.dueSets.entriesIn()) {
        for (const k of linesOfDueSet(text)) {
          due[k] = true;
          addLine(k);
        }
      }
      // the parked payees' lines: owed, out of the due set only so that a streamed run need not
      // decide them again while nothing changes for them (parked.ts); a run decided in memory (a
      // dry run) decides them all, as before session 24
      for (const k of await this.parkedLines()) {
        due[k] = true;
        addLine(k);
      }
      // a run needs the operator payments of the lines it looks at: the due lines and any line
      // this slice carries (a dry run adds the lines of the inputs it applies in memory)
      for (const k of Object.keys(lines)) for (const c of this.lineOperators.get(k) ?? []) addClaim(c);
      // one entry per payee with a debt: bounded by payees, not by history
      debts = Object.fromEntries(await this.debts.entriesIn());
    }
    if (keys.run || keys.controls) {
      // one held order and one approval per payee at most
      held = Object.fromEntries(await this.held.entriesIn());
      approvals = Object.fromEntries(await this.approvals.entriesIn());
    }
    let returnBlocks: Record<string, ReturnBlock> = {};
    // one per payee at most, like the debts
    if (keys.run) returnBlocks = Object.fromEntries(await this.returnBlocks.entriesIn());
    // the returns applied since the last run (its report lists them, it clears them): bounded by returns, not history
    const returnsToReport: Record<string, LineReturn> = keys.run ? Object.fromEntries(await this.returnsToReport.entriesIn()) : {};
    for (const p of keys.payees ?? []) {
      const debt = this.debts.get(p);
      if (debt !== undefined) debts[p] = debt;
      const block = this.returnBlocks.get(p);
      if (block !== undefined) returnBlocks[p] = block;
    }
    const runs: Record<string, { at: string; orders: number }> = {};
    if (keys.runId !== undefined) {
      const r = this.runs.get(keys.runId);
      if (r !== undefined) runs[keys.runId] = r;
    }
    return { lines, operatorPaid, due, debts, runs, held, approvals, returnBlocks, returnsToReport };
  }

  /** Every line a parked payee's decision counted (parked.ts), once each. */
  private async parkedLines(): Promise<Set<string>> {
    return parkedLinesOf((await this.parked.entriesIn()).map(([, p]) => p));
  }

  /** Every key of a slice of inputs: their lines and their claims. */
  static keysOfEvents(events: readonly PaymentEvent[]): { lineKeys: Set<string>; claimIds: Set<string> } {
    const lineKeys = new Set<string>();
    const claimIds = new Set<string>();
    for (const e of events) {
      if (e.kind === 'settlement') lineKeys.add(e.settlement.lineKey);
      else {
        if (e.outcome.lineKey !== null) lineKeys.add(e.outcome.lineKey);
        if (e.outcome.tpClaimId !== null) claimIds.add(e.outcome.tpClaimId);
      }
    }
    return { lineKeys, claimIds };
  }

  /**
   * Writes what changed from `before` (a slice) to `after` (what the pure code returned for it).
   * Inside a commit only. Unchanged entries are the same objects (the pure code copies only what
   * it changes), so the writes are the changed keys alone. Every read (the operator lists, the
   * statement index for the marks) is made before the first write: a batch that reads after it
   * has written folds its writes into a read-your-writes map first (LevelStore.read), and a
   * consumed batch writes tens of thousands of keys.
   */
  private writeChanges(before: PaymentsLedger, after: PaymentsLedger, alsoChanged: Iterable<string> = []): void {
    const w = new LedgerWrites(this.subs(), alsoChanged);
    diff(before.lines, after.lines, (k, v) => w.line(k, v), (k) => w.line(k, undefined));
    diff(before.due, after.due, (k) => w.due(k, true), (k) => w.due(k, false));
    diff(
      before.operatorPaid,
      after.operatorPaid,
      (c, p) => w.operatorPaid(c, Object.hasOwn(before.operatorPaid, c) ? before.operatorPaid[c]! : undefined, p),
      (c) => w.operatorPaid(c, before.operatorPaid[c]!, undefined),
    );
    diff(before.debts, after.debts, (k, v) => w.write(this.debts, k, v), (k) => w.write(this.debts, k, undefined));
    diff(before.runs, after.runs, (k, v) => w.write(this.runs, k, v), (k) => w.write(this.runs, k, undefined));
    diff(
      before.held,
      after.held,
      (k, v) => {
        // a statement shows a hold's payee only (the key): the lines it starts or stops naming
        const was = new Set(Object.hasOwn(before.held, k) ? before.held[k]!.lineKeys : []);
        const now = new Set(v.lineKeys);
        for (const l of now) if (!was.has(l)) w.changed.add(l);
        for (const l of was) if (!now.has(l)) w.changed.add(l);
        w.write(this.held, k, v);
      },
      (k) => {
        for (const l of before.held[k]!.lineKeys) w.changed.add(l);
        w.write(this.held, k, undefined);
      },
    );
    diff(before.approvals, after.approvals, (k, v) => w.write(this.approvals, k, v), (k) => w.write(this.approvals, k, undefined));
    diff(before.returnBlocks ?? {}, after.returnBlocks ?? {}, (k, v) => w.write(this.returnBlocks, k, v), (k) => w.write(this.returnBlocks, k, undefined));
    diff(before.returnsToReport ?? {}, after.returnsToReport ?? {}, (k, v) => w.write(this.returnsToReport, k, v), (k) => w.write(this.returnsToReport, k, undefined));
    const familyIn = (ledger: PaymentsLedger, k: string) => (Object.hasOwn(ledger.lines, k) ? ledger.lines[k]!.settlement?.adherentId : undefined);
    w.finish((k) => [familyIn(before, k), familyIn(after, k)]);
  }

  /**
   * `writeChanges` for a slice the ledger's own fold changed IN PLACE (`foldPaymentEvents`): the
   * keys it changed, with their values before, are in `changes` — no copy of the slice's maps, no
   * diff of them whole (a consumed batch's 16 384 keys; bench/README.md, "Session 13 — payments").
   * The same writes and marks as `writeChanges(slice before, slice after)`.
   */
  private writeFolded(after: PaymentsLedger, changes: FoldChanges, marks: PaymentStatementMarks = this.statements): void {
    const w = new LedgerWrites({ ...this.subs(), statements: marks });
    // a fold sets lines, never removes one
    for (const [k, was] of changes.lines) if (after.lines[k] !== was) w.line(k, after.lines[k]);
    // the batch's due marks as ONE key (DueKeys), not a key per line: put here, removed whole by the run
    w.dueSet(changes.due);
    for (const [c, was] of changes.operatorPaid) {
      const now = Object.hasOwn(after.operatorPaid, c) ? after.operatorPaid[c] : undefined;
      if (now !== was) w.operatorPaid(c, was, now);
    }
    const familyBefore = (k: string) => (changes.lines.has(k) ? changes.lines.get(k)?.settlement?.adherentId : after.lines[k]?.settlement?.adherentId);
    w.finish((k) => [familyBefore(k), Object.hasOwn(after.lines, k) ? after.lines[k]!.settlement?.adherentId : undefined], true);
  }

  private subs(): LedgerSubs {
    return { lines: this.ledgerLines, due: this.due, dueSets: this.dueSets, operator: this.operator, lineOperators: this.lineOperators, statements: this.statements };
  }

  /**
   * Inside a commit (a bank return file's): marks the returned transfer's movement in the line-run
   * records of its run, so a member statement no longer counts it as paid (src/statement/payment.ts).
   */
  markLineRunsReturned(transfer: TransferRecord, returned: { endToEndId: string; code: string; label: string }): void {
    this.statements.markLines(transfer.lines.map((l) => l.lineKey));
    const marked = (runs: readonly LineRun[] | undefined): LineRun[] | null => {
      const i = runs?.findIndex((r) => r.runId === transfer.runId) ?? -1;
      if (runs === undefined || i < 0) return null;
      const run = runs[i]!;
      return runs.map((r, j) => (j === i ? { ...run, moved: run.moved.map((m) => (m.payee === transfer.payee ? { ...m, returned } : m)) } : r));
    };
    for (const l of transfer.lines) {
      // (this batch's own write of the line, when the return changed it: read-your-writes)
      const line = this.ledgerLines.get(l.lineKey);
      if (line?.runs !== undefined) {
        // the list inside the line (since session 21)
        const runs = marked(line.runs);
        if (runs !== null) this.ledgerLines.put(l.lineKey, { ...line, runs });
        continue;
      }
      // a line written before: its list in its own key
      const runs = marked(this.lineRuns.get(l.lineKey));
      if (runs !== null) this.lineRuns.put(l.lineKey, runs);
    }
  }

  // ---- steps --------------------------------------------------------------------------------

  /** Applies a consumed batch: one batch over that batch's keys. */
  async applyEvents(events: readonly PaymentEvent[], apply: (ledger: PaymentsLedger, events: readonly PaymentEvent[]) => PaymentsLedger = applyPaymentEvents): Promise<void> {
    if (events.length === 0) return;
    // read, decide and commit as one step: a batch handled at the same time reads this one's writes
    await this.level.update(async () => {
      // the pure fold only adds due marks (never removes one): the marks need not be read
      const slice = await this.readSlice({ ...PaymentsStore.keysOfEvents(events), lineDue: false });
      if (apply !== applyPaymentEvents) {
        const after = apply(slice, events);
        return () => this.writeChanges(slice, after);
      }
      const marks = await this.commitMarks();
      // the ledger's own fold: the slice (this step's alone) folded in place, what changed recorded as it goes
      const changes = noFoldChanges();
      foldPaymentEvents(slice, events, changes);
      return () => this.writeFolded(slice, changes, marks);
    });
  }

  /**
   * Records a decided run: the ledger changes and (when it has files) its intent and its
   * EndToEndIds in the handed-over index — ONE batch, so after a crash the run is either not
   * decided at all or decided and pending, never one without the other. The run's report goes in
   * the same batch: a restart that completes the run writes the report it decided.
   */
  async commitRun(before: PaymentsLedger, after: PaymentsLedger, intent: RunIntent | null, report: RunReport | null = null, blocked: readonly Blocked[] = []): Promise<void> {
    await this.level.update(async () => {
      const oldOrders = intent === null ? [] : await this.pendingOrders.keysAfter(null, Number.MAX_SAFE_INTEGER);
      const dueSets = await this.dueSets.keysAfter(null, Number.MAX_SAFE_INTEGER);
      // the lines with a blocked mark the run leaves due for nobody: the mark's reason is gone (recordLineRuns)
      const stale = (await this.lineBlocked.keysAfter(null, Number.MAX_SAFE_INTEGER)).filter((k) => !Object.hasOwn(after.due, k));
      return () => {
        // the blocked payees' lines get a new blocked mark (recordLineRuns): their statements change
        // when what they show of it does (a line blocked again for the same payee and reason: no);
        // a due line's mark removed too (the streamed apply marks the same lines)
        const newlyBlocked = blocked.flatMap((b) => b.lineKeys.filter((k) => blockedShown(this.lineBlocked.get(k)) !== blockedShown(b)));
        // the lines whose `paid` the run changed, with its record in their run list (recordLineRuns)
        after = this.withRunRecords(before, after);
        this.writeChanges(before, after, [...newlyBlocked, ...stale.filter((k) => Object.hasOwn(before.due, k))]);
        // the run read the batches' due sets (readSlice): removed, the lines it leaves due marked one by one
        if (dueSets.length > 0) {
          for (const id of dueSets) this.dueSets.remove(id);
          for (const k of Object.keys(after.due)) if (!this.due.has(k)) this.due.put(k, 1);
        }
        this.recordLineRuns(before, after, blocked, stale);
        if (report !== null) this.putReport(report);
        if (intent === null) return;
        this.putPending(intent, oldOrders);
        // what each transfer paid, to undo it exactly if the bank returns it
        for (const o of intent.orders) {
          const t = transferRecordOf(o);
          if (t !== null) this.transfers.put(o.endToEndId, t);
        }
        for (const f of intent.files) for (const id of f.endToEndIds) this.handedOver.put(id, f.messageId);
      };
    });
  }

  /**
   * Applies a bank return file: `decide` reads (inside the exclusive step, so a run or another
   * file cannot interleave) and returns the slice, the ledger after the returns and the other
   * writes; all of it is ONE batch — a file is applied whole or not at all.
   */
  async commitReturns(decide: () => Promise<{ before: PaymentsLedger; after: PaymentsLedger; write: () => void }>): Promise<void> {
    await this.level.update(async () => {
      const d = await decide();
      return () => {
        this.writeChanges(d.before, d.after);
        d.write();
      };
    });
  }

  /**
   * Which run paid which line (for member statements): the lines whose `paid` this run changed get
   * the run's record of its movements in their run list — inside the line since session 21 (a
   * line written before: its `payments.line-runs` list taken in, that key removed). Inside
   * `commitRun`'s batch, before the lines are written, so a run and its records are one fact.
   */
  private withRunRecords(before: PaymentsLedger, after: PaymentsLedger): PaymentsLedger {
    const runId = newRunOf(before, after);
    if (runId === undefined) return after;
    const at = after.runs[runId]!.at;
    let lines: Record<string, LineLedger> | null = null;
    for (const [lineKey, line] of Object.entries(after.lines)) {
      const was = Object.hasOwn(before.lines, lineKey) ? before.lines[lineKey]! : undefined;
      if (was === line) continue;
      const moved = movedBetween(was?.paid ?? {}, line.paid);
      if (moved.length === 0) continue;
      let runs = line.runs;
      if (runs === undefined && was !== undefined && paidToSomeone(was)) {
        runs = this.lineRuns.get(lineKey);
        if (runs !== undefined) this.lineRuns.remove(lineKey);
      }
      (lines ??= { ...after.lines })[lineKey] = { ...line, runs: withLineRun(runs, { runId, at, moved }) };
    }
    return lines === null ? after : { ...after, lines };
  }

  /**
   * The blocked marks of a run: the lines it moved lose theirs, the lines of a blocked payee get one,
   * and a mark whose line the run leaves due for nobody goes (`stale`). Inside `commitRun`'s batch.
   */
  private recordLineRuns(before: PaymentsLedger, after: PaymentsLedger, blocked: readonly Blocked[], stale: readonly string[]): void {
    const runId = newRunOf(before, after);
    if (runId === undefined) return;
    // a mark never outlives its reason (payment-run-stream.ts blockedMarksOf): a run keeps a blocked line due
    for (const lineKey of stale) this.lineBlocked.remove(lineKey);
    const at = after.runs[runId]!.at;
    for (const [lineKey, line] of Object.entries(after.lines)) {
      const was = Object.hasOwn(before.lines, lineKey) ? before.lines[lineKey]! : undefined;
      if (was === line) continue;
      if (movedBetween(was?.paid ?? {}, line.paid).length === 0) continue;
      if (this.lineBlocked.has(lineKey)) this.lineBlocked.remove(lineKey);
    }
    for (const b of blocked) for (const lineKey of b.lineKeys) this.lineBlocked.put(lineKey, { runId, at, payee: b.payee, reason: b.reason });
  }

  /**
   * The payment facts of the given lines only (a member statement's lines): point reads only (the
   * line, its line-runs, its blocked mark, its operator payments, a hold naming it), so a
   * statement's cost follows its family, not the ledger.
   */
  paymentFactsOf(lineKeys: Iterable<string>): Map<string, LinePaymentFacts> {
    const out = new Map<string, LinePaymentFacts>();
    const heldOf = new Map<string, Held | undefined>();
    const held = (payee: string) => {
      if (!heldOf.has(payee)) heldOf.set(payee, this.held.get(payee));
      return heldOf.get(payee);
    };
    for (const lineKey of lineKeys) {
      const line = this.ledgerLines.get(lineKey) ?? null;
      // a run records a line-run only when it changes the line's `paid`, whose payees stay once
      // there (a recovery or a return leaves the payee at its new amount): no payee, no record
      // inside the line since session 21; a line written before: its own key
      const runs = line?.runs ?? (!paidToSomeone(line) ? [] : (this.lineRuns.get(lineKey) ?? []));
      const operatorPaid: OperatorPayment[] = [];
      for (const c of this.lineOperators.get(lineKey) ?? []) {
        const p = this.operator.get(c);
        if (p !== undefined) operatorPaid.push(p);
      }
      out.set(lineKey, factsOfLine(lineKey, line, runs, operatorPaid, this.lineBlocked.get(lineKey) ?? null, held));
    }
    return out;
  }

  /**
   * `paymentFactsOf`, the same facts, read in two rounds of LevelDB `getMany` (the lines, their
   * operator-claim lists and blocked marks; then the runs of the lines paid to someone, the operator
   * payments named, the holds of the payees): the reads run on libuv's pool, not on the caller's
   * thread — the statement pass's main thread, which reads while its workers render (session 12).
   * What is committed, outside any commit (a commit's batch being built is not seen).
   */
  async paymentFactsOfMany(lineKeys: readonly string[], once: StatementFactsOnce | null = null): Promise<Map<string, LinePaymentFacts>> {
    const blockedOnce = once?.blocked ?? null;
    const heldOnce = once?.held ?? null;
    const [stored, claimsOf, blocked] = await Promise.all([this.ledgerLines.getMany(lineKeys), this.lineOperators.getMany(lineKeys), blockedOnce === null ? this.lineBlocked.getMany(lineKeys) : null]);
    const lines = stored.map((s) => s ?? null);
    const paid = runListsApart(lineKeys, lines);
    const claims = [...new Set(claimsOf.flatMap((c) => c ?? []))];
    const payees = heldOnce === null ? [...new Set(lines.flatMap((line) => [...payeesWaitingFor(line)]))] : [];
    const [runs, operator, held] = await Promise.all([this.lineRuns.getMany(paid), this.operator.getMany(claims), this.held.getMany(payees)]);
    const heldOf = heldOnce?.byPayee ?? new Map(payees.map((p, i) => [p, held[i]] as const));
    const heldAt = (payee: string) => heldOf.get(payee);
    return factsOfLines(lineKeys, lines, {
      runs: new Map(paid.map((k, i) => [k, runs[i]] as const)),
      claimsAt: (i) => claimsOf[i],
      operator: new Map(claims.map((c, i) => [c, operator[i]] as const)),
      blockedAt: (i, lineKey) => (blockedOnce === null ? (blocked![i] ?? null) : (blockedOnce.get(lineKey) ?? null)),
      // a hold counts only where it names the line: a line no hold names is held by none (factsOfLine)
      heldOf: (lineKey) => (heldOnce === null || heldOnce.lines.has(lineKey) ? heldAt : null),
    });
  }

  /**
   * `paymentFactsOfMany` in two steps, for the statement pass of one thread (session 23): this reads
   * a group's lines as stored (bytes, not decoded), their claim lists and claims; `storedFactsOf`
   * then gives one family's facts, decoded as its statement is rendered — so a group's decoded facts
   * do not live through the previous group's writing (read-ahead), outliving young-generation
   * collections. Needs the marks and holds read once (`once` whole); null otherwise (the caller
   * reads with `paymentFactsOfMany`).
   */
  async storedFactsOfMany(lineKeys: readonly string[], once: StatementFactsOnce): Promise<StoredFacts | null> {
    if (once.blocked === null || once.held === null) return null;
    const [stored, claimsOf] = await Promise.all([this.storedLines.getMany(lineKeys), this.lineOperators.getMany(lineKeys)]);
    const claims = [...new Set(claimsOf.flatMap((c) => c ?? []))];
    const operator = await this.operator.getMany(claims);
    const lines = new Map<string, Buffer | undefined>();
    const claimsOfLine = new Map<string, string[] | undefined>();
    for (let i = 0; i < lineKeys.length; i++) {
      lines.set(lineKeys[i]!, stored[i]);
      claimsOfLine.set(lineKeys[i]!, claimsOf[i]);
    }
    return { lines, claims: claimsOfLine, operator: new Map(claims.map((c, i) => [c, operator[i]] as const)), blocked: once.blocked, held: once.held };
  }

  /** These lines' facts from a group's `storedFactsOfMany` (the same as `paymentFactsOfMany` gives): decoded now; a run list still in its own key read. */
  async storedFactsOf(stored: StoredFacts, lineKeys: readonly string[]): Promise<Map<string, LinePaymentFacts>> {
    const lines = lineKeys.map((k) => {
      const raw = stored.lines.get(k);
      return raw === undefined ? null : paymentLedgerLineCodec.decode(raw);
    });
    const paid = runListsApart(lineKeys, lines);
    const runs = paid.length === 0 ? [] : await this.lineRuns.getMany(paid);
    const { byPayee, lines: heldLines } = stored.held;
    const heldAt = (payee: string) => byPayee.get(payee);
    return factsOfLines(lineKeys, lines, {
      runs: new Map(paid.map((k, i) => [k, runs[i]] as const)),
      claimsAt: (i) => stored.claims.get(lineKeys[i]!),
      operator: stored.operator,
      blockedAt: (_, lineKey) => stored.blocked.get(lineKey) ?? null,
      heldOf: (lineKey) => (heldLines.has(lineKey) ? heldAt : null),
    });
  }

  /**
   * What a statement pass reads once for all its families, not per line (session 23): every
   * line's blocked mark (a run leaves them on the lines of its blocked payees only: 1 239 at 100 k
   * lines, where the pass read 98 k keys, nearly all misses) and every held order (one per held
   * payee: 21 at 100 k, where the pass read ≈ 20 k payee keys), each one range read — while there
   * are at most `atOnce` of them (an older home's history of marks, or a home with that many held
   * payees: null, read per group as before). What is committed when the pass starts: a payment
   * change after it marks its families again (a newer mark number, which the pass's clear keeps),
   * as a change after a group's reads always did.
   */
  async statementFactsOnce(atOnce = STATEMENT_FACTS_AT_ONCE): Promise<StatementFactsOnce> {
    const [marks, holds] = await Promise.all([this.lineBlocked.entriesAfter(null, atOnce + 1), this.held.entriesAfter(null, atOnce + 1)]);
    let held: StatementFactsOnce['held'] = null;
    if (holds.length <= atOnce) {
      const lines = new Set<string>();
      for (const [, h] of holds) for (const k of h.lineKeys) lines.add(k);
      held = { byPayee: new Map(holds), lines };
    }
    return { blocked: marks.length > atOnce ? null : new Map(marks), held };
  }

  async commitApproval(before: PaymentsLedger, after: PaymentsLedger): Promise<void> {
    await this.level.commit(() => this.writeChanges(before, after));
  }

  /**
   * The pending intent, its orders whole (tools, tests, a dry run: a streamed run's orders are read
   * back with their lines from `payments.run-move`; the stage itself writes them one at a time).
   */
  async pending(): Promise<RunIntent | null> {
    const stored = this.pendingRun.get(PENDING);
    if (stored === undefined || stored.orderKeys === undefined) return stored ?? null;
    const { orderKeys, streamed, ...intent } = stored;
    const orders: RunIntent['orders'] = [];
    for (let n = 0; n < orderKeys; n++) {
      for (const o of this.pendingOrders.get(String(n).padStart(6, '0')) ?? []) {
        orders.push(streamed === true ? orderWithLines(o as unknown as PaymentOrderHead, await this.movedLinesOf(o.payee)) : o);
      }
    }
    return { ...intent, orders };
  }

  /** Whether a run's intent is pending (its files not all done), without reading its orders. */
  hasPending(): boolean {
    return this.pendingRun.has(PENDING);
  }

  /** A streamed run's movements for one payee, in lineKey order (payment-run-stream.ts). */
  private async movedLinesOf(payee: string): Promise<PaymentLine[]> {
    return (await this.runMoves.entriesIn(compositeKey(payee, ''))).map(([k, [version, amount]]) => ({ lineKey: k.slice(payee.length + 1), version, amount: moneyOfCents(amount) }));
  }

  /**
   * Inside a commit: the intent, its orders in keys of about INTENT_LINES_PER_KEY line movements
   * (a run's orders carry every line it moves: as one value, as large as the run). Only one intent
   * is ever pending: the keys are numbered from 0; `oldKeys` (read before the commit: a scan) are
   * the earlier intent's, removed in the same batch.
   */
  private putPending(intent: RunIntent, oldKeys: readonly string[]): void {
    for (const k of oldKeys) this.pendingOrders.remove(k);
    let n = 0;
    let chunk: RunIntent['orders'] = [];
    let lines = 0;
    const flush = () => {
      this.pendingOrders.put(String(n++).padStart(6, '0'), chunk);
      chunk = [];
      lines = 0;
    };
    for (const o of intent.orders) {
      chunk.push(o);
      lines += o.lines.length;
      if (lines >= INTENT_LINES_PER_KEY || chunk.length >= INTENT_ORDERS_PER_KEY) flush();
    }
    if (chunk.length > 0) flush();
    this.pendingRun.put(PENDING, { ...intent, orders: [], orderKeys: n });
  }

  /** The intent and its order keys removed, in ONE batch (the keys listed first: a scan, inside the exclusive step). */
  async clearPending(): Promise<void> {
    await this.level.update(async () => {
      const orderKeys = await this.pendingOrders.keysAfter(null, Number.MAX_SAFE_INTEGER);
      return () => {
        this.pendingRun.remove(PENDING);
        for (const k of orderKeys) this.pendingOrders.remove(k);
      };
    });
  }

  /** The handed-over index restricted to `ids` (a run's own EndToEndIds): lookups, no scan. */
  handedOverOf(ids: Iterable<string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const id of ids) {
      const owner = this.handedOver.get(id);
      if (owner !== undefined) out[id] = owner;
    }
    return out;
  }

  /** Inside a commit: the report, its settled lines in keys of REPORT_LINES_PER_KEY (module comment). */
  private putReport(report: RunReport): void {
    const lines = report.settled.lines;
    const keys = Math.ceil(lines.length / REPORT_LINES_PER_KEY);
    for (let n = 0; n < keys; n++) this.reportLines.put(chunkKey(report.runId, n), lines.slice(n * REPORT_LINES_PER_KEY, (n + 1) * REPORT_LINES_PER_KEY).map(settledTupleOf));
    this.reports.put(report.runId, { ...report, settled: { ...report.settled, lines: [] }, settledLineKeys: keys });
  }

  /** The report recorded with run `runId` (runs decided before reports existed have none; one recorded before session 7 is one value). */
  report(runId: string): RunReport | undefined {
    const stored = this.reports.get(runId);
    if (stored === undefined || stored.settledLineKeys === undefined) return stored;
    const { settledLineKeys, ...report } = stored;
    const lines: RunReport['settled']['lines'] = [];
    for (let n = 0; n < settledLineKeys; n++) for (const l of this.reportLines.get(chunkKey(runId, n)) ?? []) lines.push(settledRowOf(l));
    return { ...report, settled: { ...report.settled, lines } };
  }

  /**
   * The report recorded with run `runId` and how many `report-lines` chunks hold its settled rows;
   * null for a report recorded whole (before session 7: its rows are in it).
   */
  reportHeader(runId: string): { report: RunReport; settledLineKeys: number | null } | undefined {
    const stored = this.reports.get(runId);
    if (stored === undefined) return undefined;
    if (stored.settledLineKeys === undefined) return { report: stored, settledLineKeys: null };
    const { settledLineKeys, ...report } = stored;
    return { report, settledLineKeys };
  }

  run(runId: string): { at: string; orders: number } | undefined {
    return this.runs.get(runId);
  }

  async outbox(): Promise<OutboxEntry[]> {
    return (await this.outboxEntries.entriesIn()).map(([, e]) => e);
  }

  async removeOutbox(runId: string): Promise<void> {
    await this.level.commit(() => this.outboxEntries.remove(runId));
  }

  /**
   * The keys a streamed run (payment-run-stream.ts) reads and writes, each slice in a batch of its
   * own: that module holds the run's logic, this one the layout.
   */
  runKeys(): RunKeys {
    return {
      level: this.level, lines: this.lines, due: this.due, dueSets: this.dueSets, operator: this.operator, lineOperators: this.lineOperators, debts: this.debts, runs: this.runs,
      held: this.held, approvals: this.approvals, handedOver: this.handedOver, pendingRun: this.pendingRun, pendingOrders: this.pendingOrders,
      transfers: this.transfers, returnBlocks: this.returnBlocks, returnsToReport: this.returnsToReport, lineRuns: this.lineRuns, lineBlocked: this.lineBlocked,
      reports: this.reports, reportLines: this.reportLines, runMoves: this.runMoves, runPayees: this.runPayees, runOps: this.runOps,
      parked: this.parked, runParked: this.runParked, statements: this.statements,
      commitMarks: () => this.commitMarks(),
      lineOf: (k) => this.ledgerLines.get(k),
      linesOf: (ks) => this.ledgerLines.getMany(ks),
      putLine: (k, line) => this.ledgerLines.put(k, line),
    };
  }

  // ---- whole state (import, tests, tools) ---------------------------------------------------

  /** The whole payment state, read key by key (tests and tools; no stage reads it all). */
  async readAll(): Promise<PaymentsState> {
    const all = async <V>(sub: LevelSubStore<V>) => Object.fromEntries(await sub.entriesIn());
    const ledger: PaymentsLedger = {
      // without their run lists (statement facts, never in a PaymentsState: the legacy file has none, and
      // they were a key apart until session 21; `paymentFactsOf` reads them)
      lines: Object.fromEntries((await this.lines.entriesIn()).map(([k, v]) => [k, withoutRuns(lineOf(v))])),
      operatorPaid: await all(this.operator),
      // (the parked payees' lines are owed: in the due set of the ledger's model, readSlice's)
      due: Object.fromEntries([...(await this.due.keysAfter(null, Number.MAX_SAFE_INTEGER)), ...(await this.dueSets.entriesIn()).flatMap(([, text]) => linesOfDueSet(text)), ...(await this.parkedLines())].sort().map((k) => [k, true as const])),
      debts: await all(this.debts),
      runs: await all(this.runs),
      held: await all(this.held),
      approvals: await all(this.approvals),
      returnBlocks: await all(this.returnBlocks),
      returnsToReport: await all(this.returnsToReport),
    };
    return { ledger, outbox: await this.outbox(), pending: await this.pending(), handedOver: await all(this.handedOver) };
  }

  /**
   * Replaces the whole payment state (the import of a legacy file; tests): the statements' full-pass
   * marker forgotten (durable), every payment sub-store cleared (range clears: NOT one step), then
   * the state written in ONE batch. Not atomic as a whole: the import renames its file only after,
   * so a crash in between imports it again (and a read-only view reads the file until then).
   */
  async replaceAll(state: PaymentsState): Promise<void> {
    const subs: LevelSubStore<unknown>[] = [this.lines, this.due, this.dueSets, this.operator, this.lineOperators, this.debts, this.runs, this.held, this.approvals, this.handedOver, this.pendingRun, this.pendingOrders, this.outboxEntries, this.transfers, this.returnBlocks, this.returned, this.returnFiles, this.returnExceptions, this.returnsToReport, this.lineRuns, this.lineBlocked, this.reports, this.reportLines, this.runMoves, this.runPayees, this.runOps, this.parked, this.runParked];
    // what the statements were written from is gone: the next statement pass writes every family
    await this.level.commit(() => this.statements.families.forgetWritten());
    for (const s of subs) await s.clear();
    await this.level.commit(() => {
      this.writeChanges(initialLedger(), state.ledger);
      for (const e of state.outbox) this.outboxEntries.put(e.runId, e);
      if (state.pending !== null) this.putPending(state.pending, []);
      for (const [id, msgId] of Object.entries(state.handedOver)) this.handedOver.put(id, msgId);
    });
  }

  async close(): Promise<void> {
    await this.level.close();
  }
}

/** The sub-stores `LedgerWrites` writes. */
interface LedgerSubs {
  lines: LevelSubStore<LineLedger>;
  due: LevelSubStore<1>;
  dueSets: LevelSubStore<string>;
  operator: LevelSubStore<OperatorPayment>;
  lineOperators: LevelSubStore<string[]>;
  statements: PaymentStatementMarks;
}

/**
 * Inside a commit: a step's changes of the ledger (writeChanges, writeFolded), written after its
 * reads. The lines whose payment facts (as a statement reads them) change are collected, and
 * `finish` reads what it must (the operator lists, the statement index for the marks) before the
 * first write: a batch that reads after it has written folds its writes into a read-your-writes
 * map first (LevelStore.read), and a consumed batch writes tens of thousands of keys.
 */
class LedgerWrites {
  readonly changed: Set<string>;
  /** the writes, made by `finish`: [sub-store, key, value] (undefined: removed) */
  private readonly writes: [LevelSubStore<never>, string, unknown][] = [];
  private readonly lists: OperatorLists;

  constructor(
    private readonly subs: LedgerSubs,
    alsoChanged: Iterable<string> = [],
  ) {
    this.changed = new Set(alsoChanged);
    this.lists = new OperatorLists(subs.lineOperators);
  }

  write<V>(sub: LevelSubStore<V>, k: string, v: V | undefined): void {
    this.writes.push([sub as unknown as LevelSubStore<never>, k, v]);
  }

  line(k: string, line: LineLedger | undefined): void {
    this.changed.add(k);
    this.write(this.subs.lines, k, line);
  }

  due(k: string, on: boolean): void {
    this.write(this.subs.due, k, on ? 1 : undefined);
  }

  /** these lines made due, as one `payments.due-set` key (a line key holding a newline: its own mark) */
  dueSet(lineKeys: Iterable<string>): void {
    const keys: string[] = [];
    for (const k of lineKeys) {
      if (k.includes(DUE_SET_SEP)) this.due(k, true);
      else keys.push(k);
    }
    if (keys.length === 0) return;
    keys.sort();
    const id = randomUUID();
    for (let n = 0; n * DUE_SET_CHUNK < keys.length; n++) this.write(this.subs.dueSets, dueSetChunkKey(id, n), keys.slice(n * DUE_SET_CHUNK, (n + 1) * DUE_SET_CHUNK).join(DUE_SET_SEP));
  }

  /** a claim's operator payment changed from `was` to `now` (undefined: none) */
  operatorPaid(c: string, was: OperatorPayment | undefined, now: OperatorPayment | undefined): void {
    if (now === undefined) {
      this.changed.add(was!.lineKey);
      this.lists.unlist(was!.lineKey, c);
      this.write(this.subs.operator, c, undefined);
      return;
    }
    this.changed.add(now.lineKey);
    if (was !== undefined) this.changed.add(was.lineKey);
    if (was !== undefined && was.lineKey !== now.lineKey) this.lists.unlist(was.lineKey, c);
    this.write(this.subs.operator, c, now);
    this.lists.list(now.lineKey, c);
  }

  /**
   * The statement marks (`families`: the ledger's view of a changed line's family, before and
   * after), then every write. `last`: nothing of the commit reads after these writes, so they are
   * not kept for read-your-writes (LevelStore.writesOnly: a consumed batch's tens of thousands).
   */
  finish(families: (lineKey: string) => Iterable<string | null | undefined>, last = false): void {
    this.subs.statements.markLines(this.changed, families);
    if (last) this.subs.statements.families.level.writesOnly();
    for (const [sub, k, v] of this.writes) {
      if (v === undefined) sub.remove(k);
      else sub.put(k, v as never);
    }
    this.lists.write();
  }
}

/**
 * Inside a commit: the lines' operator-claim lists (`payments.line-operators`, one value per line)
 * as a step edits them — each list read once, edited in memory (a claim listed, or unlisted; the
 * key removed with its last claim), the edited ones written by `write`.
 */
class OperatorLists {
  private readonly lists = new Map<string, string[] | undefined>();
  private readonly edited = new Set<string>();

  constructor(private readonly sub: LevelSubStore<string[]>) {}

  private of(lineKey: string): string[] | undefined {
    if (!this.lists.has(lineKey)) this.lists.set(lineKey, this.sub.get(lineKey));
    return this.lists.get(lineKey);
  }

  /** The claim listed under its line (the list kept sorted). */
  list(lineKey: string, claimId: string): void {
    const list = this.of(lineKey) ?? [];
    if (list.includes(claimId)) return;
    this.lists.set(lineKey, [...list, claimId].sort());
    this.edited.add(lineKey);
  }

  /** The claim no longer listed under its line. */
  unlist(lineKey: string, claimId: string): void {
    const list = this.of(lineKey);
    if (list === undefined || !list.includes(claimId)) return;
    const rest = list.filter((c) => c !== claimId);
    this.lists.set(lineKey, rest.length === 0 ? undefined : rest);
    this.edited.add(lineKey);
  }

  write(): void {
    for (const k of this.edited) {
      const list = this.lists.get(k);
      if (list === undefined) this.sub.remove(k);
      else this.sub.put(k, list);
    }
  }
}

function withoutRuns(line: LineLedger): LineLedger {
  if (line.runs === undefined) return line;
  const { runs: _runs, ...rest } = line;
  return rest;
}

/** The run `after` records and `before` does not (commitRun's), if any. */
const newRunOf = (before: PaymentsLedger, after: PaymentsLedger) => Object.keys(after.runs).find((k) => !Object.hasOwn(before.runs, k));

/** A line's run list (none yet: undefined) with the record of `run.runId` in it, kept in runId order (replaced when already there). */
export function withLineRun(runs: readonly LineRun[] | undefined, run: LineRun): LineRun[] {
  if (runs === undefined) return [run];
  const i = runs.findIndex((r) => r.runId >= run.runId);
  if (i < 0) return [...runs, run];
  if (runs[i]!.runId === run.runId) return runs.map((r, j) => (j === i ? run : r));
  return [...runs.slice(0, i), run, ...runs.slice(i)];
}

const DUE_SET_SEP = '\n';

/**
 * Lines per `payments.due-set` key: a set is read a key at a time by the run (DueKeys), so what it
 * holds is ≈ 32 kB per set (≈ 350 sets at 1 M lines), not the sets whole (≈ 45 MB at 1 M).
 */
export const DUE_SET_CHUNK = 1024;

const dueSetChunkKey = (id: string, n: number) => compositeKey(id, String(n).padStart(6, '0'));

/** The due sets' ids, in key order, from their keys (`<id>␟<nnnnnn>`). */
export function dueSetIdsOf(keys: readonly string[]): string[] {
  const ids: string[] = [];
  for (const k of keys) {
    const id = k.slice(0, k.lastIndexOf(KEY_SEP));
    if (ids.at(-1) !== id) ids.push(id);
  }
  return ids;
}

/** A `payments.due-set` value's line keys. */
export function linesOfDueSet(text: string): string[] {
  return text === '' ? [] : text.split(DUE_SET_SEP);
}

/**
 * The due set in key order, a slice at a time: the per-line marks (`payments.due`, a range read
 * per slice) merged with the consumed batches' due sets (`payments.due-set`, each one sorted text,
 * read a key of DUE_SET_CHUNK lines at a time: a heap of one cursor per set), each line once. Session 20: a consumed batch
 * wrote one `payments.due` key per line it changed (139 524 puts at 100 k lines) which the run then
 * removed one by one (94 616 removes); a batch now writes ONE key, which the run's apply removes
 * whole in its last line slice (the lines it leaves due get a per-line mark in their slice).
 * Memory: one key's text per set (≈ 32 kB), no object per line but the slice's. `marked[i]`: the line has a per-line mark (the apply removes it).
 */
export class DueKeys {
  private readonly heap: DueCursor[] = [];
  private last: string | null = null;

  private constructor(
    private readonly keys: Pick<RunKeys, 'due' | 'dueSets'>,
    ids: readonly string[],
    after: string | null,
  ) {
    for (const id of ids) {
      const c: DueCursor = { id, n: -1, text: '', pos: 1, head: '' };
      if (!this.advance(c)) continue;
      while (after !== null && c.head <= after) if (!this.advance(c)) break;
      if (after === null || c.head > after) this.push(c);
    }
    this.last = after;
  }

  /**
   * The due keys after `after` (null: from the first), reading the sets `ids` (the ones the run's
   * scan listed) a key at a time: point reads of committed keys, made in a step's read phase.
   */
  static open(keys: Pick<RunKeys, 'due' | 'dueSets'>, ids: readonly string[], after: string | null): DueKeys {
    return new DueKeys(keys, ids, after);
  }

  /** The next `limit` due keys after the last ones given (fewer: the end). */
  async next(limit: number): Promise<{ keys: string[]; marked: boolean[] }> {
    const marks = await this.keys.due.keysAfter(this.last, limit);
    const keys: string[] = [];
    const marked: boolean[] = [];
    let m = 0;
    while (keys.length < limit) {
      const top = this.heap[0];
      const mark = m < marks.length ? marks[m]! : undefined;
      if (top === undefined && mark === undefined) break;
      if (mark !== undefined && (top === undefined || mark <= top.head)) {
        keys.push(mark);
        marked.push(true);
        m += 1;
        // the same line in a set: taken once
        while (this.heap.length > 0 && this.heap[0]!.head === mark) this.pop();
        continue;
      }
      const k = top!.head;
      keys.push(k);
      marked.push(false);
      while (this.heap.length > 0 && this.heap[0]!.head === k) this.pop();
    }
    if (keys.length > 0) this.last = keys.at(-1)!;
    return { keys, marked };
  }

  /** The cursor's next line, from its set's next key when its text is used up (false: none left). */
  private advance(c: DueCursor): boolean {
    while (c.pos > c.text.length) {
      const text = this.keys.dueSets.get(dueSetChunkKey(c.id, c.n + 1));
      if (text === undefined) return false;
      c.n += 1;
      c.text = text;
      c.pos = 0;
    }
    const nl = c.text.indexOf(DUE_SET_SEP, c.pos);
    const end = nl < 0 ? c.text.length : nl;
    c.head = c.text.slice(c.pos, end);
    c.pos = end + 1;
    return true;
  }

  /** The least cursor advanced past its head (dropped at its end). */
  private pop(): void {
    const h = this.heap;
    const c = h[0]!;
    if (this.advance(c)) this.siftDown(0);
    else {
      const tail = h.pop()!;
      if (h.length > 0) {
        h[0] = tail;
        this.siftDown(0);
      }
    }
  }

  private push(c: DueCursor): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.head <= h[i]!.head) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.head < h[m]!.head) m = l;
      if (r < h.length && h[r]!.head < h[m]!.head) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}

/** A set's reader: its key `n` in hand (text), where it is in it (pos), its current line (head). */
interface DueCursor {
  id: string;
  n: number;
  text: string;
  pos: number;
  head: string;
}

/** The homes whose move is running in this process: two opens of one process (the stage and the admin API) share it. */
const MOVING = new Map<string, Promise<void>>();

/**
 * An older home's payment state moved from LMDB to LevelDB, once (payments-move.ts; resumed after
 * a crash). `kv`: the home's LMDB store when the caller holds it open; else opened here if the
 * home has one (a home without LMDB state has nothing to move: the marker alone).
 */
function movedOnce(home: string, level: LevelStore, kv: StateStore | null = null): Promise<void> {
  let move = MOVING.get(level.dir);
  if (move === undefined) {
    move = (async () => {
      const lmdb = kv ?? StateStore.open(home, { create: false });
      try {
        if (lmdb !== null) await movePaymentsToLevel(lmdb, level);
        else if (moveMarkerOf(level, PAYMENTS_LAYOUT) === undefined) await level.commit(() => level.sub<MoveMarker>(PAYMENTS_LAYOUT.sub).put(PAYMENTS_LAYOUT.key, { layout: PAYMENTS_LAYOUT.layout, moved: new Date().toISOString() }));
      } finally {
        if (kv === null) await lmdb?.close();
      }
    })().finally(() => MOVING.delete(level.dir));
    MOVING.set(level.dir, move);
  }
  return move;
}

/**
 * How `payments.line` values are stored: a LineLedger whose payee-keyed `paid` and EndToEndId-keyed
 * `returned` maps are lists of [key, value] pairs. Chosen for LMDB (sessions 6–10): as objects,
 * msgpackr (its encoding, with records) made every new set of keys — every payee — a record
 * definition of its own. In LevelDB JSON (session 11: the move copies the values as they are), then
 * msgpack with fixed structures (session 12, payment-line-codec.ts; JSON values still read). Values
 * written before (plain objects) are read as they are.
 */
export interface StoredLine extends Omit<LineLedger, 'paid' | 'returned'> {
  paid: readonly (readonly [string, string])[] | LineLedger['paid'];
  returned?: readonly (readonly [string, LineReturn])[] | LineLedger['returned'];
}

/** The fields a LineLedger has: any other (a later version's) is carried over as it is. */
const LINE_FIELDS = new Set(['settlement', 'tp', 'returns', 'paid', 'returned', 'runs']);

/**
 * Both directions build the object field by field, not by rest and spread (`{ paid, ...rest }`):
 * those made objects of varying shapes, which every later read of the line paid for — as a
 * LineLedger is read per due line by the run's decision and apply (bench/README.md, "Session 12 —
 * payments": decode and lineOf 3.2–5.5 → 1.7–2.0 µs a line, movementsOf 3.5–4.5 → 2.5).
 */
function storedLine(line: LineLedger): StoredLine {
  const out: StoredLine = line.returns === undefined ? { settlement: line.settlement, tp: line.tp, paid: Object.entries(line.paid) } : { settlement: line.settlement, tp: line.tp, returns: line.returns, paid: Object.entries(line.paid) };
  if (line.returned !== undefined) out.returned = Object.entries(line.returned);
  if (line.runs !== undefined) out.runs = line.runs;
  return withOtherFields(line, out);
}

/** `payments.line` values as LineLedgers: the bytes of `paymentLineCodec` for `storedLine(line)`, read as `lineOf` reads them. */
export const paymentLedgerLineCodec = ledgerLineCodec(lineOf, storedLine);

/**
 * The blocked marks and held orders a statement pass reads at once (`statementFactsOnce`), each
 * null when there are more than this: ≈ 100 B a mark, a held order its lines' keys.
 */
export const STATEMENT_FACTS_AT_ONCE = 50_000;

/** What `statementFactsOnce` read: every blocked mark by line, every held order by payee with the lines they name (null: too many, read per group). */
export interface StatementFactsOnce {
  blocked: ReadonlyMap<string, LineBlocked> | null;
  held: { byPayee: ReadonlyMap<string, Held>; lines: ReadonlySet<string> } | null;
}

/** A group's payment facts as read, its lines not decoded yet (`storedFactsOfMany`, `storedFactsOf`). */
export interface StoredFacts {
  lines: ReadonlyMap<string, Buffer | undefined>;
  claims: ReadonlyMap<string, string[] | undefined>;
  operator: ReadonlyMap<string, OperatorPayment | undefined>;
  blocked: ReadonlyMap<string, LineBlocked>;
  held: { byPayee: ReadonlyMap<string, Held>; lines: ReadonlySet<string> };
}

/** A binary sub-store's values as LevelDB gives them (Buffers), not decoded. */
const STORED_BYTES: BinaryCodec<Buffer> = { encode: (b) => b, decode: (b) => b };

/** A run records a line-run only when it changes the line's `paid` (paymentFactsOf). */
function paidToSomeone(line: LineLedger | null): boolean {
  return line !== null && Object.keys(line.paid).length > 0;
}

/** The payees the line could be waiting for: its current ones and the ones it was paid to. */
function payeesWaitingFor(line: LineLedger | null): Set<string> {
  return new Set([...Object.keys(line?.paid ?? {}), ...(line?.tp?.payee ? [line.tp.payee] : []), ...(line?.settlement?.adherentId ? [`member:${line.settlement.adherentId}`] : [])]);
}

/** The lines paid to someone whose run list is not inside the line (written before session 21): read from `payments.line-runs`. */
function runListsApart(lineKeys: readonly string[], lines: readonly (LineLedger | null)[]): string[] {
  return lineKeys.filter((_, i) => lines[i]?.runs === undefined && paidToSomeone(lines[i]!));
}

/** What `factsOfLines` reads a line's facts from, beside the line itself. */
interface ReadFacts {
  /** the run lists read apart (`runListsApart`) */
  runs: ReadonlyMap<string, readonly LineRun[] | undefined>;
  /** the i-th line's operator claims */
  claimsAt: (i: number) => readonly string[] | undefined;
  operator: ReadonlyMap<string, OperatorPayment | undefined>;
  blockedAt: (i: number, lineKey: string) => LineBlocked | null;
  /** the holds that may name the line (null: none does) */
  heldOf: (lineKey: string) => ((payee: string) => Held | undefined) | null;
}

/** The facts of these lines from what was read of them (paymentFactsOfMany, storedFactsOf). */
function factsOfLines(lineKeys: readonly string[], lines: readonly (LineLedger | null)[], read: ReadFacts): Map<string, LinePaymentFacts> {
  const out = new Map<string, LinePaymentFacts>();
  for (let i = 0; i < lineKeys.length; i++) {
    const lineKey = lineKeys[i]!;
    const line = lines[i]!;
    const operatorPaid: OperatorPayment[] = [];
    for (const c of read.claimsAt(i) ?? []) {
      const p = read.operator.get(c);
      if (p !== undefined) operatorPaid.push(p);
    }
    const lineRuns = line?.runs ?? (!paidToSomeone(line) ? [] : (read.runs.get(lineKey) ?? []));
    out.set(lineKey, factsOfLine(lineKey, line, lineRuns, operatorPaid, read.blockedAt(i, lineKey), read.heldOf(lineKey)));
  }
  return out;
}

/**
 * One line's facts from what was read of it (paymentFactsOf, paymentFactsOfMany): the hold naming it
 * among its payees' ones (`heldOf` null: no hold names the line).
 */
function factsOfLine(lineKey: string, line: LineLedger | null, runs: readonly LineRun[], operatorPaid: OperatorPayment[], blocked: LineBlocked | null, heldOf: ((payee: string) => Held | undefined) | null): LinePaymentFacts {
  let held: LinePaymentFacts['held'] = null;
  if (heldOf !== null) for (const payee of payeesWaitingFor(line)) {
    const h = heldOf(payee);
    if (h !== undefined && h.lineKeys.includes(lineKey)) held = { payee: h.payee, runId: h.runId, ceiling: h.ceiling };
  }
  return { line, runs, operatorPaid, blocked, held, returned: returnedOf(line) };
}

function lineOf(stored: StoredLine): LineLedger {
  const { paid, returned } = stored;
  const line: LineLedger = { settlement: stored.settlement, tp: stored.tp, paid: Array.isArray(paid) ? Object.fromEntries(paid) : (paid as LineLedger['paid']) };
  if (stored.returns !== undefined) line.returns = stored.returns;
  if (returned !== undefined) line.returned = Array.isArray(returned) ? Object.fromEntries(returned) : (returned as LineLedger['returned']);
  if (stored.runs !== undefined) line.runs = stored.runs;
  return withOtherFields(stored, line);
}

function withOtherFields<T extends object>(from: object, to: T): T {
  for (const k in from) if (!LINE_FIELDS.has(k)) (to as Record<string, unknown>)[k] = (from as Record<string, unknown>)[k];
  return to;
}

/** The line's latest bank return not paid again yet (run.ts clears it once a run moves the line again), or null. */
function returnedOf(line: LineLedger | null): LineReturned | null {
  const open = Object.entries(line?.returned ?? {}).sort(([, a], [, b]) => ((a.at ?? '') < (b.at ?? '') ? -1 : (a.at ?? '') > (b.at ?? '') ? 1 : 0));
  const last = open.at(-1);
  if (last === undefined) return null;
  const [endToEndId, r] = last;
  return { payee: r.payee, code: r.code, label: r.label, blocks: r.blocks, endToEndId, runId: r.runId, amount: r.amount, at: r.at };
}

/** Per payee, what `after` paid more (or took back) than `before`, payees in order. */
function movedBetween(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): { payee: string; amount: string }[] {
  const payees = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const moved: { payee: string; amount: string }[] = [];
  for (const payee of payees) {
    // `paid` holds Money (run.ts, returns.ts write it with two decimals): cents are exact
    const delta = cents(Object.hasOwn(after, payee) ? after[payee]! : '0.00') - cents(Object.hasOwn(before, payee) ? before[payee]! : '0.00');
    if (delta !== 0) moved.push({ payee, amount: moneyOfCents(delta) });
  }
  return moved;
}

function cents(money: string): number {
  const c = centsOf(money);
  if (c === null) throw new RangeError(`payment state: paid amount "${money}" is not an amount`);
  return c;
}

function diff<V>(before: Readonly<Record<string, V>>, after: Readonly<Record<string, V>>, put: (k: string, v: V) => void, remove: (k: string) => void): void {
  // the same map: nothing changed (the pure code hands back what it did not touch as it was)
  if (before === after) return;
  // for-in, not Object.entries: a consumed batch's maps hold tens of thousands of keys (plain data objects: own keys only)
  for (const k in after) if (!Object.hasOwn(before, k) || before[k] !== after[k]) put(k, after[k]!);
  for (const k in before) if (!Object.hasOwn(after, k)) remove(k);
}

/** The whole payment state of a home (tests, tools): the legacy file if not imported yet, else the store, else empty. */
export async function loadPaymentsState(home: string): Promise<PaymentsState> {
  const source = await PaymentsStore.openForReading(home);
  if (source === null) return emptyPaymentsState();
  if ('legacy' in source) return source.legacy;
  try {
    return await source.readAll();
  } finally {
    await source.close();
  }
}

/** Replaces a home's whole payment state (tests, tools). */
export async function savePaymentsState(home: string, state: PaymentsState): Promise<void> {
  const store = await PaymentsStore.open(home);
  try {
    await store.replaceAll(state);
  } finally {
    await store.close();
  }
}
