import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { BusError } from '../errors.js';
import { encodeRecords, IDX, parseStored as parseAt, storedRaw, writePos } from './envelope.js';
import { linesOf, type Line } from './lines.js';
import { PartitionTail, type TailBudget } from './tail.js';

/**
 * One partition on disk: `<n>.log`, NDJSON records `{"o":offset,"t":ms,"k":key,"h":{headers},"v":value}`,
 * and `<n>.idx`, the byte position of record o at bytes [8·o, 8·o+8) (big-endian), so reading from
 * any offset is two positional reads and memory stays one batch whatever the log size.
 *
 * Writes: log first, fdatasync, then index. A crash can leave a torn last line (truncated on open)
 * or an index behind the log (completed on open from the last indexed record). One process writes
 * (the bus directory lock); readers in that process share the handles with positional reads and
 * only ever see offsets below `end`, which moves after both writes are done. A read-write open also
 * keeps its newest appends in memory while a subscription follows the partition (`tail`, tail.ts):
 * a reader keeping up is served from there instead of the file.
 */
const INDEX_FLUSH = 4096;

export interface StoredRecord {
  o: number;
  t: number;
  k: string;
  h: Record<string, string>;
  /** the value (undefined when read raw: `j`) */
  v: unknown;
  /** read raw (`read`'s `rawFrom`): the value's JSON as stored, not parsed — a string, or a view on its UTF-8 bytes */
  j?: string | Uint8Array;
}

export interface AppendEntry {
  key: string;
  headers: Record<string, string>;
  /** the value as JSON text, or that text's UTF-8 bytes (copied as they are) */
  value: string | Uint8Array;
}

export interface Recovery {
  /** bytes cut from the end of the log (a torn last record) */
  truncatedBytes: number;
  /** index entries written for records the index lacked */
  indexedRecords: number;
  /** the index was unusable and rebuilt by scanning the whole log */
  fullRebuild: boolean;
}

export class PartitionLog {
  private chain: Promise<unknown> = Promise.resolve();
  /** the newest appends, kept while a subscription follows this partition (null: a read-only open) */
  readonly tail: PartitionTail | null;

  private constructor(
    readonly path: string,
    private readonly log: FileHandle,
    private readonly idx: FileHandle,
    private endOffset: number,
    private size: number,
    private lastTimestamp: number,
    readonly recovery: Recovery,
    budget: TailBudget | null,
  ) {
    this.ownFrom = endOffset;
    this.tail = budget ? new PartitionTail(budget, path) : null;
  }

  /**
   * First offset appended by this open (the end found at open): records from here on were written
   * by `append`, whose caller (EmbeddedBus.produce) checked them against the topic schema; records
   * below were found on disk and are checked again when read (codec.ts, decodeOwn).
   */
  readonly ownFrom: number;

  /** offset the next record gets */
  get end(): number {
    return this.endOffset;
  }

  /**
   * Opens (creating if needed) and recovers. Read-only opens recover nothing: they trust the index
   * up to its last valid entry, a snapshot of what the writer had indexed. `tailBudget`: the bus's
   * budget for in-memory tails (none: reads always go to the file).
   */
  static async open(path: string, readOnly: boolean, tailBudget?: TailBudget): Promise<PartitionLog> {
    const flags = readOnly ? constants.O_RDONLY : constants.O_RDWR | constants.O_CREAT;
    const log = await open(`${path}.log`, flags, 0o644);
    const idx = await open(`${path}.idx`, flags, 0o644).catch(async (e: unknown) => {
      await log.close();
      throw e;
    });
    try {
      const r = await recover(path, log, idx, readOnly);
      return new PartitionLog(path, log, idx, r.end, r.size, r.lastTimestamp, r.recovery, readOnly ? null : (tailBudget ?? null));
    } catch (e) {
      await Promise.allSettled([log.close(), idx.close()]);
      throw e;
    }
  }

