/**
 * The steps of a payment run, in order, as `noemie payments run` goes through them (the crash
 * argument in src/pipeline/payments-service.ts and src/payments/README.md walks them one by one).
 * NOEMIE_CRASH_AT=<step> kills the process with SIGKILL right after that step: a test-only hook
 * the crash tests use to stop a real run at each of them.
 */
export const PAYMENT_RUN_STEPS = [
  /** new settlements / outcomes applied to the ledger and saved, offsets committed */
  'consumed',
  /** one slice of the run's scan written (its movements to the run's scratch, its report rows under its run id): nothing of the ledger */
  'scan-slice',
  /** the run's orders decided in memory: nothing of the run recorded yet */
  'decided',
  /** the run's decision recorded in one write: intent (orders, file names, MsgIds, EndToEndIds), per-payee outcomes, debts, holds, the apply cursor */
  'intent-saved',
  /** one slice of the run's line updates (paid, line-run records, due marks) committed with the cursor's advance */
  'slice-applied',
  /** every line update applied, the transfer records written, the cursor removed */
  'applied',
  /** a pain.001 written and fsynced under its temporary name */
  'pain-temp-written',
  /** that pain.001 renamed into place (directory fsynced): handed over */
  'pain-renamed',
  /** orders.ndjson renamed into place */
  'orders-written',
  /** the orders produced to payment-orders */
  'published',
  /** the intent marked complete */
  'completed',
] as const;

export type PaymentRunStep = (typeof PAYMENT_RUN_STEPS)[number];
