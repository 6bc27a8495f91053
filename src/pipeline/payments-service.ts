import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Batch, Bus, BusRecord, OutgoingMessage } from '../bus/index.js';
import { TRUSTED } from '../bus/index.js';
import type { Logger } from '../log.js';
import { orderHeadOf, PaymentOrderSchema, type PaymentOrder, type PaymentOrderHead } from '../model/payment.js';
import {
  applyPaymentEvents, buildRunReport, checkNotHandedOver, initialLedger, nextTarget2BusinessDay, planPaymentRun, removeTempFiles, reportSummary, runDirOf, writeReportFiles, writeRunFiles,
  type AccountBook, type ReportFiles, type RunReport, type RunReportSummary, type Blocked, type DebtorAccount, type Held, type PaymentEvent, type PaymentLimits, type PaymentRunStep, type PaymentsLedger, type Pending, type RunIntent,
} from '../payments/index.js';
import type { CarriedBlocked } from '../payments/report.js';
import { stateStoreFileOf } from '../state/kv-store.js';
import { caughtUp, endOffsetsOf } from './catch-up.js';
import { PaymentsStore } from './payments-store.js';
import { outcomeForPayments, settlementForPayments, slimOutcomeForPayments, slimSettlementForPayments } from './payment-inputs.js';
import { applyCursorOf, applyStreamedRun, clearRunScratch, decideStreamedRun, ordersWithLines, recordStreamedRun, reportRows, streamedIntentOf, type StreamedIntent } from './payment-run-stream.js';

export { runDirOf };

/**
 * `noemie payments run` on the bus. Consumes what is new on `settlements` and `reconciliation`
 * (group `payments`), folds each batch into the payment state (the home's state store, src/state;
 * keys in payments-store.ts) in ONE transaction over that batch's keys, committed before the
 * batch's offsets are (a redelivered batch is a replay the ledger ignores), decides the run (with
 * the payment controls: orders above a ceiling are held, src/payments/controls.ts), writes its
 * pain.001 files and orders.ndjson and publishes the orders to `payment-orders`.
 *
 * Crash safety — a run is atomic as the bank sees it. The steps (src/payments/run-steps.ts; a crash
 * "after X" is what NOEMIE_CRASH_AT=X simulates) and what a restart does:
 *   consumed      inputs in the ledger, nothing of the run. Restart decides the run again: the same
 *                 ledger gives the same orders and EndToEndIds (they derive from what is paid).
 *   scan-slice    a slice of the run's scan written: its movements (scratch) and report rows under
 *                 its run id, nothing of the ledger. Restart removes them and decides the run again.
 *   decided       orders in memory only: as above.
 *   intent-saved  ONE transaction records the run's decision (payment-run-stream.ts): its intent
 *                 (runId, order heads, EndToEndIds, file names, MsgIds), the per-payee outcomes,
 *                 debts, holds, approvals, the report, the apply cursor, and reserves its
 *                 EndToEndIds in the handed-over index (EndToEndId → MsgId). From here the run is
 *                 decided for good: a restart applies and completes it before anything else —
 *                 it never decides another run over the same lines while this one is pending.
 *   slice-applied one slice of the line updates (paid, line-run, blocked and due marks) committed
 *                 with the cursor's advance. Restart applies the rest from the cursor.
 *   applied       every line updated, the transfer records written, the cursor removed.
 *   pain-temp-written  a pain.001 is on disk under `.<name>.tmp` (fsynced), invisible to the bank.
 *                 Restart removes the temp file and writes the file again from the intent.
 *   pain-renamed  the pain.001 is in place (directory fsynced): handed over. Restart writes it
 *                 again, byte for byte the same (same MsgId, same EndToEndIds), through the same
 *                 temp + rename: the bank sees one file, whole.
 *   orders-written  orders.ndjson in place, the same way; then the run's report (report.json, .csv,
 *                 .html, src/payments/report.ts), recorded with the intent, is written the same way.
 *                 Restart writes them all again from the record.
 *   published     the orders are on `payment-orders`. Restart publishes them again: at-least-once
 *                 on the topic, identical messages, so finance dedupes on `paymentId`.
 *   completed     the intent is cleared. Nothing left to do.
 * Every file goes through temp + fsync + rename, so no 0-byte or half file ever has a real name;
 * and before a pain.001 is renamed into place, each of its EndToEndIds must belong to that file's
 * MsgId in the index (PAYMENTS_DUPLICATE_END_TO_END otherwise), so no id is in two files handed
 * over. Per run, the work is the new orders (lookups in the index, no scan of past runs).
 */
