import { emptyState, LiquidationKernel, stateKeyOf, type EngineState } from '../engine/index.js';
import type { ActLine } from '../model/act-line.js';
import { sumMoneyText } from '../model/cents.js';
import type { Beneficiary } from '../model/reference.js';
import { SpillingLedgers } from './ledger-spill.js';
import type { Reference } from './liquidate-lines.js';

/**
 * One shard of `noemie liquidate` (no bus): the families routed to one worker thread, whose ledgers
 * live in that thread for the whole run (src/pipeline/drop-liquidator.ts routes a family always to
 * the same shard). So ledgers never cross the thread boundary per batch: a batch carries its lines
 * in and its settlements' JSON text out, and the ledgers cross twice per run — the `--state` file's
 * in at the start, all of them out at the end, a chunk of families per call.
 * The ledgers are bounded in memory (src/pipeline/ledger-spill.ts: the least recently used
 * families go to an encrypted scratch store between batches). The same class runs in a worker and
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

export type ShardCall =
  | { kind: 'load'; ledgers: Record<string, EngineState> }
  | { kind: 'liquidate'; batch: ShardBatch }
  /** the next chunk of every family's ledger (the first call starts over), null after the last */
  | { kind: 'dump'; families: number }
  | { kind: 'close' };

export interface DropShardOptions {
  /** line records kept in memory before families are spilled (ledger-spill.ts RESIDENT_LINES) */
  residentLines?: number;
}

export class DropShard {
  readonly ledgers: SpillingLedgers;
  private readonly liquidateLine: ReturnType<LiquidationKernel['exclusive']>;
  /** reused across batches: each batch's text is encoded here, then copied out at its size */
  private scratch = new Uint8Array(1 << 20);
  private dumping: Generator<Record<string, EngineState>> | null = null;

  constructor(reference: Reference, options: DropShardOptions = {}) {
    // The shard is its ledgers' only holder: the kernel may write a family's state in place.
    const liquidateLine = new LiquidationKernel(reference).exclusive();
    this.liquidateLine = liquidateLine;
    this.ledgers = new SpillingLedgers(options.residentLines, (family) => liquidateLine.forget(family));
  }

  load(ledgers: Readonly<Record<string, EngineState>>): void {
    for (const [key, state] of Object.entries(ledgers)) this.ledgers.load(key, state);
    this.ledgers.trim();
  }

  liquidate(batch: ShardBatch): ShardResult {
    const texts: string[] = new Array(batch.requests.length);
    const statuses: Record<string, number> = {};
    const amounts: string[] = new Array(batch.requests.length);
    let bound = 0;
    batch.requests.forEach((r, i) => {
      const request = { line: r.line, beneficiary: r.beneficiary ?? undefined };
      const key = stateKeyOf(request);
      const { settlement, state } = this.liquidateLine(request, batch.asOf, this.ledgers.get(key) ?? emptyState());
      this.ledgers.set(key, state);
      texts[i] = JSON.stringify(settlement);
      bound += 3 * texts[i]!.length + 1;
      statuses[settlement.status] = (statuses[settlement.status] ?? 0) + 1;
      amounts[i] = settlement.amcAmount;
    });
    this.ledgers.trim();
    return { ...this.encode(texts, bound), statuses, amcTotal: sumMoneyText(amounts) };
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

  /** The next `families` ledgers of the shard (a new pass when the previous one ended), null once all were given. */
  dump(families: number): Record<string, EngineState> | null {
    this.dumping ??= this.ledgers.chunks(families);
    const next = this.dumping.next();
    if (next.done) {
      this.dumping = null;
      return null;
    }
    return next.value;
  }

  /** Removes the shard's spill store. */
  close(): void {
    this.ledgers.close();
  }

  call(call: ShardCall): ShardResult | Record<string, EngineState> | null {
    if (call.kind === 'load') return this.load(call.ledgers), null;
    if (call.kind === 'liquidate') return this.liquidate(call.batch);
    if (call.kind === 'dump') return this.dump(call.families);
    return this.close(), null;
  }
}
