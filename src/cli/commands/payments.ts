import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { readEnv } from '../../config.js';
import { cliKafkaOptions } from '../kafka.js';
import { openBus, type Bus } from '../../bus/index.js';
import { createLogger } from '../../log.js';
import { PaymentOrderSchema } from '../../model/payment.js';
import {
  PaymentsError, approvePayment, maskIban, renderReportSummary, renderRunSummary, reportFilesOf, reportSummary, runSummary,
  type Approval, type PaymentRunStep, type ReportFiles, type RunReportSummary, type RunSummary,
} from '../../payments/index.js';
import { DEFAULT_DEBTOR, runDirOf, type PaymentStageReport } from '../../pipeline/payments-service.js';
import { PaymentsStore } from '../../pipeline/payments-store.js';
import { applyBankReturnFile, bankReturnsView, renderBankReturnReport, renderBankReturnsView, type BankReturnReport, type BankReturnsView } from '../../pipeline/bank-returns.js';
import { stateStoreFileOf } from '../../state/kv-store.js';
import { loadProfessionals } from '../../pipeline/professionals.js';
import { chooseReference } from '../home-reference.js';
import type { PayeeAccount } from '../../model/payment.js';
import { UsageError, parseFlags, writeLine, type CliIo, type Command } from '../command.js';
import { jsonUsage, writeJson } from '../json-output.js';
import { checkPaymentRunRequest, maskedReport, paymentCutoff } from '../payment-cutoff.js';
import { adminOrHere } from '../service-client.js';
import type { PaymentRunRequest } from '../../http/admin.js';

/**
 * `noemie payments run`, `payments approve` and `payments show <runId>` (src/pipeline/payments-service.ts
 * has the consume → ledger → run → files → publish sequence and its crash argument; src/payments/controls.ts
 * the ceilings).
 */

const RUN_USAGE = `noemie payments run [--dry-run] [--run-id <id>] [--at <instant>] [--home <dir>] [--kafka <brokers>]
                   [--professionals <csv>] [--out <dir>] [--json]
                   [--max-order <eur>] [--max-run <eur>]
                   [--debtor-iban <iban>] [--debtor-bic <bic>] [--debtor-name <name>]

Applies what is new on the settlements and reconciliation topics (group "payments") to the payment
ledger (the home's state store, <home>/state/store.mdb), pays each payee the difference between what it is entitled to
and what it was paid, publishes the orders to payment-orders, and writes <out>/<runId>/orders.ndjson
and one pain.001.001.09 file per debtor account. A second run over the same facts emits nothing.
  --dry-run              compute and print; nothing published, committed, written or saved
  --run-id <id>          the same id twice is refused ("already ran", nothing paid). Default
                         run-<cut-off as YYYYMMDDTHHMMSSZ>, suffixed -2, -3… when a run of that id is
                         already recorded: a second run in the same second is a new run
  --at <instant>         the run's cut-off (ISO-8601), default now
  (members)              each family is paid to its account IN FORCE ON THE RUN'S DAY (--at), from the
                         home's membership store (noemie members import, members*.csv in the inbox); a
                         family without a known account is blocked with its reason, its lines stay due
  --professionals <csv>  ps_id;name;iban;bic; default: the home's professionals' accounts in force
                         (noemie reference import --professionals; a home without them is an error)
  --out <dir>            default <home>/payments
  --debtor-*             the insurer's paying account, default ${DEFAULT_DEBTOR.name}
  --max-order <eur>      payment control: an order above this is HELD for approval (not transferred, its
                         lines stay due), default NOEMIE_PAYMENT_MAX_ORDER or 10000.00
  --max-run <eur>        a run's unapproved transfers stay within this; the orders that would pass it are
                         held, in payee order; default NOEMIE_PAYMENT_MAX_RUN or 500000.00
${jsonUsage('payments run')}: the run's report (IBANs masked)

The pain.001 asks for execution on the cut-off's day, or the next TARGET2 business day when TARGET2 is
closed (weekends, 1 Jan, Good Friday, Easter Monday, 1 May, 25-26 Dec); its initiating party is
NOEMIE_INITIATING_PARTY_NAME (default the debtor's name), _ID and _SCHEME (src/payments/README.md).
With --kafka, a broker that cannot be reached fails in seconds with BUS_BROKER and the address.
A run interrupted by a crash is completed first, from what it had recorded (same files, same ids).
Held orders are released by: noemie payments approve <paymentId|payee>.
The run's report for finance (settled → withheld → held → transferred per debtor account and pain.001
file → blocked → recoveries and debts, and the equation checking it to the cent) is written next to
the pain.001: <out>/<runId>/report.json, report.csv, report.html (self-contained).
exit code: 0 done (blocked and held payees are reported and stay due), 1 the run id had run already,
2 usage error, 3 the run was made but its figures DO NOT RECONCILE to the cent (see its report)`;

