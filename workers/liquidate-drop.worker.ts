import { workerData } from 'piscina';
import { DropShard, type DropShardOptions, type ShardCall } from '../src/pipeline/drop-shard.js';
import type { Reference } from '../src/pipeline/liquidate-lines.js';

/**
 * Piscina entry point of one `noemie liquidate` shard (the pool side is
 * src/pipeline/drop-liquidator.ts: one single-thread pool per shard, so this module's ledgers are
 * the shard's for the whole run). Reference data comes once, in workerData. A batch's NDJSON
 * crosses as bytes (one memory copy), not as strings or settlement objects.
 */
const data = workerData as { reference: Reference; shard?: DropShardOptions };
const shard = new DropShard(data.reference, data.shard ?? {});

export default function liquidateDropShard(call: ShardCall): ReturnType<DropShard['call']> {
  return shard.call(call);
}
