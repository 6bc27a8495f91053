import { resolve } from 'node:path';
import { isValidBIC, isValidIBAN } from 'ibantools';
import { initiatingParty, paymentLimits, type Env } from '../config.js';
import type { Bus } from '../bus/index.js';
import { maskIban, parseLimit, type PaymentLimits, type PaymentRunStep } from '../payments/index.js';
import { DEFAULT_DEBTOR, runPaymentStage, type PaymentStageReport } from '../pipeline/payments-service.js';
import { membershipAccountBook, type MembershipStore } from '../pipeline/membership-store.js';
import type { PaymentRunRequest } from '../http/admin.js';
import { UsageError, type CliIo } from './command.js';
import { loadProfessionalAccounts } from './commands/payments.js';

/**
 * One payment cut-off from the flags of `noemie payments run` (as `PaymentRunRequest`, the body of
 * POST /v1/admin/payment-runs): the command runs it on its own bus, the running service on its
 * bus with its live membership store. Same controls, same report either way.
 */
export function checkPaymentRunRequest(request: PaymentRunRequest, env: Env): { limits: PaymentLimits; debtor: { iban: string; bic: string | null; name: string } } {
  if (request.at !== undefined && Number.isNaN(Date.parse(request.at))) throw new UsageError(`--at expects an ISO-8601 instant, got "${request.at}"`);
  const debtor = { iban: request.debtorIban ?? DEFAULT_DEBTOR.iban, bic: request.debtorBic ?? DEFAULT_DEBTOR.bic, name: request.debtorName ?? DEFAULT_DEBTOR.name };
  if (!isValidIBAN(debtor.iban.replace(/\s/g, ''))) throw new UsageError('--debtor-iban is not a valid IBAN');
  if (debtor.bic !== null && !isValidBIC(debtor.bic)) throw new UsageError('--debtor-bic is not a valid BIC');
  const override: Partial<PaymentLimits> = {};
  const limit = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const parsed = parseLimit(value);
    if (!parsed.ok) throw new UsageError(`--${name}: ${parsed.problem}`);
    return parsed.value;
  };
  const maxOrder = limit('max-order', request.maxOrder);
  const maxRun = limit('max-run', request.maxRun);
  if (maxOrder !== undefined) override.maxOrder = maxOrder;
  if (maxRun !== undefined) override.maxRun = maxRun;
  return { limits: paymentLimits(env, override), debtor };
}

export interface CutoffContext {
  bus: Bus;
  home: string;
  env: Env;
  io: CliIo;
  /** the members' accounts as of the run's day; null: none known (every family blocked) */
  membership: MembershipStore | null;
  onStep?: (step: PaymentRunStep) => void;
  /** false: the report's orders without their lines (`orderHeads` only; PaymentStageOptions.orderLines) */
  orderLines?: boolean;
}

export async function paymentCutoff(request: PaymentRunRequest, ctx: CutoffContext): Promise<PaymentStageReport> {
  const { limits, debtor } = checkPaymentRunRequest(request, ctx.env);
  const professionals = await loadProfessionalAccounts(request.professionals, ctx.io, ctx.home);
  const runDay = new Date(request.at ?? new Date().toISOString()).toISOString().slice(0, 10);
  const accounts = ctx.membership === null ? { members: {}, professionals } : membershipAccountBook(ctx.membership, runDay, professionals);
  return runPaymentStage({
    bus: ctx.bus,
    home: ctx.home,
    accounts,
    debtor,
    initiatingParty: initiatingParty(ctx.env),
    dryRun: request.dryRun,
    limits,
    ...(ctx.onStep ? { onStep: ctx.onStep } : {}),
    ...(ctx.orderLines === false ? { orderLines: false } : {}),
    ...(ctx.env.NOEMIE_PAYMENT_SLICE_LINES === undefined ? {} : { sliceLines: ctx.env.NOEMIE_PAYMENT_SLICE_LINES }),
    ...(request.runId === undefined ? {} : { runId: request.runId }),
    ...(request.at === undefined ? {} : { at: request.at }),
    ...(request.out === undefined ? {} : { outDir: resolve(request.out) }),
  });
}

/** The report for --json and the admin API: the orders' IBANs masked like the text output (stdout ends up in logs). */
export function maskedReport(r: PaymentStageReport): PaymentStageReport {
  return { ...r, orders: r.orders.map((o) => ({ ...o, iban: maskIban(o.iban) })), orderHeads: r.orderHeads.map((o) => ({ ...o, iban: maskIban(o.iban) })) };
}
