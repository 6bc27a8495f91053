import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { initialLedger, parsePaymentsLedger, type PaymentsLedger } from '../payments/index.js';

/**
 * The payment stage's durable state, `<home>/payments/ledger.json`: the ledger (src/payments) and
 * an outbox of runs whose orders are decided and written to disk but not yet confirmed on the
 * `payment-orders` topic. Written atomically (temp file, fsync, rename, fsync of the directory):
 * after a crash the file is either the old state or the new one, never half of each.
 */
const OutboxEntrySchema = z.object({ runId: z.string().min(1), ordersFile: z.string().min(1) });
const StoreFileSchema = z.object({ format: z.literal(1), ledger: z.unknown(), outbox: z.array(OutboxEntrySchema) });

export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

export interface PaymentsState {
  ledger: PaymentsLedger;
  outbox: OutboxEntry[];
}

export const ledgerFileOf = (home: string) => join(home, 'payments', 'ledger.json');

export async function loadPaymentsState(file: string): Promise<PaymentsState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ledger: initialLedger(), outbox: [] };
    throw e;
  }
  const parsed = StoreFileSchema.parse(JSON.parse(text));
  return { ledger: parsePaymentsLedger(parsed.ledger), outbox: parsed.outbox };
}

export async function savePaymentsState(file: string, state: PaymentsState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify({ format: 1, ledger: state.ledger, outbox: state.outbox }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
