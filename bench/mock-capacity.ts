import { gzipSync } from 'node:zlib';
import { GZIP_LEVEL } from '../src/bus/kafka/gzip-codec.js';
import { prepare } from '../src/bus/codec.js';
import { partitionFor } from '../src/bus/topics.js';
import { readDrop } from '../src/ingest/index.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import { familyKeyOfLine } from '../src/pipeline/keys.js';
import { asOfTimestamp, liquidateLines, type LineRequest } from '../src/pipeline/liquidate-lines.js';
import { loadReference, referencePaths } from '../src/pipeline/reference.js';

/**
 * Will a drop fit in librdkafka's mock broker? The mock keeps at most 5 MiB and 100 000 message
 * sets per partition (rdkafka_mock.c, `max_size` / `max_cnt`, hard-coded) and silently drops the
 * oldest beyond either; it stores record batches as produced, so gzip'ed batches count compressed.
 * The pipeline ingests the whole drop before the service catches up, then writes a settlement per
 * line: both `decompte-lines` and `settlements` must hold the whole run.
 *
 * The estimate is measured on the drop itself: every line's wire size and partition (its adhérent
 * key through the partitioner, so the skew of real families counts), a gzip ratio from the first
 * lines cut into the record batches the producer would send, and settlements from the engine run on
 * those same lines (liquidateLines, the service's own per-line code), plus margins (HEADROOM,
 * RATIO_MARGIN). After the run the bench checks
 * the low watermarks anyway (pipeline-kafka.bench.ts): the estimate only decides whether to start.
 */
export const MOCK_PARTITION_BYTES = 5 * 1024 * 1024;
export const MOCK_PARTITION_SETS = 100_000;
/** of the 5 MiB, what the estimate may fill: wire sizes are measured line by line, framing is approximated */
const HEADROOM = 0.9;
/** on a gzip ratio: the first lines' ratio is not every line's, and consumed batches may run short of 500 */
const RATIO_MARGIN = 1.25;
/** record batch header (61 B) and the producer request's framing around it */
const BATCH_OVERHEAD = 70;
/** per record, outside key/value/headers: length, attributes, deltas, header count (varints) */
const RECORD_OVERHEAD = 10;
const SAMPLE = 5_000;

export type Compression = 'none' | 'gzip';

interface WireMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface DropMeasure {
  count: number;
  /** averages of what BusIngestSink puts on the wire (value JSON, key, headers) */
  valueBytes: number;
  keyBytes: number;
  headerBytes: number;
  keys: number;
  /** per adhérent key: lines and their wire bytes (for any partition count) */
  families: Map<string, { lines: number; bytes: number }>;
  /** stored / wire bytes of line batches with that many partitions, with a margin (1 without compression) */
  lineRatio(partitions: number): number;
  /** the same for settlement batches (500 per produce, whatever the partition count) */
  settlementRatio: number;
  /** a settlement's wire bytes over its line's, on the sample */
  settlementPerLine: number;
  /** the first lines as on the wire, for the raw baseline's values and headers */
  sample: WireMessage[];
}

const recordBytes = (m: WireMessage) => Buffer.byteLength(m.key) + Buffer.byteLength(m.value) + Object.entries(m.headers).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0) + RECORD_OVERHEAD;

/** compressed / raw over record batches: each group is the records of one batch on one partition */
function ratioOf(groups: WireMessage[][], compression: Compression): number {
  if (compression === 'none') return 1;
  let raw = 0;
  let packed = 0;
  for (const g of groups) {
    if (g.length === 0) continue;
    const text = Buffer.from(g.map((m) => `${m.key}${m.value}${Object.entries(m.headers).flat().join('')}`).join(''));
    raw += g.reduce((n, m) => n + recordBytes(m), 0);
    packed += gzipSync(text, { level: GZIP_LEVEL }).length;
  }
  return raw === 0 ? 1 : Math.min(1, (RATIO_MARGIN * packed) / raw);
}

/** The sends of `batch` lines, each cut by partition: what kafkajs makes record batches of. */
function batchesByPartition(messages: WireMessage[], batch: number, partitions: number): WireMessage[][] {
  const groups: WireMessage[][] = [];
  for (let i = 0; i < messages.length; i += batch) {
    const byPartition = new Map<number, WireMessage[]>();
    for (const m of messages.slice(i, i + batch)) {
      const p = partitionFor(m.key, partitions);
      const list = byPartition.get(p) ?? [];
      list.push(m);
      byPartition.set(p, list);
    }
    groups.push(...byPartition.values());
  }
  return groups;
}