  /** Appends in order; resolves with the first offset once the records are written (and synced when `sync`). */
  append(entries: readonly AppendEntry[], sync: boolean): Promise<number> {
    const run = this.chain.then(() => this.write(entries, sync));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(entries: readonly AppendEntry[], sync: boolean): Promise<number> {
    const base = this.endOffset;
    // Timestamps never go back within a partition, so offsetForTime can binary-search them.
    const t = Math.max(Date.now(), this.lastTimestamp);
    const positions = Buffer.allocUnsafe(entries.length * IDX);
    const bytes = encodeRecords(entries, base, t, this.size, positions);
    try {
      await writeAll(this.log, bytes, this.size);
      if (sync) await this.log.datasync();
      await writeAll(this.idx, positions, base * IDX);
    } catch (e) {
      // Leave no partial record behind a live writer: the next append starts at `size` again.
      await this.log.truncate(this.size).catch(() => undefined);
      throw new BusError('BUS_CORRUPT_LOG', `cannot append to ${this.path}.log: ${(e as Error).message}`, { file: `${this.path}.log` }, { cause: e, retriable: true });
    }
    this.size += bytes.length;
    this.endOffset += entries.length;
    this.lastTimestamp = t;
    // Durable and visible (`end` moved) in the same synchronous step: a follower sees it now, from memory.
    this.tail?.appended(base, t, entries);
    return base;
  }

  /**
   * Up to `maxRecords` records from `from`, at most ~maxBytes of log (at least one record). Records
   * at or past `rawFrom` come raw: their value's JSON as stored (`j`), not parsed (a consumer's
   * `raw` option, subscription.ts).
   */
  async read(from: number, maxRecords: number, maxBytes = 1024 * 1024, rawFrom = Infinity): Promise<StoredRecord[]> {
    const end = this.endOffset;
    const size = this.size;
    if (from >= end || from < 0) return [];
    const kept = this.tail?.read(from, maxRecords, maxBytes, rawFrom);
    if (kept) return kept;
    const n = Math.min(maxRecords, end - from);
    const withNext = from + n < end;
    const ib = Buffer.alloc((n + (withNext ? 1 : 0)) * IDX);
    await readAll(this.idx, ib, from * IDX);
    const posAt = (i: number) => (i === n && !withNext ? size : readPos(ib, i));
    let k = n;
    const startPos = posAt(0);
    // Keep at least one record; shrink the batch to stay under maxBytes of log.
    while (k > 1 && posAt(k) - startPos > maxBytes) k--;
    const endPos = posAt(k);
    const buf = Buffer.allocUnsafe(endPos - startPos);
    await readAll(this.log, buf, startPos);
    const out: StoredRecord[] = new Array(k);
    let lineStart = 0;
    for (let i = 0; i < k; i++) {
      const nl = buf.indexOf(10, lineStart);
      // The envelope read from the bytes (envelope.ts); one string per value parsed. JSON.parse of slices of one decoded batch measured twice as slow.
      const rec = nl === -1 ? null : from + i >= rawFrom ? storedRaw(buf, lineStart, nl) : parseAt(buf, lineStart, nl);
      if (!rec || rec.o !== from + i) {
        throw new BusError('BUS_CORRUPT_LOG', `${this.path}.log: record ${from + i} not found at byte ${startPos + lineStart}`, { file: `${this.path}.log`, offset: String(from + i) });
      }
      out[i] = rec;
      lineStart = nl + 1;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.chain;
    this.tail?.clear();
    await Promise.allSettled([this.log.close(), this.idx.close()]);
  }
}

interface Recovered {
  end: number;
  size: number;
  lastTimestamp: number;
  recovery: Recovery;
}

async function recover(path: string, log: FileHandle, idx: FileHandle, readOnly: boolean): Promise<Recovered> {
  const logSize = (await log.stat()).size;
  const indexed = Math.floor((await idx.stat()).size / IDX);
  let start = 0;
  let count = 0;
  let fullRebuild = indexed > 0;
  if (indexed > 0) {
    const pos = await readIdx(idx, indexed - 1);
    const first = pos < logSize ? await firstLine(log, pos, logSize) : null;
    const rec = first?.complete ? parseStored(first.bytes) : null;
    if (rec && rec.o === indexed - 1) {
      start = pos;
      count = indexed - 1;
      fullRebuild = false;
    }
  }
  if (readOnly) {
    if (fullRebuild) throw new BusError('BUS_CORRUPT_LOG', `${path}.idx does not match ${path}.log: open the bus read-write once to rebuild it`, { file: `${path}.idx` });
    const last = indexed > 0 ? await firstLine(log, start, logSize) : null;
    const rec = last ? parseStored(last.bytes) : null;
    return {
      end: indexed,
      size: last ? last.pos + last.bytes.length + 1 : 0,
      lastTimestamp: rec?.t ?? 0,
      recovery: { truncatedBytes: 0, indexedRecords: 0, fullRebuild: false },
    };
  }

  // Scan from the last indexed record (or the start) to the end: normally a handful of lines.
  let goodEnd = start;
  let lastTimestamp = 0;
  let bad: Line | null = null;
  let pending: number[] = [];
  let indexedRecords = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const b = Buffer.alloc(pending.length * IDX);
    pending.forEach((p, i) => writePos(b, i, p));
    await writeAll(idx, b, (count - pending.length) * IDX);
    indexedRecords += pending.length;
    pending = [];
  };
  for await (const line of linesOf(log, start, logSize)) {
    const rec = line.complete ? parseStored(line.bytes) : null;
    if (!rec || rec.o !== count) {
      bad = line;
      break;
    }
    if (count >= indexed || fullRebuild) pending.push(line.pos);
    count++;
    goodEnd = line.pos + line.bytes.length + 1;
    lastTimestamp = rec.t;
    if (pending.length >= INDEX_FLUSH) await flush();
  }
  await flush();
  if (bad && !(await isTail(log, bad, logSize))) {
    throw new BusError('BUS_CORRUPT_LOG', `${path}.log: record ${count} at byte ${bad.pos} is damaged and valid data follows; not truncating`, { file: `${path}.log`, offset: String(count) });
  }
  if (goodEnd < logSize) await log.truncate(goodEnd);
  await idx.truncate(count * IDX);
  await Promise.all([log.datasync(), idx.datasync()]);
  return { end: count, size: goodEnd, lastTimestamp, recovery: { truncatedBytes: logSize - goodEnd, indexedRecords, fullRebuild } };
}

/** A bad line is a torn tail when nothing follows it: a write cut short by a crash. */
async function isTail(log: FileHandle, bad: Line, logSize: number): Promise<boolean> {
  if (!bad.complete) return true;
  const next = bad.pos + bad.bytes.length + 1;
  if (next >= logSize) return true;
  // Zero-filled blocks after a power loss are part of the torn tail too.
  const rest = Buffer.alloc(Math.min(logSize - next, 64 * 1024));
  await readAll(log, rest, next);
  return logSize - next <= rest.length && rest.every((b) => b === 0 || b === 10);
}

/** A whole line (recovery) as a record, or null. */
const parseStored = (bytes: Buffer): StoredRecord | null => parseAt(bytes, 0, bytes.length);

async function firstLine(fh: FileHandle, pos: number, end: number): Promise<Line | null> {
  for await (const line of linesOf(fh, pos, end)) return line;
  return null;
}

function readPos(buf: Buffer, i: number): number {
  return buf.readUInt32BE(i * IDX) * 2 ** 32 + buf.readUInt32BE(i * IDX + 4);
}

async function readIdx(idx: FileHandle, i: number): Promise<number> {
  const b = Buffer.alloc(IDX);
  await readAll(idx, b, i * IDX);
  return readPos(b, 0);
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

async function readAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}
