import { Decimal } from 'decimal.js';
import { SettlementSums, type SettlementSum } from '../model/settlement-sums.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The pipeline's Prometheus metrics (GET /metrics, src/http/metrics-plugin.ts): ONE registry, named
 * metrics, and small `record…` functions the stages call (one call per drop, per liquidation batch,
 * per payment run), so no stage imports prom-client's types nor knows a metric's labels.
 *
 * Money: amounts travel as decimal strings everywhere; they become a JS number only HERE, at the
 * metric's edge (Prometheus samples are float64). A sum of euros in a counter is therefore a
 * monitoring figure (exact to the cent well beyond 10^12 €), never a figure any payment or
 * statement is computed from.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'noemie_' });

const registers = [metricsRegistry];

export const ingestRecords = new Counter({
  name: 'noemie_ingest_records_total',
  help: 'records read from the inbox drops, per drop (file name) and format (one count per record, accepted or rejected)',
  labelNames: ['drop', 'format'] as const,
  registers,
});

export const ingestRejected = new Counter({
  name: 'noemie_ingest_records_rejected_total',
  help: 'records rejected (with their issues in the drop report), per drop and format',
  labelNames: ['drop', 'format'] as const,
  registers,
});

export const liquidatedLines = new Counter({
  name: 'noemie_liquidation_settlements_total',
  help: 'settlements published by the liquidation (each new version of a line counts once), per status',
  labelNames: ['status'] as const,
  registers,
});

/**
 * A sum of euros per label set, kept as a Decimal and given to prom-client as a number only when
 * scraped (the float sum of 0.1 + 0.2 is not 0.3; the exposition shows what the decimals add to).
 */
class EuroSums<L extends string> {
  private readonly sums = new Map<string, { labels: Record<L, string>; total: Decimal }>();
  add(labels: Record<L, string>, amount: string): void {
    const key = JSON.stringify(labels);
    const entry = this.sums.get(key);
    if (entry) entry.total = entry.total.plus(amount);
    else this.sums.set(key, { labels, total: new Decimal(amount) });
  }
  /** into the counter, at scrape time */
  collectInto(counter: Counter<L>): void {
    counter.reset();
    for (const { labels, total } of this.sums.values()) counter.inc(labels, euros(total.toFixed(2)));
  }
}

const settledSums = new EuroSums<'status' | 'operation'>();
export const settledEuros = new Counter({
  name: 'noemie_liquidation_amc_euros_total',
  help: 'AMC amount of the settlements published, in euros, per status and operation (I: a line, A: an annulation, its amount counted positive; a new version of a line adds its whole amount again)',
  labelNames: ['status', 'operation'] as const,
  registers,
  collect() {
    settledSums.collectInto(this);
  },
});

