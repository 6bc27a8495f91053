import { z } from 'zod';
import { centsOf, moneyOfCents } from '../model/cents.js';
import { MONEY_PATTERN, MoneySchema } from '../model/money.js';
import type { PaymentOrder, PaymentOrderHead } from '../model/payment.js';
import { entitledOf } from './entitlement.js';
import type { RunIntent, SepaFileIntent } from './intent.js';
import { reasonText } from './bank-returns/reasons.js';
import { maskIban } from './show.js';
import type { Blocked, Held, LineLedger, LineReturn, PaymentsLedger, Pending, RunResult } from './types.js';

/**
 * The payment-run report for finance (issue 11): what the run's lines were worth, what the run
 * transferred (per debtor account and per pain.001 file), held, blocked and recovered, and the
 * equation that ties them together to the cent. Built ONCE, when the run is decided, from the
 * slice of the ledger the run read (its due lines, their operator payments, the payees' debts) and
 * the run's result and intent — never from the ledger's history — and recorded with the run
 * (src/pipeline/payments-store.ts, `payments.report/<runId>`): `payments show` and a restart after
 * a crash read it back, so its cost grows with the run, not with the past.
 *
 * The equation, per payee (run.ts): net = Σ line movements − debt before; net > 0 is transferred,
 * held or blocked, net < 0 is recovered (carried as a debt). Summed over the run's payees:
 *
 *   settled movements = transferred + held + blocked − recovered + debts brought forward
 *
 * where "settled movements" is computed independently here, line by line, as
 * Σ (entitled now − already paid: our runs + the TP operator) over the run's payable lines.
 */

const M = MoneySchema;
const count = z.number().int().min(0);

const SettledLineSchema = z.object({
  lineKey: z.string(),
  version: z.number().int(),
  /** the settlement's AMC amount (what the mutuelle owes for the line, whoever is paid) */
  amcAmount: M,
  /** what the line's payees are entitled to now (0 for an annulled line, a TP line held/in exception) */
  entitled: M,
  /** what was already paid for it: our earlier runs' net, plus what the TP operator paid */
  paidBefore: M,
  /** entitled − paidBefore: what this run moves for the line */
  movement: M,
  /** why entitled differs from the AMC amount, when it does */
  note: z.string().nullable(),
});

const TotalSchema = z.object({ count, total: M });

