import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import { stateKeyOf } from '../engine/index.js';
import type { LedgerPiece } from './drop-ledger-pieces.js';
import { sumMoneyText } from '../model/cents.js';
import { DropShard, type DropShardOptions, type ShardCall, type ShardRequest, type ShardResult, type ShardRowResult } from './drop-shard.js';
import type { CsvRowLayout } from '../ingest/types.js';
import type { Beneficiary } from '../model/reference.js';
import type { ActLine } from '../model/act-line.js';
import { LEDGER_SPILL_PREFIX } from './ledger-spill.js';
import { sweepOrphans } from './scratch.js';
import { PipelineStageError } from './errors.js';
import type { Reference } from './liquidate-lines.js';
import { WORKER_FILE } from './pool.js';

/**
 * `noemie liquidate`'s thread side: the drop's families spread over `workers` shards by a hash of
 * the family key, each shard a piscina pool of ONE thread whose module keeps that shard's ledgers
 * for the run (workers/liquidate-drop.worker.ts, src/pipeline/drop-shard.ts). A shard's calls are
 * chained: each is handed to its thread when the previous one has returned, so a family's lines
 * are liquidated in input order even with several batches in flight (three batches submitted at
 * once to a one-thread piscina pool were seen to run out of order: same settlements, a family's
 * line records in another order).
 * `workers: 0` liquidates in this thread (same shard code, no pool).
 */
type Shard = { call(call: ShardCall): Promise<unknown>; close(): Promise<void> };

export interface DropLiquidatorOptions extends DropShardOptions {
  workers: number;
  reference: Reference;
  /** the compiled CommonJS entry (default: the package's dist/workers/liquidate.entry.cjs) */
  workerFile?: string;
}

/**
 * Rows of one décompte CSV as the reader framed them, not validated, each with its family (which
 * routes it) and its beneficiary as the reader looked them up (src/pipeline/drop-rows.ts).
 */
export interface RowBatch {
  where: { file: string; entry?: string };
  layout: CsvRowLayout;
  texts: string[];
  records: number[];
  beneficiaries: (Beneficiary | null)[];
  families: string[];
}

/**
 * A call's distinct beneficiaries, each numbered once: a beneficiary named by many lines of a call
 * is cloned once with it. Per call, not per run: a shard that kept every beneficiary it was ever
 * sent held a second copy of the members seen (+115 MB of anonymous memory at 1 M lines, where the
 * generator's members grow with the drop), for no CPU gain that this machine could measure.
 */
class People {
  readonly list: Beneficiary[] = [];
  private readonly numbers = new Map<Beneficiary, number>();

  numberOf(b: Beneficiary | null | undefined): number {
    if (b === null || b === undefined) return -1;
    let n = this.numbers.get(b);
    if (n === undefined) {
      this.numbers.set(b, (n = this.list.length));
      this.list.push(b);
    }
    return n;
  }
}

export class DropLiquidator {
  private constructor(private readonly shards: Shard[]) {}

