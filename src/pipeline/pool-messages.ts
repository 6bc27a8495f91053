import type { EngineState, LineRecord } from '../engine/index.js';
import type { LineOutcome, LineRequest, Reference } from './liquidate-lines.js';
import type { PackedLines, RawLines } from './task-lines.js';
import type { SettlementSum } from '../model/settlement-sums.js';

/**
 * What crosses the thread boundary between the service (src/pipeline/pool.ts) and a worker
 * (workers/liquidate.worker.ts), by structured clone. Plain data only.
 */

/** Reference files named explicitly (`--reference <dir>`, tests): read once, never change. */
export interface ReferenceFiles {
  gridsDir: string;
  nomenclatureFile: string;
  pmssFile: string;
}

/**
 * Given once per worker (piscina workerData): its reference data. Either fixed files it reads at
 * start, or one version of a home's reference data (src/pipeline/reference-store.ts), the data
 * itself, read once by the service: a pool holds one version, and the service replaces the pool
 * between two batches when a new version is in force (liquidator.ts says why that is safe).
 */
export type WorkerSetup = ReferenceFiles | { version: string; reference: Reference };

/**
 * One task: the lines of a set of whole families, in input order, and those families' ledgers,
 * each with its counters and renewals and only the records of the task's own lines (the engine
 * reads no other line: a line's record is looked up by its lineKey; ledgers.ts `slimState`), so a
 * task's size follows its lines, not the families' history. A family is in at most one task in
 * flight, so no two tasks ever change the same ledger.
 */
export interface LiquidateTask {
  /** the reference version of the task's batch (reference.ts referenceVersionKey): a worker holding another refuses the task */
  reference: string;
  requests: LineRequest[];
  /** a batch of lines (the service): its requests packed (task-lines.ts), unpacked into `requests` by the worker */
  packed?: PackedLines;
  /** …or, consumed raw from the embedded bus, its lines as their messages' JSON (task-lines.ts `RawLines`), parsed by the worker */
  raw?: RawLines;
  ledgers: Record<string, EngineState>;
  /**
   * A batch of lines (the service): per family, its head as the store holds it — the changelog
   * text, parsed by the worker into the family's counters and renewals — and the records of the
   * task's lines it holds. The service's thread neither parses nor clones a family's counters;
   * the worker puts these into `ledgers` before liquidating (liquidate-lines.ts `openLedgers`).
   */
  heads?: Record<string, TaskLedger>;
  /** given: the worker also writes the changed ledgers' changelog pieces (a batch of lines; requests and replay write theirs themselves) */
  write?: LedgerWrite;
}

export interface TaskLedger {
  head: string;
  lines: Record<string, LineRecord>;
}

/**
 * What a worker needs to write a batch's ledger pieces itself (liquidate-lines.ts `encodeTaskLedgers`):
 * the pipeline's fields of each line record (ledgers.ts `StoredLineRecord`) and each family's head.
 */
export interface LedgerWrite {
  /**
   * per request, in task order: the input record's id (null: none). Absent when the task's lines
   * came raw (`LiquidateTask.raw`): the worker takes each from the line's message it parses
   * (task-lines.ts `unpackRaw`), where the service read it from the same bytes (line-routing.ts).
   */
  recordIds?: (string | null)[];
  /** per request, in task order: its place in the batch (order of arrival, line-input.ts `n`) */
  positions: number[];
  /** per family of the task: its head's write number now (0: no ledger yet), and the watermarks its next head records */
  seqs: Record<string, number>;
  applied: Record<string, Record<string, number>>;
}

/**
 * What a task changed in one family's ledger: its counters and renewals, and the new records of the
 * lines it wrote — not their buckets (used by requests; a batch of lines gets `pieces` instead: ledgers.ts
 * `applyDelta`).
 */
export interface LedgerDelta {
  counters: EngineState['counters'];
  renewals: EngineState['renewals'];
  lines: Record<string, LineRecord>;
}

/**
 * The lines' outcomes as they cross back from a task with `write` (the service's batches of lines),
 * by column: a new settlement comes as its JSON, made in the worker, back to back in the result's
 * first buffer (`bytes[0]`, before the changelog records); the settlement object does not cross
 * (cloning it back cost the service's thread 2–3× the text's clone: bench/README.md "Session 12 —
 * mainthread"), nor, since session 19, a summary object per line: the service already has what it
 * keys and heads a settlement by — the line's family (`stateKeyOf`: the settlement's `adherentId`,
 * else the line's member number) and lineKey (its record's `line-key` header) — and the metrics'
 * counts and sums are made in the worker (`sums`). A per-line object with four strings and a view
 * lived on the service's heap through the batch's writes (bench/README.md "Session 19 — liquidation").
 */
export interface WrittenLines {
  /** per request, in task order: 1 a new settlement, 0 the same decision as recorded (nothing published) */
  changed: Uint8Array;
  /** per new settlement, in task order: where its JSON ends in `bytes[0]` (it starts where the one before ends, the first at 0) */
  ends: Uint32Array;
  /** the new settlements counted and summed per (status, operation), for the service's metrics (http/metrics.ts) */
  sums: SettlementSum[];
}

/**
 * A ledger piece a worker wrote: its key, its value text (what the store keeps) and the JSON of its
 * counters-changelog record, `{"value":<text>}` (bus/messages.ts `changelogRecordJson`: the text put
 * in as it is; before session 16 `JSON.stringify({ key, value: text })`, escaped a second time),
 * which the service produces as it is (`OutgoingText.json`). As they cross back
 * (`LiquidateTaskResult.pieces`), the record and a line piece's text are UTF-8 views on the
 * result's `bytes`; a head's text stays a string (the store caches it and the family's next task
 * carries it: a view would take its whole buffer along).
 */
export type TaskPiece = [key: string, text: string | Uint8Array, json: string | Uint8Array];

/** Settlements in request order (without the previous record: the service has it); per changed ledger, its delta. */
export interface LiquidateTaskResult {
  /** without `write` (re-liquidation requests, replays): each line's settlement and whether it is new */
  outcomes: Pick<LineOutcome, 'settlement' | 'changed'>[];
  /** with `write`: the lines' outcomes by column, the new settlements' JSON in `bytes[0]` (`outcomes` is then empty) */
  written?: WrittenLines;
  /** per changed ledger, its delta (empty when the task had `write`: `pieces` instead) */
  ledgers: Record<string, LedgerDelta>;
  /** with `write`: per changed family, its changelog pieces, line records first and the head last */
  pieces?: Record<string, TaskPiece[]>;
  /**
   * with `write`: the buffers the settlements' JSON (`written.ends`) and every byte view of `pieces`
   * are on (what is produced; the line pieces' texts the store stages); the worker transfers them
   * (task-bytes.ts says why), so the texts cross without a copy
   */
  bytes?: ArrayBuffer[];
}