export const RunReportSchema = z.object({
  format: z.literal(1),
  runId: z.string(),
  at: z.string(),
  settled: z.object({ lines: z.array(SettledLineSchema), count, amcAmount: M, entitled: M, paidBefore: M, movement: M }),
  /** lines whose money does not move this run: reconciliation held / exception (TP), review, awaiting reconciliation */
  withheld: z.object({
    reconciliation: z.array(z.object({ lineKey: z.string(), kind: z.string(), amcAmount: M })),
    pending: z.array(z.object({ lineKey: z.string(), reason: z.string() })),
    reconciliationTotal: M,
  }),
  /** orders the payment controls held for approval (not transferred, lines still due) */
  held: z.object({ items: z.array(z.object({ paymentId: z.string(), payee: z.string(), amount: M, ceiling: z.string(), limit: M.nullable(), reason: z.string(), lines: count })), ...TotalSchema.shape }),
  transferred: z.object({
    byDebtor: z.array(z.object({ debtorIban: z.string(), debtorName: z.string(), count, total: M })),
    files: z.array(z.object({ fileName: z.string(), messageId: z.string(), debtorIban: z.string(), debtorName: z.string(), executionDate: z.string(), count, total: M })),
    orders: z.array(z.object({ paymentId: z.string(), payee: z.string(), name: z.string(), iban: z.string(), amount: M, endToEndId: z.string(), messageId: z.string().nullable(), fileName: z.string().nullable(), debtBefore: M, lines: count })),
    ...TotalSchema.shape,
  }),
  /** payments of 0.00 (movements that cancel out): recorded, nothing sent */
  zero: z.object({ items: z.array(z.object({ paymentId: z.string(), payee: z.string(), debtBefore: M, lines: count })), count }),
  blocked: z.object({ items: z.array(z.object({ payee: z.string(), amount: M, reason: z.string(), lines: count, lineKeys: z.array(z.string()) })), ...TotalSchema.shape }),
  /**
   * blocked payees, and orders held by the per-order ceiling (`kind: 'held'`), this run did not
   * decide again (src/payments/parked.ts): an earlier run (`since`) parked them and nothing their
   * decision reads has changed (no line of theirs due, the same account, return block and debt;
   * held: no approval, the same ceiling). Their lines are not among this run's settled movements:
   * no term of the equation. Absent when empty, in a report written before session 24, and in a dry
   * run's (which decides every parked payee again: its `blocked` and `held` list them).
   */
  carried: z.object({ items: z.array(z.object({ payee: z.string(), amount: M, reason: z.string(), lines: count, since: z.string(), kind: z.literal('held').optional() })), ...TotalSchema.shape }).optional(),
  recoveries: z.object({ items: z.array(z.object({ paymentId: z.string(), payee: z.string(), amount: M, debtBefore: M, debtAfter: M, lines: count })), ...TotalSchema.shape }),
  debts: z.object({
    /** Σ the debts the run's payees owed before it (offset against their movements) */
    broughtForward: M,
    /** Σ what the run's payees still owe after it (recoveries, and the untouched debts of blocked / held payees) */
    carried: M,
  }),
  /**
   * bank returns (camt.054 / pain.002): `items` the returns applied since the previous run (money the
   * bank sent back: no term of this run's equation, their lines are due again); `repaid` this run's
   * orders that pay returned lines again (part of settled movements and of transferred / recovered)
   */
  returned: z.object({
    implemented: z.boolean(),
    items: z.array(z.object({
      endToEndId: z.string(), paymentId: z.string(), runId: z.string(), payee: z.string(), amount: M,
      code: z.string(), label: z.string(), reason: z.string(), blocks: z.boolean(), file: z.string(), record: count, at: z.string().nullable(),
    })),
    ...TotalSchema.shape,
    repaid: z.object({
      items: z.array(z.object({
        paymentId: z.string(), payee: z.string(), kind: z.enum(['payment', 'recovery']), transfer: z.boolean(),
        /** the re-payment's EndToEndId (a new one: the returned id is never sent again) */
        endToEndId: z.string(),
        /** Σ this order's movements on the returned lines */
        amount: M,
        /** Σ what the bank returned on those lines */
        returnedAmount: M,
        returnedEndToEndIds: z.array(z.string()),
        lines: count,
      })),
      ...TotalSchema.shape,
    }),
  }),
  reconciliation: z.object({
    equation: z.string(),
    checks: z.array(z.object({ name: z.string(), left: M, right: M, holds: z.boolean() })),
    reconciled: z.boolean(),
  }),
}).meta({ title: 'Payment-run report', description: 'report.json of a payment run (<out>/<runId>/report.json), for finance: src/payments/README.md, "The payment-run report".' });
export type RunReport = z.infer<typeof RunReportSchema>;

// Sums in integer cents (src/model/cents.ts): every amount here is Money (schemas, and the
// MONEY_PATTERN check below before a line's amounts are summed), and a run's sums stay far below
// 2^53 cents — a value that is not Money, or a sum out of that range, is an error, never rounded.
const money = (cents: number) => moneyOfCents(cents);
const cents = (v: string | number): number => {
  const c = typeof v === 'number' ? v : centsOf(v);
  if (c === null || !Number.isSafeInteger(c)) throw new RangeError(`payment report: "${v}" is not an amount`);
  return c;
};
const sum = (values: Iterable<string | number>) => {
  let s = 0;
  for (const v of values) s = cents(s + cents(v));
  return s;
};
/** `sum([a, b])` without the array (once per due line and per total of a row) */
const plus = (a: string | number, b: string | number) => cents(cents(a) + cents(b));
const own = <T>(r: Readonly<Record<string, T>>, k: string): T | undefined => (Object.hasOwn(r, k) ? r[k] : undefined);

/** Why what a line entitles differs from its AMC amount (null when it does not). */
function noteOf(line: LineLedger, entitled: number): string | null {
  const s = line.settlement!;
  if (entitled === centsOf(s.amcAmount)) return null;
  if (s.annulled) return 'annulled: nothing is owed, what was paid is taken back';
  if (s.tiersPayant && line.tp !== null) return `tiers payant ${line.tp.kind}: ${line.tp.payee === null ? 'nobody is paid (never the member)' : `the professional is owed ${line.tp.owed}`}`;
  if (s.status !== 'paid') return `status ${s.status}: nothing owed`;
  return null;
}

export interface RunReportInput {
  runId: string;
  at: string;
  /** the ledger slice the run decided on (before the run) */
  slice: PaymentsLedger;
  result: Pick<RunResult, 'orders' | 'blocked' | 'held' | 'pending'>;
  intent: RunIntent | null;
}

