import { LiquidationKernel, stateKeyOf, type EngineState } from '../engine/index.js';
import { decodeCsvRow } from '../ingest/csv/codec.js';
import type { CsvRowLayout } from '../ingest/types.js';
import { lineKeyOf, type ActLine } from '../model/act-line.js';
import { firstIssueText } from '../model/issues.js';
import { sumMoneyText } from '../model/cents.js';
import type { Beneficiary } from '../model/reference.js';
import type { LedgerPiece } from './drop-ledger-pieces.js';
import { DropLedgers } from './ledger-spill.js';
import type { Reference } from './liquidate-lines.js';

/**
 * One shard of `noemie liquidate` (no bus): the families routed to one worker thread, whose ledgers
 * live in that thread for the whole run (src/pipeline/drop-liquidator.ts routes a family always to
 * the same shard). So ledgers never cross the thread boundary per batch: a batch carries its lines
 * in and its settlements' JSON text out, and the ledgers cross twice per run — the `--state` file's
 * in at the start, all of them out at the end, a chunk of families per call.
 * The ledgers do not grow in memory with the drop's lines (src/pipeline/ledger-spill.ts: a
 * family's head stays, its line records beyond a budget go to an encrypted scratch store). The same class runs in a worker and
 * in-thread (`--workers 0`, tests).
 */
export interface ShardRequest {
  line: ActLine;
  beneficiary: Beneficiary | null;
}

export interface ShardBatch {
  requests: ShardRequest[];
  /** the liquidation date the 2-year prescription is judged against */
  asOf: string;
}

export interface ShardResult {
  /** the requests' settlements as NDJSON, UTF-8, in request order, each line ending with \n */
  bytes: Uint8Array;
  /** the byte offset where each request's line ends (its \n included) */
  ends: Uint32Array;
  statuses: Record<string, number>;
  /** the batch's AMC total, a Money string (exact: integer cents, decimal.js past the safe range) */
  amcTotal: string;
}

/**
 * Rows of a décompte CSV routed to this shard as read (framed, not validated): the shard validates
 * each (`decodeCsvRow`, the codec's own check) and liquidates those that hold an act line. The
 * rows cross as one string, not as act-line objects (a structured clone of one flat string is a
 * copy; of 30 fields per line, a walk of every one), and the beneficiaries by number: each
 * beneficiary once per call, however many of its lines the call holds.
 */
export interface ShardRowBatch {
  /** the file (and ZIP entry) the rows come from, for the rejects' origin */
  where: { file: string; entry?: string };
  layout: CsvRowLayout;
  /** the rows' texts joined by \n (a framed row holds no \n) */
  text: string;
  /** each row's line number in its file */
  records: Int32Array;
  /** each row's beneficiary: an index in `people`, -1 for none */
  beneficiaries: Int32Array;
  /** the call's distinct beneficiaries */
  people: Beneficiary[];
  asOf: string;
}

/** Act lines validated by the reader (the formats other than CSV), with their beneficiaries numbered as in `ShardRowBatch`. */
export interface ShardLineBatch {
  lines: ActLine[];
  beneficiaries: Int32Array;
  people: Beneficiary[];
  asOf: string;
}

export interface ShardRowResult extends ShardResult {
  /** `ends` has an entry per row: a rejected row ends where the row before it ended (no bytes) */
  lines: number;
  /** the rows refused by validation, in row order: the row's index and `<path> <message>` of its first issue */
  rejects: { row: number; detail: string }[];
}

export type ShardCall =
  | { kind: 'load'; pieces: LedgerPiece[] }
  | { kind: 'liquidate-lines'; batch: ShardLineBatch }
  | { kind: 'liquidate-rows'; batch: ShardRowBatch }
  /** the next pieces of every family's ledger, at most `pieces` (the first call starts over), null after the last */
  | { kind: 'dump'; pieces: number }
  | { kind: 'close' };

export interface DropShardOptions {
  /** line records kept in memory before the oldest are spilled (ledger-spill.ts RESIDENT_LINES) */
  residentLines?: number;
}

export class DropShard {
  readonly ledgers: DropLedgers;
  private readonly liquidateLine: ReturnType<LiquidationKernel['exclusive']>;
  /** reused across batches: each batch's text is encoded here, then copied out at its size */
  private scratch = new Uint8Array(1 << 20);
  /** the dump in progress; 'done' once its last pieces were given (the next call says so) */
  private dumping: Generator<LedgerPiece> | 'done' | null = null;

  constructor(reference: Reference, options: DropShardOptions = {}) {
    // The shard is its ledgers' only holder: the kernel may write a family's state in place.
    this.liquidateLine = new LiquidationKernel(reference).exclusive();
    this.ledgers = new DropLedgers(options.residentLines);
  }

  load(pieces: readonly LedgerPiece[]): void {
    for (const piece of pieces) this.ledgers.keepPiece(piece);
    this.ledgers.trim();
  }