const RUN_FLAGS = {
  'dry-run': { type: 'boolean' },
  'run-id': { type: 'string' },
  at: { type: 'string' },
  home: { type: 'string' },
  kafka: { type: 'string' },
  professionals: { type: 'string' },
  out: { type: 'string' },
  'debtor-iban': { type: 'string' },
  'debtor-bic': { type: 'string' },
  'debtor-name': { type: 'string' },
  'max-order': { type: 'string' },
  'max-run': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** NOEMIE_CRASH_AT (test only): SIGKILL right after that step, as a power cut would stop the run there. */
function crashHook(at: PaymentRunStep | undefined): ((step: PaymentRunStep) => void) | undefined {
  if (at === undefined) return undefined;
  return (step) => {
    if (step !== at) return;
    process.kill(process.pid, 'SIGKILL');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000); // no further line runs while the signal lands
  };
}

/** The stage's bus: embedded under <home>/bus, or Kafka with --kafka / KAFKA_BROKERS. */
export async function openCliBus(home: string, kafka: string | undefined, readOnly = false): Promise<Bus> {
  const env = readEnv();
  const logger = createLogger({ level: env.NOEMIE_LOG_LEVEL, destination: process.stderr });
  return openBus({ home, logger, readOnly, ...(kafka !== undefined || env.KAFKA_BROKERS ? { kafka: cliKafkaOptions(env, kafka) } : {}) });
}

/**
 * Professionals' accounts: the file given (rows with issues reported and ignored), else the home's
 * version in force (REFERENCE_MISSING when the home has none: a TP payee is never paid to an
 * account borrowed from the sample). Members' accounts come from the membership store
 * (membershipAccountBook).
 */
export async function loadProfessionalAccounts(professionals: string | undefined, io: CliIo, home: string): Promise<Record<string, PayeeAccount>> {
  const psFile = professionals;
  if (psFile === undefined) return { ...(await chooseReference(['professionals'], { home, files: {} })).data.professionals };
  const ps = await loadProfessionals(resolve(psFile));
  for (const r of ps.rejected) writeLine(io.err, `${psFile} line ${r.origin.record}: ${r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} (row ignored)`);
  return { ...ps.accounts };
}

function printReport(io: CliIo, r: PaymentStageReport): void {
  const tag = r.dryRun ? ' (dry run: nothing published or saved)' : '';
  writeLine(io.out, `payment run ${r.runId}${tag}`);
  writeLine(io.out, `  consumed: ${r.consumed.settlements} settlement(s), ${r.consumed.reconciliation} reconciliation outcome(s)`);
  if (r.republished > 0) writeLine(io.out, `  re-published ${r.republished} order(s) of an interrupted earlier run`);
  if (r.pendingRun !== null) writeLine(io.out, `  run ${r.pendingRun} is recorded but its files are not all written: the next real run completes it first`);
  if (r.resumed !== null) {
    writeLine(io.out, `  completed run ${r.resumed.runId} a crash had interrupted: ${r.resumed.orders} order(s), files re-written from its record${r.resumed.removedTemp.length ? `, ${r.resumed.removedTemp.length} temporary file(s) removed` : ''}`);
    if (r.resumed.runId !== r.runId) {
      for (const f of r.resumed.sepaFiles) writeLine(io.out, `  pain.001 (run ${r.resumed.runId}): ${f}`);
      if (r.resumed.reportHtml !== null) writeLine(io.out, `  report (run ${r.resumed.runId}): ${r.resumed.reportHtml}`);
    }
  }
  if (r.alreadyRun) {
    writeLine(io.out, `  run ${r.runId} already ran: nothing done`);
    return;
  }
  writeLine(io.out, r.orderHeads.length === 0 ? '  nothing to pay or recover' : renderRunSummary(runSummary(r.runId, r.orderHeads)).replace(/^/gm, '  '));
  for (const b of r.blocked) writeLine(io.out, `  blocked: ${b.payee} ${b.amount} (${b.lineKeys.length} line(s)): ${b.reason}`);
  for (const h of r.held) writeLine(io.out, `  HELD for approval: ${h.paymentId} ${h.amount} (${h.ceiling} ceiling${h.limit ? ` ${h.limit}` : ''}, ${h.lineKeys.length} line(s)): ${h.reason} — noemie payments approve ${h.paymentId}`);
  if (r.pending.length > 0) writeLine(io.out, `  pending: ${r.pending.length} line(s) not payable yet (review, or awaiting reconciliation)`);
  if (r.ordersFile) writeLine(io.out, `  orders: ${r.ordersFile}`);
  for (const f of r.sepaFiles) writeLine(io.out, `  pain.001: ${f}`);
  printReportSummary(io, r.report, r.reportFiles, '  ');
  if (!r.dryRun) writeLine(io.out, `  ledger: ${r.ledgerFile}`);
}

