import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Batch, Bus, BusRecord, OutgoingMessage } from '../bus/index.js';
import type { Logger } from '../log.js';
import { PaymentOrderSchema, type PaymentOrder } from '../model/payment.js';
import { applyPaymentEvents, executePaymentRun, type AccountBook, type Blocked, type DebtorAccount, type PaymentEvent, type Pending } from '../payments/index.js';
import { caughtUp, endOffsetsOf } from './catch-up.js';
import { ledgerFileOf, loadPaymentsState, savePaymentsState, type PaymentsState } from './payments-store.js';

/**
 * `noemie payments run` on the bus. Consumes what is new on `settlements` and `reconciliation`
 * (group `payments`), folds it into the ledger (`<home>/payments/ledger.json`, saved before each
 * batch is committed: a redelivered batch is a replay the ledger ignores), runs `executePaymentRun`
 * and publishes the orders to `payment-orders`.
 *
 * Crash safety, in order: (1) orders.ndjson and the pain.001 files are written; (2) the ledger with
 * the run recorded AND an outbox entry for the run are saved in one atomic write; (3) the orders
 * are produced; (4) the outbox entry is dropped. A crash before (2) leaves the ledger as it was: the
 * next run decides the same orders again. A crash between (2) and (4) is finished by the next start,
 * which produces the outbox's orders from orders.ndjson — at-least-once on the topic, so finance
 * dedupes on `paymentId` / `endToEndId` (both derive from what is paid). Nothing is ever paid twice
 * in the ledger: a second run over the same facts finds nothing due and emits nothing.
 */
export const PAYMENTS_GROUP = 'payments';
export const PAYMENTS_TOPICS = ['settlements', 'reconciliation'] as const;

/** The insurer's paying account (fictitious, valid IBAN): `--debtor-iban/--debtor-bic/--debtor-name` override it. */
export const DEFAULT_DEBTOR: DebtorAccount = { name: 'MUTUELLE NOEMIE', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX' };

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
  initiatingParty?: string;
  groupId?: string;
  logger?: Logger;
}

export interface PaymentStageReport {
  runId: string;
  dryRun: boolean;
  alreadyRun: boolean;
  consumed: { settlements: number; reconciliation: number };
  /** orders of earlier runs published now (a crash had interrupted them) */
  republished: number;
  orders: PaymentOrder[];
  blocked: Blocked[];
  pending: Pending[];
  runDir: string;
  ordersFile: string | null;
  sepaFiles: string[];
  ledgerFile: string;
}