export type SettledLine = RunReport['settled']['lines'][number];
export type WithheldLine = RunReport['withheld']['reconciliation'][number];

/**
 * One due line's row of the report's settled table (and its withheld entry for a TP line held or in
 * exception), computed from the line before the run and what the operator paid for it (cents),
 * independently of run.ts; null for a line the run cannot settle (pending).
 */
export function settledLineOf(lineKey: string, line: LineLedger, operatorPaid: number): { row: SettledLine; withheld: WithheldLine | null } | null {
  if (line.settlement === null) return null;
  // (no arrays of the amounts: this runs once per due line in a run's scan)
  const ent = entitledOf(line);
  if (ent.kind === 'pending' || (ent.payee !== null && !MONEY_PATTERN.test(ent.amount))) return null;
  let paid = 0;
  for (const p in line.paid) {
    const a = line.paid[p]!;
    if (!MONEY_PATTERN.test(a)) return null;
    paid = cents(paid + cents(a));
  }
  const entitled = ent.payee === null ? 0 : cents(ent.amount);
  const paidBefore = cents(paid + cents(operatorPaid));
  const s = line.settlement;
  const withheld = s.tiersPayant && !s.annulled && line.tp !== null && (line.tp.kind === 'held' || line.tp.kind === 'exception') ? { lineKey, kind: line.tp.kind, amcAmount: s.amcAmount } : null;
  return { row: { lineKey, version: s.version, amcAmount: s.amcAmount, entitled: money(entitled), paidBefore: money(paidBefore), movement: money(plus(entitled, -paidBefore)), note: noteOf(line, entitled) }, withheld };
}

/**
 * A settled row as `payments.report-lines` keeps it since session 13 (src/pipeline/payments-store.ts):
 * its seven fields in `settledLineOf`'s order, without their names — half the bytes of the object
 * (≈ 75 against 150 a due line, kept with every run), and the same row back (`settledRowOf`).
 */
export type SettledTuple = readonly [lineKey: string, version: number, amcAmount: string, entitled: string, paidBefore: string, movement: string, note: string | null];
/** A settled row's fields, in the order `settledLineOf` makes them (and JSON.parse gives them back). */
export const SETTLED_FIELDS = ['lineKey', 'version', 'amcAmount', 'entitled', 'paidBefore', 'movement', 'note'] as const;

/** The row as a tuple; the row itself when it is not exactly the seven fields in their order (kept whole: never a field lost). */
export function settledTupleOf(l: SettledLine): SettledTuple | SettledLine {
  let i = 0;
  for (const k in l) if (k !== SETTLED_FIELDS[i++]) return l;
  if (i !== SETTLED_FIELDS.length) return l;
  return [l.lineKey, l.version, l.amcAmount, l.entitled, l.paidBefore, l.movement, l.note];
}

/** A stored row (a tuple, or an object as rows were stored before session 13) as the report's row. */
export function settledRowOf(r: SettledTuple | SettledLine): SettledLine {
  if (!Array.isArray(r)) return r as SettledLine;
  const t = r as SettledTuple;
  return { lineKey: t[0], version: t[1], amcAmount: t[2], entitled: t[3], paidBefore: t[4], movement: t[5], note: t[6] };
}

/** The report's sums of the settled table, in cents (kept as the rows go by when they are not all in memory). */
export class SettledTotals {
  count = 0;
  amcAmount = 0;
  entitled = 0;
  paidBefore = 0;
  movement = 0;

  add(l: SettledLine): void {
    this.count += 1;
    this.amcAmount = plus(this.amcAmount, l.amcAmount);
    this.entitled = plus(this.entitled, l.entitled);
    this.paidBefore = plus(this.paidBefore, l.paidBefore);
    this.movement = plus(this.movement, l.movement);
  }
}

/** A bank return mark on a line an order moves, for the same payee: what `returned.repaid` is made of. */
export interface RepaidMark {
  endToEndId: string;
  /** what the bank returned on the line */
  returnedAmount: string;
  lineKey: string;
  /** the order's movement on the line */
  lineAmount: string;
}

/** The marks of an order's lines, in the order's line order (each line's marks as the line lists them). */
export function repaidMarksOf(lines: readonly { lineKey: string; amount: string }[], payee: string, returnedOf: (lineKey: string) => LineLedger['returned']): RepaidMark[] {
  return lines.flatMap((l) => Object.entries(returnedOf(l.lineKey) ?? {}).filter(([, r]) => r.payee === payee).map(([id, r]) => ({ endToEndId: id, returnedAmount: r.amount, lineKey: l.lineKey, lineAmount: l.amount })));
}