/** The report's summary and where its files are (blocked payees are printed by the caller when it already lists them). */
function printReportSummary(io: CliIo, summary: RunReportSummary | null, files: ReportFiles | null, indent: string, withBlocked = false): void {
  if (summary === null) return;
  const lines = renderReportSummary(summary);
  for (const l of withBlocked ? lines : lines.filter((l) => !l.startsWith('blocked: '))) writeLine(io.out, `${indent}${l}`);
  if (files !== null) writeLine(io.out, `${indent}report: ${files.html} (also ${files.json}, ${files.csv})`);
}

export const command: Command = {
  name: 'payments run',
  summary: 'payment run: pay / recover what changed since the last run, SEPA pain.001 file',
  usage: RUN_USAGE,
  flags: RUN_FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, RUN_FLAGS, false);
    const env = readEnv();
    const home = resolve(values.home ?? env.NOEMIE_HOME);
    // the flags as the admin API's body: what the running service is sent when it holds the bus
    const request: PaymentRunRequest = {
      dryRun: values['dry-run'] ?? false,
      ...(values['run-id'] === undefined ? {} : { runId: values['run-id'] }),
      ...(values.at === undefined ? {} : { at: values.at }),
      ...(values.professionals === undefined ? {} : { professionals: resolve(values.professionals) }),
      ...(values.out === undefined ? {} : { out: resolve(values.out) }),
      ...(values['debtor-iban'] === undefined ? {} : { debtorIban: values['debtor-iban'] }),
      ...(values['debtor-bic'] === undefined ? {} : { debtorBic: values['debtor-bic'] }),
      ...(values['debtor-name'] === undefined ? {} : { debtorName: values['debtor-name'] }),
      ...(values['max-order'] === undefined ? {} : { maxOrder: values['max-order'] }),
      ...(values['max-run'] === undefined ? {} : { maxRun: values['max-run'] }),
    };
    checkPaymentRunRequest(request, env);
    const onStep = crashHook(env.NOEMIE_CRASH_AT);
    const report = await adminOrHere<PaymentStageReport>({ home, open: () => openCliBus(home, values.kafka), path: '/v1/admin/payment-runs', request }, async (bus, membership) =>
      maskedReport(await paymentCutoff(request, { bus, home, env, io, membership, ...(onStep ? { onStep } : {}), orderLines: values.json === true })),
    );
    if (values.json) writeJson(io, 'payments run', report);
    else printReport(io, report);
    if (report.alreadyRun) return 1;
    if (report.report !== null && !report.report.reconciled) {
      writeLine(io.err, `payment run ${report.runId}: THE RUN DOES NOT RECONCILE to the cent with its settlements: see ${report.reportFiles?.html ?? 'its report'}`);
      return 3;
    }
    return 0;
  },
};

/**
 * A run's record in the payment state and its report (a legacy ledger.json not imported yet is
 * read, not imported; it has no reports).
 */
async function recordedRun(home: string, runId: string): Promise<{ run: { at: string; orders: number } | undefined; report: RunReportSummary | null }> {
  const source = await PaymentsStore.openForReading(home);
  if (source === null) return { run: undefined, report: null };
  if ('legacy' in source) return { run: Object.hasOwn(source.legacy.ledger.runs, runId) ? source.legacy.ledger.runs[runId] : undefined, report: null };
  try {
    const report = source.report(runId);
    return { run: source.run(runId), report: report === undefined ? null : reportSummary(report) };
  } finally {
    await source.close();
  }
}