  static open(options: DropLiquidatorOptions): DropLiquidator {
    const shardOptions: DropShardOptions = options.residentLines === undefined ? {} : { residentLines: options.residentLines };
    if (options.workers === 0) {
      const shard = new DropShard(options.reference, shardOptions);
      return new DropLiquidator([{ call: async (c) => shard.call(c), close: async () => shard.close() }]);
    }
    const filename = options.workerFile ?? WORKER_FILE;
    if (!existsSync(filename)) throw new PipelineStageError('PIPELINE_WORKER', `worker ${filename} is missing: run \`npm run build\` first`, { file: filename });
    const shards = Array.from({ length: options.workers }, (): Shard => {
      const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1, idleTimeout: Number.MAX_SAFE_INTEGER, workerData: { entry: './liquidate-drop.worker.js', reference: options.reference, shard: shardOptions } });
      let tail: Promise<unknown> = Promise.resolve();
      return {
        call: (c) => {
          const done = tail.then(() => pool.run(c));
          tail = done.catch(() => undefined);
          return done;
        },
        // the shard's spill store first (its thread removes it), then the thread
        close: async () => {
          await tail;
          await pool.run({ kind: 'close' } satisfies ShardCall).catch(() => undefined);
          await pool.close();
        },
      };
    });
    return new DropLiquidator(shards);
  }

  get width(): number {
    return this.shards.length;
  }

  /** Ledger pieces the run starts from (`--state`, a chunk at a time), each to the shard its family is routed to. */
  async load(pieces: readonly LedgerPiece[]): Promise<void> {
    const parts = this.shards.map((): LedgerPiece[] => []);
    for (const piece of pieces) parts[this.shardOf(piece.family)]!.push(piece);
    await Promise.all(this.shards.map((s, i) => (parts[i]!.length === 0 ? null : s.call({ kind: 'load', pieces: parts[i]! }))));
  }

  /**
   * One batch, split by shard and liquidated in parallel; the settlements come back in the
   * batch's order. Call it again before the previous one resolved to keep the threads busy.
   */
  async liquidate(requests: readonly ShardRequest[], asOf: string): Promise<ShardResult> {
    const parts = this.shards.map(() => ({ lines: [] as ActLine[], beneficiaries: [] as number[], people: new People() }));
    const route = new Uint16Array(requests.length);
    requests.forEach((r, i) => {
      const s = this.shardOf(stateKeyOf({ line: r.line, beneficiary: r.beneficiary ?? undefined }));
      route[i] = s;
      parts[s]!.lines.push(r.line);
      parts[s]!.beneficiaries.push(parts[s]!.people.numberOf(r.beneficiary));
    });
    const results = await Promise.all(
      parts.map((part, i) =>
        part.lines.length === 0
          ? null
          : (this.shards[i]!.call({ kind: 'liquidate-lines', batch: { lines: part.lines, beneficiaries: Int32Array.from(part.beneficiaries), people: part.people.list, asOf } }) as Promise<ShardResult>),
      ),
    );
    return this.merge(route, results);
  }

  /**
   * Raw CSV rows, routed by family, validated and liquidated in the shards; the settlements come
   * back in the rows' order (`ends`: one per row, a rejected row adds no bytes), the rejects by row.
   */
  async liquidateRows(batch: RowBatch, asOf: string): Promise<ShardRowResult> {
    const count = batch.texts.length;
    const parts = this.shards.map(() => ({ texts: [] as string[], records: [] as number[], beneficiaries: [] as number[], people: new People(), rows: [] as number[] }));
    const route = new Uint16Array(count);
    for (let k = 0; k < count; k++) {
      const s = this.shardOf(batch.families[k]!);
      route[k] = s;
      const part = parts[s]!;
      part.texts.push(batch.texts[k]!);
      part.records.push(batch.records[k]!);
      part.rows.push(k);
      part.beneficiaries.push(part.people.numberOf(batch.beneficiaries[k]));
    }
    const results = await Promise.all(
      parts.map((part, i) =>
        part.texts.length === 0
          ? null
          : (this.shards[i]!.call({
              kind: 'liquidate-rows',
              batch: { where: batch.where, layout: batch.layout, text: part.texts.join('\n'), records: Int32Array.from(part.records), beneficiaries: Int32Array.from(part.beneficiaries), people: part.people.list, asOf },
            }) as Promise<ShardRowResult>),
      ),
    );
    const merged = this.merge(route, results);
    const rejects: ShardRowResult['rejects'] = [];
    let lines = 0;
    results.forEach((result, i) => {
      if (result === null) return;
      lines += result.lines;
      for (const r of result.rejects) rejects.push({ row: parts[i]!.rows[r.row]!, detail: r.detail });
    });
    rejects.sort((a, b) => a.row - b.row);
    return { ...merged, lines, rejects };
  }

  /** The shards' results back in the batch's order (`route`: each item's shard): one copy of each item's bytes. */
  private merge(route: Uint16Array, results: readonly (ShardResult | null)[]): ShardResult {
    const statuses: Record<string, number> = {};
    let amcTotal = '0.00';
    let size = 0;
    results.forEach((result) => {
      if (result === null) return;
      for (const [status, n] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
      amcTotal = sumMoneyText([amcTotal, result.amcTotal]);
      size += result.bytes.length;
    });
    const bytes = new Uint8Array(size);
    const ends = new Uint32Array(route.length);
    const next = results.map(() => 0);
    let n = 0;
    for (let i = 0; i < route.length; i++) {
      const s = route[i]!;
      const result = results[s]!;
      const k = next[s]!++;
      const start = k === 0 ? 0 : result.ends[k - 1]!;
      bytes.set(result.bytes.subarray(start, result.ends[k]!), n);
      n += result.ends[k]! - start;
      ends[i] = n;
    }
    return { bytes, ends, statuses, amcTotal };
  }

  /** Every family's ledger as the run leaves it (`--state`), as pieces, `size` at a time per shard: never a whole history in memory. */
  async *dump(size = 1024): AsyncGenerator<LedgerPiece[]> {
    for (const shard of this.shards) {
      for (;;) {
        const pieces = (await shard.call({ kind: 'dump', pieces: size })) as LedgerPiece[] | null;
        if (pieces === null) break;
        yield pieces;
      }
    }
  }

  /** Spill folders of `noemie liquidate` runs that died (kill -9) before removing theirs. */
  static sweep(): Promise<number> {
    return sweepOrphans(LEDGER_SPILL_PREFIX);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private shardOf(familyKey: string): number {
    if (this.shards.length === 1) return 0;
    // FNV-1a over UTF-16 units: stable across runs and machines, so a family's shard is too.
    let h = 0x811c9dc5;
    for (let i = 0; i < familyKey.length; i++) h = Math.imul(h ^ familyKey.charCodeAt(i), 0x01000193);
    return (h >>> 0) % this.shards.length;
  }
}
