import { open, readFile, rename, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { initialLedger, parsePaymentsLedger, RunIntentSchema, type PaymentsLedger, type RunIntent } from '../payments/index.js';

/**
 * The payment stage's durable state, `<home>/payments/ledger.json`: the ledger (src/payments), the
 * run in progress (`pending`: a run's intent, recorded before its files exist, cleared once its
 * files are in place and its orders on the topic) and the index of EndToEndIds handed over to the
 * bank (EndToEndId → MsgId of the only file that may carry it). Written atomically (temp file,
 * fsync, rename, fsync of the directory): after a crash the file is either the old state or the
 * new one, never half of each.
 *
 * `outbox` is the format-1 way of finishing a run (orders written, not yet on the topic): still
 * read and drained so a state left by the previous version is finished, never written anew.
 */
const OutboxEntrySchema = z.object({ runId: z.string().min(1), ordersFile: z.string().min(1) });
const StoreFileSchema = z.object({
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

export const ledgerFileOf = (home: string) => join(home, 'payments', 'ledger.json');

export const emptyPaymentsState = (): PaymentsState => ({ ledger: initialLedger(), outbox: [], pending: null, handedOver: {} });

export async function loadPaymentsState(file: string): Promise<PaymentsState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyPaymentsState();
    throw e;
  }
  const parsed = StoreFileSchema.parse(JSON.parse(text));
  return { ledger: parsePaymentsLedger(parsed.ledger), outbox: parsed.outbox, pending: parsed.pending, handedOver: parsed.handedOver };
}

/** A save interrupted by a crash leaves `<file>.tmp`: never the state, removed on start. */
export async function removeStateTemp(file: string): Promise<void> {
  await rm(`${file}.tmp`, { force: true });
}

export async function savePaymentsState(file: string, state: PaymentsState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify({ format: 2, ledger: state.ledger, outbox: state.outbox, pending: state.pending, handedOver: state.handedOver }));
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