const SHOW_USAGE = `noemie payments show [<runId>] [--home <dir>] [--out <dir>] [--json]

Prints a run's orders and sums (IBANs masked), from <out>/<runId>/orders.ndjson (default <home>/payments),
and its report's summary as recorded with the run (blocked payees with their reasons, whether it
reconciles to the cent) and where the report's HTML / JSON / CSV are; then the bank returns: payees
blocked because the bank returned their account, and the returns that could not be applied
(exceptions: file, record, reason). Without <runId>, the bank returns only.
${jsonUsage('payments show')}:
         { runId, at, summary, report, reportFiles, blocked, returns: { blocked, returned, exceptions, files } }
exit code: 0 shown, 1 no such run, 2 usage error`;

const SHOW_FLAGS = { home: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } } as const;

/** The bank returns part of the payment state (empty when the home has no state yet). */
async function readBankReturns(home: string): Promise<BankReturnsView> {
  const source = await PaymentsStore.openForReading(home);
  if (source === null || 'legacy' in source) return { blocked: [], returned: [], exceptions: [], files: [] };
  try {
    return await bankReturnsView(source);
  } finally {
    await source.close();
  }
}

/** What `payments show --json` prints (run fields null without a run id). */
export interface ShowOutput {
  runId: string | null;
  at: string | null;
  /** the run's orders and sums (IBANs masked); null when orders.ndjson is not there (a run without orders) */
  summary: RunSummary | null;
  report: RunReportSummary | null;
  reportFiles: ReportFiles | null;
  blocked: { payee: string; amount: string; reason: string }[];
  returns: BankReturnsView;
}

export const showCommand: Command = {
  name: 'payments show',
  summary: 'print a payment run (orders, transfers, recoveries; IBANs masked) and the bank returns: blocked payees, exceptions',
  usage: SHOW_USAGE,
  flags: SHOW_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, SHOW_FLAGS);
    const runId = positionals[0];
    if (positionals.length > 1) throw new UsageError('at most one run id expected');
    const home = resolve(values.home ?? readEnv().NOEMIE_HOME);
    const returns = await readBankReturns(home);
    if (runId === undefined) {
      if (values.json) {
        const out: ShowOutput = { runId: null, at: null, summary: null, report: null, reportFiles: null, blocked: [], returns };
        writeJson(io, 'payments show', out);
        return 0;
      }
      const lines = renderBankReturnsView(returns);
      for (const l of lines.length === 0 ? ['no bank return recorded'] : lines) writeLine(io.out, l);
      return 0;
    }
    const runDir = runDirOf(values.out === undefined ? join(home, 'payments') : resolve(values.out), runId);
    const file = join(runDir, 'orders.ndjson');
    const { run, report } = await recordedRun(home, runId);
    const hasOrders = existsSync(file);
    if (!hasOrders && run === undefined) {
      writeLine(io.err, `no payment run ${runId} (no ${file}, not in ${stateStoreFileOf(home)})`);
      return 1;
    }
    const orders = hasOrders
      ? (await readFile(file, 'utf8'))
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => PaymentOrderSchema.parse(JSON.parse(l)))
      : null;
    const summary = orders === null ? null : runSummary(runId, orders);
    const files = reportFilesOf(runDir);
    const reportFiles = report !== null && existsSync(files.html) ? files : null;
    if (values.json) {
      const out: ShowOutput = {
        runId,
        at: run?.at ?? orders?.[0]?.at ?? null,
        summary: summary === null ? null : { ...summary, orders: summary.orders.map((o) => ({ ...o, iban: maskIban(o.iban) })) },
        report,
        reportFiles,
        blocked: report?.blocked.items ?? [],
        returns,
      };
      writeJson(io, 'payments show', out);
      return 0;
    }
    if (summary !== null) writeLine(io.out, renderRunSummary(summary));
    else writeLine(io.out, `run ${runId} at ${run!.at}: ${run!.orders} order(s)`);
    if (report === null) writeLine(io.out, 'no report recorded for this run (decided before run reports existed)');
    printReportSummary(io, report, reportFiles, '', true);
    for (const l of renderBankReturnsView(returns)) writeLine(io.out, l);
    return 0;
  },
};