export const batchDuration = new Histogram({
  name: 'noemie_liquidation_batch_duration_seconds',
  help: 'wall time of one liquidation batch (liquidate, publish settlements, write ledgers), per kind (lines / reliquidations)',
  labelNames: ['kind'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers,
});

export const consumerLag = new Gauge({
  name: 'noemie_consumer_lag_messages',
  help: 'messages not yet committed by a consumer group, per group, topic and partition (read from the bus at scrape time)',
  labelNames: ['group', 'topic', 'partition'] as const,
  registers,
});

export const paymentRuns = new Counter({
  name: 'noemie_payment_runs_total',
  help: 'payment runs made (dry runs not counted)',
  registers,
});

const paymentSums = new EuroSums<'kind'>();
export const paymentEuros = new Counter({
  name: 'noemie_payment_euros_total',
  help: 'euros of the payment runs made, per kind: transfer (in a pain.001), recovery (debt carried), blocked (left due: no usable account)',
  labelNames: ['kind'] as const,
  registers,
  collect() {
    paymentSums.collectInto(this);
  },
});

export const paymentOrders = new Counter({
  name: 'noemie_payment_orders_total',
  help: 'payment orders of the runs made, per kind (transfer / recovery)',
  labelNames: ['kind'] as const,
  registers,
});

export const blockedPayees = new Gauge({
  name: 'noemie_payment_blocked_payees',
  help: 'payees blocked by the last payment run made (no account in force, account returned by the bank)',
  registers,
});

export const blockedEuros = new Gauge({
  name: 'noemie_payment_blocked_euros',
  help: 'euros left due to blocked payees by the last payment run made',
  registers,
});

export const httpInvoices = new Counter({
  name: 'noemie_http_invoices_total',
  help: 'invoice uploads answered by POST /v1/invoices, per outcome: accepted (202, a new receipt), replayed (202, the same Idempotency-Key again: the first receipt, nothing published), refused (4xx: unauthenticated, forbidden, a bad request or a refused invoice)',
  labelNames: ['outcome'] as const,
  registers,
});

/** A decimal amount as a sample value: the one place money becomes a float (see the header). */
export function euros(amount: string): number {
  return Number(amount);
}

/**
 * Metrics must never stop a stage: a recording that throws (a label or a value prom-client refuses)
 * becomes a process warning, and the stage goes on.
 */
function safely(what: string, record: () => void): void {
  try {
    record();
  } catch (e) {
    process.emitWarning(`metrics: ${what} not recorded: ${(e as Error).message}`, 'NoemieMetricsWarning');
  }
}

/** One part (file or ZIP entry) of a drop read from the inbox. */
export function recordDropPart(drop: string, part: { format: string; records: number; rejected: number }): void {
  safely('drop part', () => {
    ingestRecords.inc({ drop, format: part.format }, part.records);
    ingestRejected.inc({ drop, format: part.format }, part.rejected);
  });
}

/**
 * One liquidation batch, called once at its end: its wall time since `startedMs` (performance.now()
 * at its start) and the settlements it published (status, operation and AMC amount of each).
 */
export function recordLiquidationBatch(kind: 'lines' | 'reliquidations', startedMs: number, settlements: readonly { value: { status: string; amcAmount: string; operation?: 'I' | 'A' } }[]): void {
  // Counted and summed per (status, operation) for the batch first, then given to prom-client and
  // to the decimal sums once per label set: per settlement that was a label lookup, a
  // JSON.stringify and two Decimals on the service's thread (0.5 s of its CPU per 100 k lines,
  // bench/README.md "Session 9 — service").
  let sums: SettlementSum[] = [];
  safely('liquidation batch', () => {
    sums = new SettlementSums().addSettlements(settlements.map((s) => s.value)).sums();
  });
  recordLiquidationSums(kind, startedMs, sums);
}

/**
 * One liquidation batch whose settlements were counted and summed per (status, operation) already
 * (model/settlement-sums.ts: a batch of lines' workers sum their tasks').
 */
export function recordLiquidationSums(kind: 'lines' | 'reliquidations', startedMs: number, sums: readonly SettlementSum[]): void {
  safely('liquidation batch', () => {
    batchDuration.observe({ kind }, (performance.now() - startedMs) / 1000);
    for (const g of sums) {
      liquidatedLines.inc({ status: g.status }, g.count);
      settledSums.add({ status: g.status, operation: g.operation }, g.amount);
    }
  });
}

/** A payment run made (not a dry run): its orders and the payees it blocked. */
export function recordPaymentRun(run: { orders: readonly { kind: string; amount: string; transfer: boolean }[]; blocked: readonly { amount: string }[]; carried?: readonly { amount: string }[] }): void {
  safely('payment run', () => {
    paymentRuns.inc();
    for (const o of run.orders) {
      const kind = o.transfer ? 'transfer' : o.kind;
      paymentOrders.inc({ kind });
      paymentSums.add({ kind }, o.amount);
    }
    for (const b of run.blocked) paymentSums.add({ kind: 'blocked' }, b.amount);
    // the payees blocked now: this run's, and the ones it carried without deciding them again (parked.ts)
    const all = [...run.blocked, ...(run.carried ?? [])];
    blockedPayees.set(all.length);
    blockedEuros.set(euros(all.reduce((sum, b) => sum.plus(b.amount), new Decimal(0)).toFixed(2)));
  });
}

export type InvoiceUploadOutcome = 'accepted' | 'replayed' | 'refused';

/** One answer of POST /v1/invoices (a server error, 5xx, is none of these outcomes: not counted). */
export function recordInvoiceUpload(outcome: InvoiceUploadOutcome): void {
  safely('invoice upload', () => httpInvoices.inc({ outcome }));
}

/** The lag gauges, replaced by what the bus says now (partitions of a group no longer there disappear). */
export function setConsumerLag(groups: readonly { group: string; lag: readonly { topic: string; partition: number; lag: number }[] }[]): void {
  consumerLag.reset();
  for (const { group, lag } of groups) for (const l of lag) consumerLag.set({ group, topic: l.topic, partition: String(l.partition) }, l.lag);
}