export const PAYMENTS_GROUP = 'payments';
export const PAYMENTS_TOPICS = ['settlements', 'reconciliation'] as const;
/**
 * Records per consumed batch (one LevelDB batch and one fsync each). 16 384 was chosen for LMDB,
 * whose commits re-wrote the B-tree pages their keys fell in; a LevelDB batch appends its keys
 * whatever their number. A batch's decoded records and its slice of the ledger live until its
 * commit: 4 096 of them stay young enough for V8's scavenges to drop instead of copying and
 * promoting them — the consuming step's CPU −7 % against 16 384 in three pairs of the stage run
 * alone, the wall unchanged (bench/README.md, "Session 14 — payments").
 */
export const PAYMENTS_MAX_BATCH = 4096;

/** The insurer's paying account (fictitious, valid IBAN): `--debtor-iban/--debtor-bic/--debtor-name` override it. */
export const DEFAULT_DEBTOR: DebtorAccount = { name: 'MUTUELLE NOEMIE', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX' };

export interface InitiatingParty {
  name: string | null;
  id: string | null;
  scheme: string | null;
}

export interface PaymentStageOptions {
  bus: Bus;
  home: string;
  accounts: AccountBook;
  /** the run's cut-off instant; default: now */
  at?: string;
  runId?: string;
  dryRun?: boolean;
  /** where `<runId>/` goes; default `<home>/payments` */
  outDir?: string;
  debtor?: DebtorAccount;
  /** who initiates the files (GrpHdr/InitgPty): name (default: the debtor's) and id (src/config.ts initiatingParty) */
  initiatingParty?: InitiatingParty;
  groupId?: string;
  logger?: Logger;
  /** payment ceilings; default DEFAULT_LIMITS (the CLI passes NOEMIE_PAYMENT_MAX_* / --max-*) */
  limits?: PaymentLimits;
  /** called after each step of the run (the crash tests kill the process there: NOEMIE_CRASH_AT) */
  onStep?: (step: PaymentRunStep) => void;
  /** due lines per slice of the streamed run (payment-run-stream.ts); default DEFAULT_SLICE_LINES */
  sliceLines?: number;
  /**
   * false: the report's `orders` is left empty, `orderHeads` says what the run paid (a large run's
   * orders with their lines are as large as orders.ndjson: `noemie run --once` prints only sums)
   */
  orderLines?: boolean;
}

/** A run a crash had interrupted after its intent was recorded, completed by this invocation. */
export interface ResumedRun {
  runId: string;
  orders: number;
  ordersFile: string;
  sepaFiles: string[];
  /** temporary files the crash had left, removed */
  removedTemp: string[];
  /** its report's HTML, written from what it recorded (null for a run recorded before reports existed) */
  reportHtml: string | null;
}

export interface PaymentStageReport {
  runId: string;
  dryRun: boolean;
  alreadyRun: boolean;
  consumed: { settlements: number; reconciliation: number };
  /** orders of earlier runs published now (a crash had interrupted them) */
  republished: number;
  orders: PaymentOrder[];
  /** the run's orders without their lines (always filled; `orders` may be left empty: options.orderLines) */
  orderHeads: PaymentOrderHead[];
  blocked: Blocked[];
  /** blocked payees of earlier runs not decided again by this one: nothing changed for them (src/payments/parked.ts) */
  carried: CarriedBlocked[];
  pending: Pending[];
  /** orders the payment controls held for approval: not transferred, lines still due */
  held: Held[];
  /** an interrupted run completed first (null when there was none) */
  resumed: ResumedRun | null;
  /** dry run only: a recorded run whose files are not all written yet (the next real run completes it) */
  pendingRun: string | null;
  runDir: string;
  ordersFile: string | null;
  sepaFiles: string[];
  /** where the payment state lives (the home's state store) */
  ledgerFile: string;
  /**
   * the run's report for finance (src/payments/report.ts): its short summary (blocked payees with
   * their reasons, whether it reconciles to the cent); null for a run decided before reports existed
   */
  report: RunReportSummary | null;
  /** where the report's JSON, CSV and HTML are (next to the pain.001); null for a dry run */
  reportFiles: ReportFiles | null;
}

/** run-20250310T090000Z: sortable, one per second. */
export function defaultRunId(at: string): string {
  return `run-${at.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** `base`, or `base-2`, `base-3`… the first that names no recorded run. */
export function unusedRunId(base: string, exists: (id: string) => boolean): string {
  let id = base;
  for (let n = 2; exists(id); n++) id = `${base}-${n}`;
  return id;
}

function eventsOf(batch: Batch<'settlements' | 'reconciliation'>): PaymentEvent[] {
  return batch.topic === 'settlements'
    ? (batch.records as BusRecord<'settlements'>[]).map((r) => ({ kind: 'settlement', settlement: r.value }))
    : (batch.records as BusRecord<'reconciliation'>[]).map((r) => ({ kind: 'reconciliation', outcome: r.value }));
}

async function publishOrders(bus: Bus, orders: AsyncIterable<PaymentOrder> | Iterable<PaymentOrder>): Promise<number> {
  let batch: OutgoingMessage<'payment-orders'>[] = [];
  let n = 0;
  for await (const value of orders) {
    batch.push({ value });
    if (batch.length >= 500) {
      await bus.produce('payment-orders', batch, TRUSTED);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await bus.produce('payment-orders', batch, TRUSTED);
  return n + batch.length;
}

async function* readOrdersFile(file: string): AsyncGenerator<PaymentOrder> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== '') yield PaymentOrderSchema.parse(JSON.parse(line));
}

/** Finishes the runs a crash left between "ledger saved" and "orders on the topic" (format-1 homes, imported). */
async function drainOutbox(bus: Bus, store: PaymentsStore): Promise<number> {
  let republished = 0;
  for (const entry of await store.outbox()) {
    republished += await publishOrders(bus, readOrdersFile(entry.ordersFile));
    await store.removeOutbox(entry.runId);
  }
  return republished;
}

/**
 * Consumes everything published up to now (end offsets taken at start) with the group. Each batch
 * is applied to the store in one transaction over its own keys, committed before the handler
 * returns (hence before the bus commits the batch's offsets).
 */
async function consumeNew(bus: Bus, groupId: string, store: PaymentsStore, counts: PaymentStageReport['consumed']): Promise<void> {
  if (await caughtUp(bus, groupId, PAYMENTS_TOPICS)) return;
  const ends = await endOffsetsOf(bus, PAYMENTS_TOPICS);
  const reached = new Map<string, number>();
  for (const t of PAYMENTS_TOPICS) {
    const lows = new Map((await bus.endOffsets(t)).map((p) => [p.partition, p.low]));
    for (const c of await bus.committedOffsets(groupId, t)) reached.set(`${t}/${c.partition}`, c.offset ?? lows.get(c.partition) ?? 0);
  }
  const done = () => [...ends].every(([k, end]) => (reached.get(k) ?? 0) >= end);
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sub = await bus.consume({
    groupId,
    topics: PAYMENTS_TOPICS,
    maxBatch: PAYMENTS_MAX_BATCH,
    // the fold reads a few fields of each value: read from the stored bytes, not parsed whole (payment-inputs.ts)
    raw: { settlements: settlementForPayments, reconciliation: outcomeForPayments },
    slim: { settlements: slimSettlementForPayments, reconciliation: slimOutcomeForPayments },
    handler: async (batch) => {
      const events = eventsOf(batch);
      await store.applyEvents(events, applyPaymentEvents);
      counts[batch.topic] += events.length;
      const last = batch.records.at(-1);
      if (last) reached.set(`${batch.topic}/${batch.partition}`, last.offset + 1);
      if (done()) finish();
    },
  });
  if (!done()) await Promise.race([finished, sub.done]);
  await sub.stop();
  await sub.done;
}

/** The new inputs, read without the group (a dry run: nothing is committed or saved). */
async function readNewEvents(bus: Bus, groupId: string, counts: PaymentStageReport['consumed']): Promise<PaymentEvent[]> {
  const all: PaymentEvent[] = [];
  for (const topic of PAYMENTS_TOPICS) {
    const committed = new Map((await bus.committedOffsets(groupId, topic)).map((c) => [c.partition, c.offset]));
    for (const { partition, low, high } of await bus.endOffsets(topic)) {
      const from = committed.get(partition) ?? low;
      if (from >= high) continue;
      for await (const records of bus.readRange(topic, partition, { from, to: high })) {
        const events = eventsOf({ topic, partition, records } as Batch<'settlements' | 'reconciliation'>);
        all.push(...events);
        counts[topic] += events.length;
      }
    }
  }
  return all;
}

/**
 * The ledger a dry run decides on: the stored slice a run would read, widened to the new inputs'
 * keys, with the new inputs applied in memory. (A home whose ledger.json is not imported yet is
 * read whole from that file, as the previous version did; nothing is renamed.)
 */
async function dryRunLedger(bus: Bus, home: string, groupId: string, asked: { runId: string; named: boolean }, counts: PaymentStageReport['consumed']): Promise<{ ledger: PaymentsLedger; pending: RunIntent | null; runId: string }> {
  const events = await readNewEvents(bus, groupId, counts);
  const source = await PaymentsStore.openForReading(home);
  // a default id already recorded: the run a real invocation would make now (runPaymentStage)
  const idIn = (has: (id: string) => boolean) => (asked.named ? asked.runId : unusedRunId(asked.runId, has));
  if (source === null) return { ledger: applyPaymentEvents(initialLedger(), events), pending: null, runId: asked.runId };
  if ('legacy' in source) {
    const runId = idIn((id) => Object.hasOwn(source.legacy.ledger.runs, id));
    return { ledger: applyPaymentEvents(source.legacy.ledger, events), pending: source.legacy.pending, runId };
  }
  try {
    const runId = idIn((id) => source.run(id) !== undefined);
    const slice = await source.readSlice({ ...PaymentsStore.keysOfEvents(events), run: true, runId });
    return { ledger: applyPaymentEvents(slice, events), pending: await source.pending(), runId };
  } finally {
    await source.close();
  }
}

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The blocked payees a recorded report lists (a resumed run reports them as the run decided them). */
const toBlocked = (r: RunReport | null): Blocked[] => (r === null ? [] : r.blocked.items.map((b) => ({ payee: b.payee, amount: b.amount, reason: b.reason, lineKeys: b.lineKeys })));

const endToEndIdsOf = (intent: Pick<RunIntent, 'files'>) => intent.files.flatMap((f) => f.endToEndIds);

/**
 * Writes the pending intent's files (the pain.001s, orders.ndjson, then the report recorded with
 * it), publishes its orders and clears it (also after a crash, from the saved intent). A streamed
 * run's orders and report rows are read back from the store one payee / one chunk at a time.
 */
async function completeRun(bus: Bus, store: PaymentsStore, onStep: (step: PaymentRunStep) => void, keepOrders: boolean, decided?: { intent: StreamedIntent; report: RunReport }): Promise<{ resumed: ResumedRun; orders: PaymentOrder[]; heads: PaymentOrderHead[]; report: RunReport | null; reportFiles: ReportFiles | null }> {
  const streamed = decided?.intent ?? streamedIntentOf(store);
  if (streamed === null) {
    // an intent recorded whole (a run decided before session 8)
    const intent = (await store.pending())!;
    const removedTemp = await removeTempFiles(intent.dir);
    const { ordersFile, sepaFiles } = await writeRunFiles(intent, { handedOver: store.handedOverOf(endToEndIdsOf(intent)), onStep });
    const report = store.report(intent.runId) ?? null;
    const reportFiles = report === null ? null : await writeReportFiles(intent.dir, report);
    await publishOrders(bus, intent.orders);
    onStep('published');
    await store.clearPending();
    onStep('completed');
    return { orders: intent.orders, heads: intent.orders.map(orderHeadOf), report, reportFiles, resumed: { runId: intent.runId, orders: intent.orders.length, ordersFile, sepaFiles, removedTemp, reportHtml: reportFiles?.html ?? null } };
  }
  const intent = streamed;
  const orders = () => ordersWithLines(store, intent.orders);
  const removedTemp = await removeTempFiles(intent.dir);
  const { ordersFile, sepaFiles } = await writeRunFiles(intent, { handedOver: store.handedOverOf(endToEndIdsOf(intent)), onStep, orders });
  const recorded = store.reportHeader(intent.runId);
  const report = decided?.report ?? recorded?.report ?? null;
  const chunks = recorded?.settledLineKeys ?? null;
  const reportFiles = report === null ? null : await writeReportFiles(intent.dir, report, chunks === null ? undefined : () => reportRows(store, intent.runId, chunks));
  await publishOrders(bus, orders());
  onStep('published');
  const whole: PaymentOrder[] = [];
  if (keepOrders) for await (const o of orders()) whole.push(o);
  await store.clearPending();
  onStep('completed');
  await clearRunScratch(store);
  return { orders: whole, heads: intent.orders, report, reportFiles, resumed: { runId: intent.runId, orders: intent.orders.length, ordersFile, sepaFiles, removedTemp, reportHtml: reportFiles?.html ?? null } };
}

export async function runPaymentStage(options: PaymentStageOptions): Promise<PaymentStageReport> {
  const { bus, home, logger } = options;
  const at = new Date(options.at ?? new Date().toISOString()).toISOString();
  // A run named by the operator is idempotent (the same id twice: "already ran"); a default id is
  // the cut-off's second, and a second run in that same second is a new run, not a silent no-op.
  let runId = options.runId ?? defaultRunId(at);
  const dryRun = options.dryRun ?? false;
  const groupId = options.groupId ?? PAYMENTS_GROUP;
  const outDir = options.outDir ?? join(home, 'payments');
  const consumed = { settlements: 0, reconciliation: 0 };
  const onStep = options.onStep ?? (() => {});
  const debtor = options.debtor ?? DEFAULT_DEBTOR;
  const report = (over: Partial<PaymentStageReport>): PaymentStageReport => ({
    runId, dryRun, alreadyRun: false, consumed, republished: 0, orders: [], orderHeads: [], blocked: [], carried: [], pending: [], held: [], resumed: null, pendingRun: null,
    runDir: runDirOf(outDir, runId), ordersFile: null, sepaFiles: [], ledgerFile: stateStoreFileOf(home), report: null, reportFiles: null, ...over,
  });
  // the report is decided with the run, from the slice it read: cost of the run, not of the history
  const reportOf = (slice: PaymentsLedger, planned: ReturnType<typeof plan>) => {
    const r = buildRunReport({ runId, at, slice, result: planned.result, intent: planned.intent });
    if (!r.reconciliation.reconciled) {
      logger?.error({ runId, checks: r.reconciliation.checks.filter((c) => !c.holds) }, 'payments: THE RUN DOES NOT RECONCILE to the cent with its settlements (see its report)');
    }
    return r;
  };
  const plan = (ledger: PaymentsLedger) =>
    planPaymentRun(ledger, {
      runId, at, accounts: options.accounts, outDir, debtorOf: () => debtor,
      // the cut-off's day, or the next day TARGET2 settles (a bank refuses or moves a closed day)
      executionDate: nextTarget2BusinessDay(at.slice(0, 10)),
      initiatingParty: options.initiatingParty?.name ?? debtor.name,
      initiatingPartyId: options.initiatingParty?.id ? { id: options.initiatingParty.id, scheme: options.initiatingParty.scheme } : null,
      ...(options.limits ? { limits: options.limits } : {}),
    });
  const warnHeld = (held: Held[]) => {
    for (const h of held) logger?.warn({ runId, paymentId: h.paymentId, payee: h.payee, amount: h.amount, ceiling: h.ceiling }, `payments: order held for approval: ${h.reason}`);
  };

  if (dryRun) {
    const dry = await dryRunLedger(bus, home, groupId, { runId, named: options.runId !== undefined }, consumed);
    const { ledger, pending } = dry;
    runId = dry.runId;
    logger?.info({ runId, ...consumed }, 'payments: inputs applied to the ledger');
    const planned = plan(ledger);
    const { result } = planned;
    warnHeld(result.held);
    const summary = result.alreadyRun ? null : reportSummary(reportOf(ledger, planned));
    return report({ alreadyRun: result.alreadyRun, orders: result.orders, orderHeads: result.orders.map(orderHeadOf), blocked: result.blocked, pending: result.pending, held: result.held, pendingRun: pending?.runId ?? null, report: summary });
  }

  const store = await PaymentsStore.open(home);
  if (options.runId === undefined) runId = unusedRunId(runId, (id) => store.run(id) !== undefined);
  try {
    const republished = await drainOutbox(bus, store);
    const keepOrders = options.orderLines !== false;
    const sliceLines = options.sliceLines;
    let resumed: ResumedRun | null = null;
    // a run recorded whose line updates a crash interrupted: applied first, from its cursor (its
    // lines must not change before, and no other run is decided before it is whole)
    if (applyCursorOf(store) !== null) await applyStreamedRun(store, { ...(sliceLines ? { sliceLines } : {}) });
    if (store.hasPending()) {
      const done = await completeRun(bus, store, onStep, keepOrders);
      resumed = done.resumed;
      logger?.warn({ runId: resumed.runId, orders: resumed.orders, removedTemp: resumed.removedTemp.length }, 'payments: completed a run a crash had interrupted');
      // the run asked for is the one just completed: that is this run, done
      if (resumed.runId === runId) {
        const held = Object.values((await store.readSlice({ controls: true })).held).filter((h) => h.runId === runId);
        const summary = done.report === null ? null : reportSummary(done.report);
        return report({ republished, resumed, orders: done.orders, orderHeads: done.heads, held, blocked: toBlocked(done.report), runDir: dirname(resumed.ordersFile), ordersFile: resumed.ordersFile, sepaFiles: resumed.sepaFiles, report: summary, reportFiles: done.reportFiles });
      }
    }

    await consumeNew(bus, groupId, store, consumed);
    logger?.info({ runId, ...consumed }, 'payments: inputs applied to the ledger');
    onStep('consumed');

    // decided by streaming the due lines (payment-run-stream.ts): in memory, per payee only
    const decided = await decideStreamedRun(store, {
      runId, at, accounts: options.accounts, outDir, debtorOf: () => debtor,
      // the cut-off's day, or the next day TARGET2 settles (a bank refuses or moves a closed day)
      executionDate: nextTarget2BusinessDay(at.slice(0, 10)),
      initiatingParty: options.initiatingParty?.name ?? debtor.name,
      initiatingPartyId: options.initiatingParty?.id ? { id: options.initiatingParty.id, scheme: options.initiatingParty.scheme } : null,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(sliceLines ? { sliceLines } : {}),
      onScanSlice: () => onStep('scan-slice'),
    });
    if (decided === null) {
      const earlier = store.report(runId);
      return report({ republished, resumed, alreadyRun: true, report: earlier === undefined ? null : reportSummary(earlier) });
    }
    warnHeld(decided.held);
    if (!decided.report.reconciliation.reconciled) {
      logger?.error({ runId, checks: decided.report.reconciliation.checks.filter((c) => !c.holds) }, 'payments: THE RUN DOES NOT RECONCILE to the cent with its settlements (see its report)');
    }
    onStep('decided');
    const { intent } = decided;
    if (intent !== null) {
      // a transfer already in a file handed over refuses the run, before anything is recorded
      const handedOver = store.handedOverOf(endToEndIdsOf(intent));
      for (const f of intent.files) checkNotHandedOver(handedOver, f);
    }
    await recordStreamedRun(store, decided);
    onStep('intent-saved');
    await applyStreamedRun(store, { ...(sliceLines ? { sliceLines } : {}), onSlice: () => onStep('slice-applied') });
    onStep('applied');
    const outcome = { republished, resumed, orderHeads: decided.orders, blocked: decided.blocked, carried: decided.report.carried?.items ?? [], pending: decided.pending, held: decided.held, report: reportSummary(decided.report) };
    if (intent === null) {
      // no file for the bank: the report still goes where the run's files would be
      const reportFiles = await writeReportFiles(await ensureDir(runDirOf(outDir, runId)), decided.report, () => reportRows(store, runId, decided.settledLineKeys));
      await clearRunScratch(store);
      return report({ ...outcome, reportFiles });
    }
    const done = await completeRun(bus, store, onStep, keepOrders, { intent, report: decided.report });
    return report({ ...outcome, orders: done.orders, runDir: intent.dir, ordersFile: done.resumed.ordersFile, sepaFiles: done.resumed.sepaFiles, reportFiles: done.reportFiles });
  } finally {
    await store.close();
  }
}