export async function measureDrop(drop: string, ref: string, o: { batch: number; compression: Compression }): Promise<DropMeasure> {
  let count = 0, value = 0, key = 0, header = 0;
  const families = new Map<string, { lines: number; bytes: number }>();
  const sample: WireMessage[] = [];
  const requests: LineRequest[] = [];
  const paths = referencePaths(ref);
  const { index } = await loadBeneficiaries(paths.beneficiariesFile);
  const asOf = asOfTimestamp(Date.now());
  for await (const part of readDrop(drop)) {
    for await (const ev of part.events) {
      if (ev.kind !== 'line') continue;
      count += 1;
      const k = familyKeyOfLine(ev.line);
      const origin = { file: ev.origin.file, ...(ev.origin.entry !== undefined ? { entry: ev.origin.entry } : {}), record: ev.origin.record };
      const [m] = prepare('decompte-lines', [{ value: { line: ev.line, origin }, key: k }]);
      const bytes = recordBytes(m!);
      value += Buffer.byteLength(m!.value);
      key += k.length;
      header += bytes - Buffer.byteLength(m!.value) - k.length - RECORD_OVERHEAD;
      const f = families.get(k) ?? { lines: 0, bytes: 0 };
      f.lines += 1;
      f.bytes += bytes;
      families.set(k, f);
      if (sample.length < SAMPLE) {
        sample.push(m!);
        requests.push({ line: ev.line, beneficiary: index.byNirRang(ev.line.nir, ev.line.rang) ?? null, asOf });
      }
    }
  }
  // The service writes each consumed batch's settlements (≤ 500 of one partition, many families) in one produce.
  const { outcomes } = liquidateLines(requests, await loadReference(paths), {});
  const settlements = prepare(
    'settlements',
    outcomes.map((out, i) => ({ value: out.settlement, key: out.settlement.adherentId ?? requests[i]!.line.amcMemberId, headers: { file: 'x', record: i + 1 } })),
  );
  const avg = (n: number) => Math.max(1, Math.round(n / Math.max(1, count)));
  const sum = (list: WireMessage[]) => list.reduce((n, m) => n + recordBytes(m), 0);
  const ratios = new Map<number, number>();
  const groupsOf500: WireMessage[][] = [];
  for (let i = 0; i < settlements.length; i += 500) groupsOf500.push(settlements.slice(i, i + 500));
  return {
    count, valueBytes: avg(value), keyBytes: avg(key), headerBytes: avg(header), keys: families.size, families, sample,
    lineRatio: (n) => {
      let r = ratios.get(n);
      if (r === undefined) ratios.set(n, (r = ratioOf(batchesByPartition(sample, o.batch, n), o.compression)));
      return r;
    },
    settlementRatio: ratioOf(groupsOf500, o.compression),
    settlementPerLine: sum(settlements) / Math.max(1, sum(sample.slice(0, settlements.length))),
  };
}

export interface TopicEstimate {
  /** bytes the fullest partition would hold, the lines behind them, its record batches */
  maxPartitionBytes: number;
  maxPartitionLines: number;
  maxPartitionSets: number;
  totalBytes: number;
}

/** What `decompte-lines` and `settlements` would hold per partition with `partitions` partitions. */
export function estimate(m: DropMeasure, partitions: number, batch: number): { lines: TopicEstimate; settlements: TopicEstimate } {
  const bytes = new Array<number>(partitions).fill(0);
  const lines = new Array<number>(partitions).fill(0);
  for (const [k, f] of m.families) {
    const p = partitionFor(k, partitions);
    bytes[p]! += f.bytes;
    lines[p]! += f.lines;
  }
  const of = (perByte: number, sets: (p: number) => number): TopicEstimate => {
    const stored = bytes.map((b, p) => b * perByte + sets(p) * BATCH_OVERHEAD);
    const max = stored.indexOf(Math.max(...stored));
    return { maxPartitionBytes: stored[max]!, maxPartitionLines: lines[max]!, maxPartitionSets: Math.max(...lines.map((_, p) => sets(p))), totalBytes: stored.reduce((a, b) => a + b, 0) };
  };
  const sends = Math.ceil(m.count / batch);
  return {
    // at most one record batch per send on each partition
    lines: of(m.lineRatio(partitions), (p) => Math.min(sends, lines[p]!)),
    // one per consumed batch of ≤ 500; counted as if half full
    settlements: of(m.settlementPerLine * m.settlementRatio, (p) => Math.ceil(lines[p]! / 250)),
  };
}

export function fits(e: { lines: TopicEstimate; settlements: TopicEstimate }): boolean {
  return [e.lines, e.settlements].every((t) => t.maxPartitionBytes <= HEADROOM * MOCK_PARTITION_BYTES && t.maxPartitionSets <= HEADROOM * MOCK_PARTITION_SETS);
}

/** The smallest partition count (up to 1024) whose estimate fits, or null: doubling, then bisection. */
export function suggestPartitions(m: DropMeasure, batch: number, from: number): number | null {
  let lo = Math.max(1, from);
  if (fits(estimate(m, lo, batch))) return lo;
  let hi = lo;
  for (;;) {
    lo = hi;
    hi = Math.min(1024, hi * 2);
    if (fits(estimate(m, hi, batch))) break;
    if (hi === 1024) return null;
  }
  // fits(hi), not fits(lo); the skew of families makes this not strictly monotonic, close enough
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(estimate(m, mid, batch))) hi = mid;
    else lo = mid;
  }
  return hi;
}

export const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
