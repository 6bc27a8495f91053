import type { Beneficiary } from '../model/reference.js';
import type { InsurerIdentity, LinePaymentFacts, StatementSettlement } from '../statement/index.js';
import type { EncodedLines } from './statement-line-codec.js';

/**
 * What crosses the thread boundary between the statement pass (src/pipeline/statement-render-pool.ts,
 * the pool side) and a statement worker (workers/statements.worker.ts), by structured clone. Plain
 * data only. The main thread reads (LevelDB opens in one thread only); a worker renders and writes.
 */

/** Given once per worker (piscina workerData): what every statement of the pass shares. */
export interface StatementRenderSetup {
  /** the statements folder (`<home>/statements`) */
  dir: string;
  labels: Record<string, string>;
  insurer: InsurerIdentity;
  issuedOn: string;
  professionalNames: Record<string, string>;
  /** a task resolves once its files (and the folder entries of new ones) are fsynced */
  durable: boolean;
}

/** One family's statement as the main thread read it: its lines, their payment facts, its people. */
export interface FamilyStatementInput {
  adherentId: string;
  /** the family's indexed lines (statement-index.ts `settlementsIn`), in key order */
  settlements: StatementSettlement[];
  /** PaymentsStore.paymentFactsOf of those lines */
  payments: Map<string, LinePaymentFacts>;
  members: Beneficiary[];
}

/**
 * A family as a task carries it: its lines as the index stores them (msgpack, decoded by the
 * worker: this thread neither decodes them nor clones their objects), their payment facts, its people.
 */
export interface FamilyTaskInput {
  adherentId: string;
  lines: EncodedLines;
  payments: Map<string, LinePaymentFacts>;
  members: Beneficiary[];
}

/**
 * A few whole families: each family's files are written by one task, so by one thread. Sent by
 * structured clone: the payment facts and members as objects (cheaper on the main thread than a
 * JSON text or a msgpack buffer of the same), the lines as bytes (bench/README.md "Session 12 —
 * statements").
 */
export interface StatementRenderTask {
  families: FamilyTaskInput[];
}

export interface StatementRenderResult {
  /** files written (new or changed), and files left as they were (the same bytes) */
  written: number;
  unchanged: number;
}
