import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PaymentOrder } from '../model/payment.js';
import { runPayments } from './run.js';
import type { DebtorAccount } from './sepa/pain001.js';
import { planSepaFiles } from './sepa/files.js';
import { writeOrdersFile, writePain001File } from './sepa/write.js';
import type { PaymentsLedger, RunInput, RunResult } from './types.js';

/**
 * One payment run as `noemie payments run [--dry-run]` does it: decide the orders, then (unless
 * dry) write `<outDir>/<runId>/orders.ndjson` and one pain.001 file per debtor account. The caller
 * persists `result.ledger` only after the files are written and the orders published; a dry run
 * returns the same result and writes nothing.
 */
export interface ExecuteRunOptions extends RunInput {
  outDir: string;
  dryRun: boolean;
  executionDate: string;
  initiatingParty: string;
  debtorOf: (order: PaymentOrder) => DebtorAccount;
}

export interface ExecutedRun {
  result: RunResult;
  ordersFile: string | null;
  sepaFiles: string[];
}

export async function executePaymentRun(ledger: PaymentsLedger, options: ExecuteRunOptions): Promise<ExecutedRun> {
  const result = runPayments(ledger, options);
  if (options.dryRun || result.alreadyRun || result.orders.length === 0) return { result, ordersFile: null, sepaFiles: [] };
  const dir = join(options.outDir, options.runId.replace(/[^A-Za-z0-9._-]/g, '_'));
  await mkdir(dir, { recursive: true });
  const ordersFile = join(dir, 'orders.ndjson');
  await writeOrdersFile(ordersFile, result.orders);
  const files = planSepaFiles({ runId: options.runId, createdAt: options.at, executionDate: options.executionDate, initiatingParty: options.initiatingParty, orders: result.orders, debtorOf: options.debtorOf });
  const sepaFiles: string[] = [];
  for (const f of files) {
    const path = join(dir, f.fileName);
    await writePain001File(path, f);
    sepaFiles.push(path);
  }
  return { result, ordersFile, sepaFiles };
}