function repaidItemOf(o: PaymentOrder | PaymentOrderHead, marks: readonly RepaidMark[]): RunReport['returned']['repaid']['items'][number] | null {
  if (marks.length === 0) return null;
  const returnedLines = new Map(marks.map((m) => [m.lineKey, m.lineAmount]));
  return {
    paymentId: o.paymentId, payee: o.payee, kind: o.kind, transfer: o.transfer, endToEndId: o.endToEndId,
    amount: money(sum([...returnedLines.values()])), returnedAmount: money(sum(marks.map((m) => m.returnedAmount))),
    returnedEndToEndIds: [...new Set(marks.map((m) => m.endToEndId))].sort(), lines: returnedLines.size,
  };
}

/** What the report is assembled from: the settled table (its rows, or only its totals when the rows are stored apart) and the run's decision. */
export interface RunReportParts {
  runId: string;
  at: string;
  settled: { lines: SettledLine[]; totals: SettledTotals };
  withheldReconciliation: WithheldLine[];
  result: { orders: readonly (PaymentOrder | PaymentOrderHead)[]; blocked: readonly Blocked[]; held: readonly Held[]; pending: readonly Pending[] };
  files: readonly SepaFileIntent[];
  /** the debt a payee owed before the run */
  debtOf: (payee: string) => string | undefined;
  returnsToReport: Readonly<Record<string, LineReturn>>;
  /** an order's repaid marks (empty: it pays no returned line again) */
  repaidMarksOf: (o: PaymentOrder | PaymentOrderHead) => readonly RepaidMark[];
  /** the parked payees the run did not decide again (a streamed run; none or absent: the section is left out) */
  carried?: readonly CarriedBlocked[];
}

/** A parked payee a run carries without deciding it again (RunReport `carried`). */
export interface CarriedBlocked {
  payee: string;
  amount: string;
  reason: string;
  lines: number;
  /** the run that decided it blocked (or held) */
  since: string;
  /** held for approval (the per-order ceiling, or an amount no SEPA transfer carries); absent: blocked */
  kind?: 'held';
}

export function buildRunReport({ runId, at, slice, result, intent }: RunReportInput): RunReport {
  // ---- settled: the run's payable lines, computed from the slice, independently of run.ts ----
  const pendingKeys = new Set(result.pending.map((p) => p.lineKey));
  const operatorByLine = new Map<string, number>();
  for (const p of Object.values(slice.operatorPaid)) operatorByLine.set(p.lineKey, sum([operatorByLine.get(p.lineKey) ?? 0, p.amount]));
  const settledLines: SettledLine[] = [];
  const totals = new SettledTotals();
  const reconciliation: WithheldLine[] = [];
  for (const lineKey of Object.keys(slice.due).sort()) {
    const line = own(slice.lines, lineKey);
    if (!line || pendingKeys.has(lineKey)) continue;
    const settled = settledLineOf(lineKey, line, operatorByLine.get(lineKey) ?? 0);
    if (settled === null) continue;
    if (settled.withheld !== null) reconciliation.push(settled.withheld);
    settledLines.push(settled.row);
    totals.add(settled.row);
  }
  return assembleRunReport({
    runId, at, settled: { lines: settledLines, totals }, withheldReconciliation: reconciliation, result, files: intent?.files ?? [],
    debtOf: (payee) => own(slice.debts, payee), returnsToReport: slice.returnsToReport ?? {},
    repaidMarksOf: (o) => ('lines' in o ? repaidMarksOf(o.lines, o.payee, (k) => own(slice.lines, k)?.returned) : []),
  });
}

