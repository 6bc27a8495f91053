import { reportSummary, approvePayment, type Approval, type RunReportSummary } from '../payments/index.js';
import { PaymentsStore } from '../pipeline/payments-store.js';
import { applyBankReturnBytes, bankReturnsView, type BankReturnReport, type BankReturnsView } from '../pipeline/bank-returns.js';
import { paymentFactsForStatement } from '../pipeline/statement-payments.js';
import type { LinePaymentFacts } from '../statement/payment.js';
import type { AdminActions, ApprovalRequest } from '../http/admin.js';

/**
 * Finance's reads and writes of the payment state, one function each, run by the CLI command on
 * the home when no service holds it, and by the running service for its admin API when one does
 * (src/cli/service-client.ts `hereOrService`): the same code either way, so the same answer.
 * The store is opened and closed per call (in the service, a second open of the home's stores in
 * the process shares the first: src/state).
 */

/** A run's record and its report's summary (`payments show <runId>`); a legacy ledger.json not imported yet is read, not imported. */
export interface RecordedRun {
  run: { at: string; orders: number } | null;
  report: RunReportSummary | null;
}

export async function recordedRun(home: string, runId: string): Promise<RecordedRun> {
  const source = await PaymentsStore.openForReading(home);
  if (source === null) return { run: null, report: null };
  if ('legacy' in source) return { run: Object.hasOwn(source.legacy.ledger.runs, runId) ? source.legacy.ledger.runs[runId]! : null, report: null };
  try {
    const report = source.report(runId);
    return { run: source.run(runId) ?? null, report: report === undefined ? null : reportSummary(report) };
  } finally {
    await source.close();
  }
}

/** The bank returns part of the payment state (empty when the home has no state yet). */
export async function readBankReturns(home: string): Promise<BankReturnsView> {
  const source = await PaymentsStore.openForReading(home);
  if (source === null || 'legacy' in source) return { blocked: [], returned: [], exceptions: [], files: [] };
  try {
    return await bankReturnsView(source);
  } finally {
    await source.close();
  }
}

/**
 * One bank return file, given by its bytes, applied in one commit keyed by their SHA-256 (the same
 * bytes again: a report naming the first application, nothing applied). Malformed:
 * PAYMENTS_RETURN_MALFORMED, nothing applied.
 */
export async function applyBankReturn(home: string, file: string, bytes: Buffer): Promise<BankReturnReport> {
  const store = await PaymentsStore.open(home);
  try {
    return await applyBankReturnBytes(store, bytes, { at: new Date().toISOString(), label: file });
  } finally {
    await store.close();
  }
}

/** Approves a held order (PAYMENTS_NOT_HELD when there is none to approve): the approval recorded. */
export async function approveHeld(home: string, request: ApprovalRequest): Promise<Approval> {
  const store = await PaymentsStore.open(home);
  try {
    const before = await store.readSlice({ controls: true });
    const approved = approvePayment(before, { ref: request.ref, by: request.by, at: new Date().toISOString(), ...(request.runId === undefined ? {} : { runId: request.runId }) });
    await store.commitApproval(before, approved.ledger);
    return approved.approval;
  } finally {
    await store.close();
  }
}

/** The payment facts of a statement's lines, as a list (a Map does not cross JSON). */
export interface PaymentFactsAnswer {
  lines: { lineKey: string; facts: LinePaymentFacts }[];
}

export async function paymentFacts(home: string, lineKeys: readonly string[]): Promise<PaymentFactsAnswer> {
  const facts = await paymentFactsForStatement(home, lineKeys);
  return { lines: [...facts].map(([lineKey, f]) => ({ lineKey, facts: f })) };
}

/** Jobs run one after another (a job that fails does not stop the next). */
export function oneAtATime(): <T>(job: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return (job) => {
    const next = queue.then(job, job);
    queue = next.catch(() => undefined);
    return next;
  };
}

export type PaymentStateActions = Pick<AdminActions, 'bankReturn' | 'approval' | 'runRecord' | 'bankReturns' | 'paymentFacts'>;

/**
 * The running service's side of finance's commands. `writes` runs the writes in their turn with
 * the service's other writers of the payment state (its cut-offs, its inbox's bank return pass):
 * a bank return applied while a run is being applied would apply that run a second time
 * (bank-returns.ts finishes an interrupted run first). `{ refuse }`: writes refused (`run --once`).
 */
export function paymentStateActions(
  home: string,
  writes: (<T>(job: () => Promise<T>) => Promise<T>) | { refuse: () => Promise<never> },
  crashAfter?: AdminWrite,
): PaymentStateActions {
  const write = <T>(kind: AdminWrite, job: () => Promise<T>): Promise<T> =>
    'refuse' in writes
      ? writes.refuse()
      : writes(async () => {
          const done = await job();
          if (crashAfter === kind) crash();
          return done;
        });
  return {
    bankReturn: (r) => write('bank-return', () => applyBankReturn(home, r.file, Buffer.from(r.content, 'base64'))),
    approval: (r) => write('approval', () => approveHeld(home, r)),
    runRecord: (runId) => recordedRun(home, runId),
    bankReturns: () => readBankReturns(home),
    paymentFacts: (r) => paymentFacts(home, r.lineKeys),
  };
}

export type AdminWrite = 'bank-return' | 'approval';

/** NOEMIE_ADMIN_CRASH_AFTER (test only): SIGKILL once the write is committed, before the answer: a power cut there. */
function crash(): never {
  process.kill(process.pid, 'SIGKILL');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000); // nothing answers while the signal lands
  throw new Error('not killed');
}