/** run-20250310T090000Z: sortable, one per second. */
export function defaultRunId(at: string): string {
  return `run-${at.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

export const runDirOf = (outDir: string, runId: string) => join(outDir, runId.replace(/[^A-Za-z0-9._-]/g, '_'));

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
      await bus.produce('payment-orders', batch);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await bus.produce('payment-orders', batch);
  return n + batch.length;
}

async function* readOrdersFile(file: string): AsyncGenerator<PaymentOrder> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== '') yield PaymentOrderSchema.parse(JSON.parse(line));
}

/** Finishes the runs a crash left between "ledger saved" and "orders on the topic". */
async function drainOutbox(bus: Bus, file: string, state: PaymentsState): Promise<{ state: PaymentsState; republished: number }> {
  let republished = 0;
  let current = state;
  for (const entry of state.outbox) {
    republished += await publishOrders(bus, readOrdersFile(entry.ordersFile));
    current = { ...current, outbox: current.outbox.filter((e) => e.runId !== entry.runId) };
    await savePaymentsState(file, current);
  }
  return { state: current, republished };
}

/**
 * Consumes everything published up to now (end offsets taken at start) with the group, saving
 * the ledger before each commit. Returns the state with every new message applied.
 */
async function consumeNew(bus: Bus, groupId: string, file: string, start: PaymentsState, counts: PaymentStageReport['consumed']): Promise<PaymentsState> {
  if (await caughtUp(bus, groupId, PAYMENTS_TOPICS)) return start;
  const ends = await endOffsetsOf(bus, PAYMENTS_TOPICS);
  const reached = new Map<string, number>();
  for (const t of PAYMENTS_TOPICS) {
    const lows = new Map((await bus.endOffsets(t)).map((p) => [p.partition, p.low]));
    for (const c of await bus.committedOffsets(groupId, t)) reached.set(`${t}/${c.partition}`, c.offset ?? lows.get(c.partition) ?? 0);
  }
  const done = () => [...ends].every(([k, end]) => (reached.get(k) ?? 0) >= end);
  let state = start;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sub = await bus.consume({
    groupId,
    topics: PAYMENTS_TOPICS,
    handler: async (batch) => {
      const events = eventsOf(batch);
      state = { ...state, ledger: applyPaymentEvents(state.ledger, events) };
      await savePaymentsState(file, state);
      counts[batch.topic] += events.length;
      const last = batch.records.at(-1);
      if (last) reached.set(`${batch.topic}/${batch.partition}`, last.offset + 1);
      if (done()) finish();
    },
  });
  if (!done()) await Promise.race([finished, sub.done]);
  await sub.stop();
  await sub.done;
  return state;
}

/** The dry run reads the same range without the group: nothing is committed or saved. */
async function readNew(bus: Bus, groupId: string, start: PaymentsState, counts: PaymentStageReport['consumed']): Promise<PaymentsState> {
  let ledger = start.ledger;
  for (const topic of PAYMENTS_TOPICS) {
    const committed = new Map((await bus.committedOffsets(groupId, topic)).map((c) => [c.partition, c.offset]));
    for (const { partition, low, high } of await bus.endOffsets(topic)) {
      const from = committed.get(partition) ?? low;
      if (from >= high) continue;
      for await (const records of bus.readRange(topic, partition, { from, to: high })) {
        const events = eventsOf({ topic, partition, records } as Batch<'settlements' | 'reconciliation'>);
        ledger = applyPaymentEvents(ledger, events);
        counts[topic] += events.length;
      }
    }
  }
  return { ...start, ledger };
}

export async function runPaymentStage(options: PaymentStageOptions): Promise<PaymentStageReport> {
  const { bus, home, logger } = options;
  const at = new Date(options.at ?? new Date().toISOString()).toISOString();
  const runId = options.runId ?? defaultRunId(at);
  const dryRun = options.dryRun ?? false;
  const groupId = options.groupId ?? PAYMENTS_GROUP;
  const outDir = options.outDir ?? join(home, 'payments');
  const file = ledgerFileOf(home);
  const consumed = { settlements: 0, reconciliation: 0 };

  let state = await loadPaymentsState(file);
  let republished = 0;
  if (!dryRun && state.outbox.length > 0) ({ state, republished } = await drainOutbox(bus, file, state));
  state = dryRun ? await readNew(bus, groupId, state, consumed) : await consumeNew(bus, groupId, file, state, consumed);
  logger?.info({ runId, ...consumed }, 'payments: inputs applied to the ledger');

  const debtor = options.debtor ?? DEFAULT_DEBTOR;
  const executed = await executePaymentRun(state.ledger, {
    runId,
    at,
    accounts: options.accounts,
    outDir,
    dryRun,
    executionDate: at.slice(0, 10),
    initiatingParty: options.initiatingParty ?? debtor.name,
    debtorOf: () => debtor,
  });
  const { result } = executed;
  if (!dryRun && !result.alreadyRun) {
    const ordersFile = executed.ordersFile;
    if (ordersFile === null) {
      await savePaymentsState(file, { ...state, ledger: result.ledger });
    } else {
      const withRun: PaymentsState = { ledger: result.ledger, outbox: [...state.outbox, { runId, ordersFile }] };
      await savePaymentsState(file, withRun);
      await publishOrders(bus, result.orders);
      await savePaymentsState(file, { ...withRun, outbox: state.outbox });
    }
  }
  return {
    runId,
    dryRun,
    alreadyRun: result.alreadyRun,
    consumed,
    republished,
    orders: result.orders,
    blocked: result.blocked,
    pending: result.pending,
    runDir: runDirOf(outDir, runId),
    ordersFile: executed.ordersFile,
    sepaFiles: executed.sepaFiles,
    ledgerFile: file,
  };
}