export function assembleRunReport(parts: RunReportParts): RunReport {
  const { runId, at, result } = parts;
  const settledMovement = parts.settled.totals.movement;
  const reconciliation = parts.withheldReconciliation;

  // ---- transferred, per pain.001 file and per debtor account ----
  const fileOf = new Map<string, { fileName: string; messageId: string }>();
  const orderById = new Map(result.orders.map((o) => [o.endToEndId, o]));
  const files = parts.files.map((f) => {
    for (const id of f.endToEndIds) fileOf.set(id, { fileName: f.fileName, messageId: f.messageId });
    const amounts = f.endToEndIds.map((id) => orderById.get(id)?.amount ?? '0.00');
    return { fileName: f.fileName, messageId: f.messageId, debtorIban: maskIban(f.debtor.iban), debtorName: f.debtor.name, executionDate: f.executionDate, count: f.endToEndIds.length, total: money(sum(amounts)) };
  });
  const byDebtor = new Map<string, { debtorIban: string; debtorName: string; count: number; total: number }>();
  for (const f of files) {
    const d = byDebtor.get(f.debtorIban) ?? { debtorIban: f.debtorIban, debtorName: f.debtorName, count: 0, total: 0 };
    d.count += f.count;
    d.total = sum([d.total, f.total]);
    byDebtor.set(f.debtorIban, d);
  }
  const transfers = result.orders.filter((o) => o.transfer);
  const lineCount = (o: PaymentOrder | PaymentOrderHead) => ('lines' in o ? o.lines.length : o.lineCount);
  const transferredTotal = sum(transfers.map((o) => o.amount));
  const recoveries = result.orders.filter((o) => o.kind === 'recovery');
  const recoveredTotal = sum(recoveries.map((o) => o.amount));
  const zero = result.orders.filter((o) => o.kind === 'payment' && !o.transfer);
  const heldTotal = sum(result.held.map((h) => h.amount));
  const blockedTotal = sum(result.blocked.map((b) => b.amount));

  // ---- debts: of the payees this run looked at ----
  const debtOf = (payee: string) => cents(parts.debtOf(payee) ?? '0.00');
  const untouched = [...result.blocked.map((b) => b.payee), ...result.held.map((h) => h.payee)];
  const broughtForward = sum([sum(result.orders.map((o) => o.debtBefore)), sum(untouched.map(debtOf))]);
  const carried = sum([sum(result.orders.map((o) => o.debtAfter)), sum(untouched.map(debtOf))]);

  // ---- bank returns: applied since the previous run, and re-paid by this one ----
  // No term in the equation: a return puts its amount back in the lines' `paid` (and the debt the
  // transfer absorbed back in the payee's debt), so this run's settled movements carry it and it
  // lands in transferred / held / blocked / recovered like any movement (README, "The equation").
  const returnsSince = Object.entries(parts.returnsToReport).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([endToEndId, x]) => ({
      endToEndId, paymentId: x.paymentId, runId: x.runId, payee: x.payee, amount: x.amount,
      code: x.code, label: x.label, reason: reasonText(x), blocks: x.blocks, file: x.file, record: x.record, at: x.at,
    }));
  const returnedTotal = sum(returnsSince.map((x) => x.amount));
  const repaid: RunReport['returned']['repaid']['items'] = [];
  for (const o of result.orders) {
    const item = repaidItemOf(o, parts.repaidMarksOf(o));
    if (item !== null) repaid.push(item);
  }

  const right = sum([transferredTotal, heldTotal, blockedTotal, -recoveredTotal, broughtForward]);
  const filesTotal = sum(files.map((f) => f.total));
  const checks = [
    { name: 'settled movements = transferred + held + blocked − recovered + debts brought forward', left: money(settledMovement), right: money(right), holds: settledMovement === right },
    { name: 'Σ pain.001 files = transferred', left: money(filesTotal), right: money(transferredTotal), holds: filesTotal === transferredTotal && files.reduce((n, f) => n + f.count, 0) === transfers.length },
  ];

  const t = parts.settled.totals;
  return {
    format: 1,
    runId,
    at,
    settled: {
      lines: parts.settled.lines,
      count: t.count,
      amcAmount: money(t.amcAmount),
      entitled: money(t.entitled),
      paidBefore: money(t.paidBefore),
      movement: money(settledMovement),
    },
    withheld: { reconciliation, pending: result.pending.map((p) => ({ lineKey: p.lineKey, reason: p.reason })), reconciliationTotal: money(sum(reconciliation.map((r) => r.amcAmount))) },
    held: {
      items: result.held.map((h) => ({ paymentId: h.paymentId, payee: h.payee, amount: h.amount, ceiling: h.ceiling, limit: h.limit, reason: h.reason, lines: h.lineKeys.length })),
      count: result.held.length,
      total: money(heldTotal),
    },
    transferred: {
      byDebtor: [...byDebtor.values()].map((d) => ({ ...d, total: money(d.total) })),
      files,
      orders: transfers.map((o) => ({
        paymentId: o.paymentId, payee: o.payee, name: o.name, iban: maskIban(o.iban), amount: o.amount, endToEndId: o.endToEndId,
        messageId: fileOf.get(o.endToEndId)?.messageId ?? null, fileName: fileOf.get(o.endToEndId)?.fileName ?? null, debtBefore: o.debtBefore, lines: lineCount(o),
      })),
      count: transfers.length,
      total: money(transferredTotal),
    },
    zero: { items: zero.map((o) => ({ paymentId: o.paymentId, payee: o.payee, debtBefore: o.debtBefore, lines: lineCount(o) })), count: zero.length },
    blocked: {
      items: result.blocked.map((b) => ({ payee: b.payee, amount: b.amount, reason: b.reason, lines: b.lineKeys.length, lineKeys: b.lineKeys })),
      count: result.blocked.length,
      total: money(blockedTotal),
    },
    ...(parts.carried === undefined || parts.carried.length === 0 ? {} : { carried: { items: parts.carried.map((c) => ({ ...c })), count: parts.carried.length, total: money(sum(parts.carried.map((c) => c.amount))) } }),
    recoveries: {
      items: recoveries.map((o) => ({ paymentId: o.paymentId, payee: o.payee, amount: o.amount, debtBefore: o.debtBefore, debtAfter: o.debtAfter, lines: lineCount(o) })),
      count: recoveries.length,
      total: money(recoveredTotal),
    },
    debts: { broughtForward: money(broughtForward), carried: money(carried) },
    returned: {
      implemented: true, items: returnsSince, count: returnsSince.length, total: money(returnedTotal),
      repaid: { items: repaid, count: repaid.length, total: money(sum(repaid.map((x) => x.amount))) },
    },
    reconciliation: {
      equation: 'settled movements (entitled now − already paid, per line) = transferred + held for approval + blocked − recovered + debts brought forward',
      checks,
      reconciled: checks.every((c) => c.holds),
    },
  };
}

