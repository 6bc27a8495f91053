import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PaymentOrder, PaymentOrderHead } from '../model/payment.js';
import { checkNotHandedOver, runIntent, sepaFilesOf, type RunIntent } from './intent.js';
import { runPayments } from './run.js';
import type { PaymentRunStep } from './run-steps.js';
import type { DebtorAccount, PartyId } from './sepa/pain001.js';
import { planSepaFiles } from './sepa/files.js';
import { removeTempFiles, writeOrdersFile, writePain001File } from './sepa/write.js';
import type { PaymentsLedger, RunInput, RunResult } from './types.js';

/**
 * A payment run in two halves, so that the caller can record the decision before any file exists
 * (src/pipeline/payments-service.ts): `planPaymentRun` decides the orders and the files to come
 * (the run's intent, nothing written); `writeRunFiles` writes the intent's files, each durably,
 * and can be called again after a crash with the same result, byte for byte.
 */
export interface ExecuteRunOptions extends RunInput {
  outDir: string;
  dryRun: boolean;
  executionDate: string;
  initiatingParty: string;
  initiatingPartyId?: PartyId | null;
  debtorOf: (order: PaymentOrder | PaymentOrderHead) => DebtorAccount;
}

export interface ExecutedRun {
  result: RunResult;
  ordersFile: string | null;
  sepaFiles: string[];
}

export const runDirOf = (outDir: string, runId: string) => join(outDir, runId.replace(/[^A-Za-z0-9._-]/g, '_'));

/** The run decided (pure apart from hashing): its result, and its intent when it has orders to write. */
export function planPaymentRun(ledger: PaymentsLedger, options: Omit<ExecuteRunOptions, 'dryRun'>): { result: RunResult; intent: RunIntent | null } {
  const result = runPayments(ledger, options);
  if (result.alreadyRun || result.orders.length === 0) return { result, intent: null };
  const files = planSepaFiles({ runId: options.runId, createdAt: options.at, executionDate: options.executionDate, initiatingParty: options.initiatingParty, initiatingPartyId: options.initiatingPartyId ?? null, orders: result.orders, debtorOf: options.debtorOf });
  return { result, intent: runIntent(options.runId, options.at, runDirOf(options.outDir, options.runId), result.orders, files) };
}

export interface WriteRunOptions {
  /** EndToEndId → MsgId of the one file allowed to carry it (must already hold this intent's ids) */
  handedOver: Readonly<Record<string, string>>;
  onStep?: (step: PaymentRunStep) => void;
  /** the orders with their lines, in the intent's order, when the intent holds only their heads (a streamed run) */
  orders?: () => Iterable<PaymentOrder> | AsyncIterable<PaymentOrder>;
}

/** Writes (or re-writes, after a crash) an intent's pain.001 files and orders.ndjson; removes stray temp files first. */
export async function writeRunFiles(intent: Omit<RunIntent, 'orders'> & { orders: readonly (PaymentOrder | PaymentOrderHead)[] }, options: WriteRunOptions): Promise<{ ordersFile: string; sepaFiles: string[] }> {
  await mkdir(intent.dir, { recursive: true });
  await removeTempFiles(intent.dir);
  const sepaFiles: string[] = [];
  for (const [i, file] of sepaFilesOf(intent).entries()) {
    checkNotHandedOver(options.handedOver, intent.files[i]!);
    const path = join(intent.dir, file.fileName);
    await writePain001File(path, file, () => options.onStep?.('pain-temp-written'));
    options.onStep?.('pain-renamed');
    sepaFiles.push(path);
  }
  const ordersFile = join(intent.dir, intent.ordersFile);
  await writeOrdersFile(ordersFile, options.orders?.() ?? (intent.orders as PaymentOrder[]));
  options.onStep?.('orders-written');
  return { ordersFile, sepaFiles };
}

/**
 * Both halves at once, for a caller without a durable state of its own (tests, tools): a dry run
 * returns the decision and writes nothing.
 */
export async function executePaymentRun(ledger: PaymentsLedger, options: ExecuteRunOptions): Promise<ExecutedRun> {
  const { result, intent } = planPaymentRun(ledger, options);
  if (options.dryRun || intent === null) return { result, ordersFile: null, sepaFiles: [] };
  const handedOver = Object.fromEntries(intent.files.flatMap((f) => f.endToEndIds.map((id) => [id, f.messageId])));
  return { result, ...(await writeRunFiles(intent, { handedOver })) };
}