const RETURNS_USAGE = `noemie payments returns <file>... [--home <dir>] [--json]

Applies the bank's return files to the payment state: camt.054 debit/credit notifications
(BkToCstmrDbtCdtNtfctn 001.02–001.08; a TxDtls with RtrInf is a returned transfer) and pain.002
status reports (CstmrPmtStsRpt 001.03–001.10; TxSts RJCT is a rejected transfer). \`noemie run\` does
the same for such files dropped in the inbox (camt054*.xml, pain002*.xml, or any .xml with that root
namespace). A returned transfer is undone: its amount is due again to the payee, and when the reason
is about the account (AC01, AC04, AC06, MD07, MS03…) the payee is blocked — the next runs refuse to
pay it to the same IBAN ("returned by the bank: AC04 compte clos") until its account changes.
A return naming an EndToEndId we never sent, or a transfer already returned, is an exception
(listed by noemie payments show). A file is applied whole, in one transaction; the same bytes twice
are skipped. A malformed file is refused (PAYMENTS_RETURN_MALFORMED, naming file, record and field)
and nothing of it is applied.
${jsonUsage('payments returns')}: the report of each file applied
exit code: 0 applied (exceptions are reported, not failures), 1 a file was refused, 2 usage error`;

const RETURNS_FLAGS = { home: { type: 'string' }, json: { type: 'boolean' } } as const;

export const returnsCommand: Command = {
  name: 'payments returns',
  summary: 'apply the bank\'s returns (camt.054 / pain.002): returned transfers due again, payees blocked until their account changes',
  usage: RETURNS_USAGE,
  flags: RETURNS_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, RETURNS_FLAGS);
    if (positionals.length === 0) throw new UsageError('at least one camt.054 or pain.002 file expected');
    const home = resolve(values.home ?? readEnv().NOEMIE_HOME);
    const reports: BankReturnReport[] = [];
    let code = 0;
    const store = await PaymentsStore.open(home);
    try {
      for (const file of positionals) {
        try {
          const report = await applyBankReturnFile(store, resolve(file), { at: new Date().toISOString() });
          reports.push(report);
          if (!values.json) for (const l of renderBankReturnReport(report)) writeLine(io.out, l);
        } catch (e) {
          if (!(e instanceof PaymentsError) || e.code !== 'PAYMENTS_RETURN_MALFORMED') throw e;
          code = 1;
          writeLine(io.err, `${e.code}: ${e.message} — nothing of this file applied`);
        }
      }
    } finally {
      await store.close();
    }
    if (values.json) writeJson(io, 'payments returns', reports);
    return code;
  },
};

const APPROVE_USAGE = `noemie payments approve <paymentId|payee> [--run <runId>] [--by <name>] [--home <dir>] [--json]

Approves an order the payment controls held (a run's report lists them: "HELD for approval"), by its
paymentId (<runId>:<payee>) or its payee (member:<adherentId>, ps:<psId>). The approval records who,
when and the order approved (amount and EndToEndId): the next payment run pays exactly that order
(in its pain.001, once). If the amount or the lines change before that run, the order is a different
one and is held again: approve it again.
  --run <runId>   refuse unless the held order comes from this run
  --by <name>     who approves, default the system user name
${jsonUsage('payments approve')}: the approval recorded
exit code: 0 approved, 1 no such held order, 2 usage error`;

const APPROVE_FLAGS = { home: { type: 'string' }, run: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' } } as const;

export const approveCommand: Command = {
  name: 'payments approve',
  summary: 'approve an order the payment controls held (per-order / per-run ceiling); the next run pays it',
  usage: APPROVE_USAGE,
  flags: APPROVE_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, APPROVE_FLAGS);
    const ref = positionals[0];
    if (positionals.length !== 1 || ref === undefined) throw new UsageError('one paymentId or payee expected');
    const by = values.by ?? userInfo().username;
    if (by.trim() === '') throw new UsageError('--by must name who approves');
    const home = resolve(values.home ?? readEnv().NOEMIE_HOME);
    const store = await PaymentsStore.open(home);
    let approval: Approval;
    try {
      const before = await store.readSlice({ controls: true });
      const approved = approvePayment(before, { ref, by, at: new Date().toISOString(), ...(values.run === undefined ? {} : { runId: values.run }) });
      approval = approved.approval;
      await store.commitApproval(before, approved.ledger);
    } finally {
      await store.close();
    }
    if (values.json) writeJson(io, 'payments approve', approval);
    else writeLine(io.out, `approved ${approval.paymentId}: ${approval.amount} to ${approval.payee} (EndToEndId ${approval.endToEndId}) by ${approval.by} at ${approval.at}; the next payment run pays it`);
    return 0;
  },
};