/** The few lines `payments run` / `payments show` print (and their `--json` `report.summary`). */
export interface RunReportSummary {
  reconciled: boolean;
  settled: string;
  transferred: { count: number; total: string; files: number };
  held: { count: number; total: string };
  blocked: { count: number; total: string; items: { payee: string; amount: string; reason: string }[] };
  /** blocked (and per-order held) payees carried from earlier runs, not decided again (absent: none, or a summary recorded before session 24) */
  carried?: { count: number; total: string };
  recovered: { count: number; total: string };
  debtsCarried: string;
  /** bank returns applied since the previous run, and this run's re-payments of returned lines */
  returned: { count: number; total: string; repaid: { count: number; total: string } };
}

export function reportSummary(r: RunReport): RunReportSummary {
  return {
    reconciled: r.reconciliation.reconciled,
    settled: r.settled.movement,
    transferred: { count: r.transferred.count, total: r.transferred.total, files: r.transferred.files.length },
    held: { count: r.held.count, total: r.held.total },
    blocked: { count: r.blocked.count, total: r.blocked.total, items: r.blocked.items.map(({ payee, amount, reason }) => ({ payee, amount, reason })) },
    ...(r.carried === undefined || r.carried.count === 0 ? {} : { carried: { count: r.carried.count, total: r.carried.total } }),
    recovered: { count: r.recoveries.count, total: r.recoveries.total },
    debtsCarried: r.debts.carried,
    // a report recorded before re-payments were reported has no `repaid`
    returned: { count: r.returned.count, total: r.returned.total, repaid: { count: r.returned.repaid?.count ?? 0, total: r.returned.repaid?.total ?? '0.00' } },
  };
}

export function renderReportSummary(s: RunReportSummary): string[] {
  const out = [
    `settled ${s.settled} = transferred ${s.transferred.total} (${s.transferred.count}, ${s.transferred.files} pain.001) + held ${s.held.total} (${s.held.count}) + blocked ${s.blocked.total} (${s.blocked.count}) − recovered ${s.recovered.total} (${s.recovered.count}) + debts brought forward; debts carried ${s.debtsCarried}`,
    s.reconciled ? 'reconciled to the cent' : '*** THE RUN DOES NOT RECONCILE: see the report\'s checks ***',
  ];
  for (const b of s.blocked.items) out.push(`blocked: ${b.payee} ${b.amount}: ${b.reason}`);
  if (s.carried !== undefined) out.push(`blocked or held before and not decided again (nothing changed for them): ${s.carried.count} payee(s), ${s.carried.total}`);
  // absent in a summary recorded before returns were reported
  const ret = s.returned as RunReportSummary['returned'] | undefined;
  if (ret !== undefined && ret.count + ret.repaid.count > 0) out.push(`bank returns since the previous run: ${ret.count} (${ret.total}); re-paid by this run: ${ret.repaid.count} (${ret.repaid.total})`);
  return out;
}