  liquidate(batch: ShardBatch): ShardResult {
    const texts: string[] = new Array(batch.requests.length);
    const statuses: Record<string, number> = {};
    const amounts: string[] = new Array(batch.requests.length);
    let bound = 0;
    // Each family's state for the batch: its head and the records of the batch's own lines (all the engine reads).
    const requests = batch.requests.map((r) => ({ line: r.line, beneficiary: r.beneficiary ?? undefined }));
    const families = new Map<string, string[]>();
    const keys = requests.map((request) => {
      const key = stateKeyOf(request);
      let lineKeys = families.get(key);
      if (lineKeys === undefined) families.set(key, (lineKeys = []));
      lineKeys.push(lineKeyOf(request.line));
      return key;
    });
    const states = new Map<string, EngineState>();
    for (const [key, lineKeys] of families) states.set(key, this.ledgers.batchState(key, lineKeys));
    requests.forEach((request, i) => {
      const key = keys[i]!;
      const { settlement, state } = this.liquidateLine(request, batch.asOf, states.get(key)!);
      states.set(key, state);
      texts[i] = JSON.stringify(settlement);
      bound += 3 * texts[i]!.length + 1;
      statuses[settlement.status] = (statuses[settlement.status] ?? 0) + 1;
      amounts[i] = settlement.amcAmount;
    });
    for (const [key, state] of states) {
      this.ledgers.keep(key, state);
      // the next batch's state is a new object: what the kernel holds of this one can go
      this.liquidateLine.forget(key);
    }
    this.ledgers.trim();
    return { ...this.encode(texts, bound), statuses, amcTotal: sumMoneyText(amounts) };
  }

  /** Act lines with numbered beneficiaries (`ShardLineBatch`). */
  liquidateLines(batch: ShardLineBatch): ShardResult {
    const requests = batch.lines.map((line, k): ShardRequest => {
      const id = batch.beneficiaries[k]!;
      return { line, beneficiary: id < 0 ? null : batch.people[id]! };
    });
    return this.liquidate({ requests, asOf: batch.asOf });
  }

  /** Raw CSV rows: each validated as the codec does, the act lines liquidated, the rejects said by row. */
  liquidateRows(batch: ShardRowBatch): ShardRowResult {
    const count = batch.records.length;
    const texts = count === 0 ? [] : batch.text.split('\n');
    const requests: ShardRequest[] = [];
    const rejects: ShardRowResult['rejects'] = [];
    for (let k = 0; k < count; k++) {
      const ev = decodeCsvRow(texts[k]!, { ...batch.where, record: batch.records[k]! }, batch.layout);
      if (ev.kind === 'line') {
        const id = batch.beneficiaries[k]!;
        requests.push({ line: ev.line, beneficiary: id < 0 ? null : batch.people[id]! });
      } else {
        rejects.push({ row: k, detail: firstIssueText(ev.rejected) });
      }
    }
    const result = this.liquidate({ requests, asOf: batch.asOf });
    // One end per row, a rejected row's at the previous one: the reader merges the shards by row.
    const ends = new Uint32Array(count);
    let r = 0;
    let j = 0;
    let end = 0;
    for (let k = 0; k < count; k++) {
      if (r < rejects.length && rejects[r]!.row === k) r++;
      else end = result.ends[j++]!;
      ends[k] = end;
    }
    return { ...result, ends, lines: requests.length, rejects };
  }

  /** The lines as UTF-8 in one buffer (moved, not copied, to the reader's thread) and where each ends. */
  private encode(texts: readonly string[], bound: number): Pick<ShardResult, 'bytes' | 'ends'> {
    if (this.scratch.length < bound) this.scratch = new Uint8Array(Math.max(bound, 2 * this.scratch.length));
    const encoder = new TextEncoder();
    const ends = new Uint32Array(texts.length);
    let n = 0;
    texts.forEach((text, i) => {
      n += encoder.encodeInto(text, this.scratch.subarray(n)).written;
      this.scratch[n++] = 0x0a;
      ends[i] = n;
    });
    return { bytes: this.scratch.slice(0, n), ends };
  }

  /** The shard's next `size` ledger pieces (a new pass when the previous one ended), null once all were given. */
  dump(size: number): LedgerPiece[] | null {
    if (this.dumping === 'done') {
      this.dumping = null;
      return null;
    }
    this.dumping ??= this.ledgers.pieces();
    const out: LedgerPiece[] = [];
    for (let next = this.dumping.next(); !next.done; next = this.dumping.next()) {
      out.push(next.value);
      if (out.length >= size) return out;
    }
    this.dumping = out.length > 0 ? 'done' : null;
    return out.length > 0 ? out : null;
  }

  /** Removes the shard's spill store. */
  close(): void {
    this.ledgers.close();
  }

  call(call: ShardCall): ShardResult | ShardRowResult | LedgerPiece[] | null {
    if (call.kind === 'load') return this.load(call.pieces), null;
    if (call.kind === 'liquidate-lines') return this.liquidateLines(call.batch);
    if (call.kind === 'liquidate-rows') return this.liquidateRows(call.batch);
    if (call.kind === 'dump') return this.dump(call.pieces);
    return this.close(), null;
  }
}
