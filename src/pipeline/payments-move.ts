import { splitCompositeKey, type StateStore } from '../state/kv-store.js';
import type { LevelStore } from '../state/level-store.js';
import { moveLmdbToLevel, type MovedSubStore, type MoveReport } from '../state/lmdb-to-level.js';

/**
 * The payment state's move from the home's LMDB store to its LevelDB store (issue 12: its commits
 * were ≈ 1.7 GB of the 300 k-line run's writes, 5.8 KB per line, and its mapped pages most of the
 * peak RSS at 1 M lines; bench/README.md "Session 10 — payments"). The steps and their crash
 * argument are `moveLmdbToLevel`'s (src/state/lmdb-to-level.ts); what is payment-specific is here:
 *
 * - the marker, `payments.layout/layout` = { layout: 1 }, of the payment state alone (the
 *   statement index moves on its own, with its own marker);
 * - the sub-stores, all of `payments.*` but none of `statements.*`: the payment state's commits
 *   are atomic only if every payment sub-store is in one engine (a run's record, its cursor and
 *   the lines it changes are one batch), so the state moves whole;
 * - two LMDB indexes scanned per line become one value per line, read with a point read
 *   (LevelDB's range reads are async, a commit's decision is synchronous):
 *     payments.operator-by-line/<lineKey>␟<claimId> → payments.line-operators/<lineKey> = [claimId, …]
 *     payments.line-run/<lineKey>␟<runId>           → payments.line-runs/<lineKey> = [LineRun, …] in runId order
 *
 * Wired since session 11: `PaymentsStore.open`, `openForReading` and `over` run it first (once
 * per home at a time in a process). The payment state's statement marks an earlier version left in
 * LMDB (`statements.dirty`, `statements.dirty-line`) are not in this list: since the move the marks
 * are in the payment batches themselves, and the LMDB marks are only read until empty by the
 * statement stage (statement-dirty.ts `LmdbStatementMarks`).
 */
export const PAYMENTS_LAYOUT = { sub: 'payments.layout', key: 'layout', layout: 1 } as const;

/** Every LMDB sub-store of the payment state (payments-store.ts's module comment lists what each holds). */
export const PAYMENTS_SUB_STORES: readonly MovedSubStore[] = [
  ...['line', 'due', 'operator', 'debt', 'run', 'held', 'approval', 'handed-over', 'pending', 'pending-orders', 'outbox', 'transfer', 'return-block', 'returned', 'return-file', 'return-exception', 'return-to-report', 'line-blocked', 'report', 'report-lines', 'run-move', 'run-payee'].map(
    (name) => ({ from: `payments.${name}` }),
  ),
  { from: 'payments.operator-by-line', to: 'payments.line-operators', into: { key: (k) => splitCompositeKey(k)[0]!, item: (k) => splitCompositeKey(k)[1]! } },
  { from: 'payments.line-run', to: 'payments.line-runs', into: { key: (k) => splitCompositeKey(k)[0]!, item: (_k, v) => v } },
];

/** Moves the home's payment state to LevelDB if not done yet (idempotent; resumes after a crash). */
export function movePaymentsToLevel(kv: StateStore, level: LevelStore, o: { onStep?: (step: 'copied' | 'marked' | 'removed') => void; copyPerBatch?: number; removePerCommit?: number } = {}): Promise<MoveReport> {
  return moveLmdbToLevel({ kv, level, subs: PAYMENTS_SUB_STORES, marker: PAYMENTS_LAYOUT, ...o });
}
