import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Bus, OutgoingMessage } from '../bus/bus.js';
import type { LineMessage, RejectMessage } from '../bus/messages.js';
import type { IngestSink, LineEvent, PartRef } from '../ingest/sink.js';
import type { PartSummary } from '../ingest/types.js';
import type { Origin, RejectedRecord } from '../model/issues.js';
import { PipelineStageError } from './errors.js';
import { familyKeyOfLine, lineTopicOf, type LineTopic } from './keys.js';

/**
 * Ingest → bus. Accepted lines go to `decompte-lines` / `invoice-lines` (by `line.source`), keyed
 * by adhérent (README "Partitioning"); rejects go to `rejects` at once.
 *
 * A refused part must publish nothing, yet a codec may refuse a part after thousands of its lines
 * (NOEMIE control totals are checked at the end). So a part's lines are spooled to a temporary
 * NDJSON file and produced only on `commitPart`; `abortPart` deletes the spool. The spool is on
 * disk, not in memory: a part ten times larger needs ten times the disk, not the heap; `maxSpoolBytes`
 * bounds the disk too. Rejects are diagnostics, kept even when their part is refused (sink.ts).
 *
 * Backpressure: a spool write awaits its flush every `flushBytes`, and commit produces `batch`
 * messages per awaited produce call, so ingestion never runs ahead of the bus.
 */
export interface BusSinkOptions {
  /** messages per produce call (default 500) */
  batch?: number;
  /** where spool files go (default: a fresh directory under the OS temp dir) */
  spoolDir?: string;
  /** a part whose spool grows past this is refused with PIPELINE_SPOOL_FULL (default 4 GiB) */
  maxSpoolBytes?: number;
}

export interface BusSinkStats {
  lines: Record<LineTopic, number>;
  rejects: number;
  partsCommitted: number;
  partsAborted: number;
}

const FLUSH_BYTES = 256 * 1024;

export class BusIngestSink implements IngestSink {
  private readonly batch: number;
  private readonly maxSpoolBytes: number;
  private spoolDir: string | undefined;
  private ownsSpoolDir = false;
  private spool: { fh: FileHandle; path: string; bytes: number; pending: string[]; pendingBytes: number } | undefined;
  private rejects: OutgoingMessage<'rejects'>[] = [];
  private seq = 0;
  readonly stats: BusSinkStats = { lines: { 'decompte-lines': 0, 'invoice-lines': 0 }, rejects: 0, partsCommitted: 0, partsAborted: 0 };

  constructor(private readonly bus: Bus, options: BusSinkOptions = {}) {
    this.batch = options.batch ?? 500;
    this.maxSpoolBytes = options.maxSpoolBytes ?? 4 * 1024 ** 3;
    this.spoolDir = options.spoolDir;
  }

  async beginPart(part: PartRef): Promise<void> {
    await this.discardSpool();
    if (this.spoolDir === undefined) {
      this.spoolDir = await mkdtemp(join(tmpdir(), 'noemie-spool-'));
      this.ownsSpoolDir = true;
    }
    const path = join(this.spoolDir, `part-${process.pid}-${++this.seq}.ndjson`);
    this.spool = { fh: await open(path, 'w+'), path, bytes: 0, pending: [], pendingBytes: 0 };
    void part;
  }

  async line(ev: LineEvent): Promise<void> {
    const s = this.spool;
    if (!s) throw new Error('BusIngestSink.line outside a part (beginPart not called)');
    const text = `${JSON.stringify({ line: ev.line, origin: originOf(ev.origin) } satisfies LineMessage)}\n`;
    s.bytes += Buffer.byteLength(text);
    if (s.bytes > this.maxSpoolBytes) {
      throw new PipelineStageError('PIPELINE_SPOOL_FULL', `part spool over ${this.maxSpoolBytes} bytes: the part is refused`, { file: ev.origin.file, ...(ev.origin.entry ? { entry: ev.origin.entry } : {}), record: ev.origin.record });
    }
    s.pending.push(text);
    s.pendingBytes += text.length;
    if (s.pendingBytes >= FLUSH_BYTES) await this.flushSpool();
  }

  async reject(rejected: RejectedRecord): Promise<void> {
    const value: RejectMessage = { origin: originOf(rejected.origin), issues: rejected.issues, ...(rejected.raw !== undefined ? { raw: rejected.raw } : {}) };
    this.rejects.push({ value });
    if (this.rejects.length >= this.batch) await this.flushRejects();
  }

  async commitPart(summary: PartSummary): Promise<void> {
    void summary;
    await this.flushRejects();
    const s = this.spool;
    if (!s) return;
    await this.flushSpool();
    await s.fh.close();
    this.spool = undefined;
    try {
      await this.produceSpool(s.path);
      this.stats.partsCommitted += 1;
    } finally {
      await rm(s.path, { force: true });
    }
  }

  async abortPart(summary: PartSummary): Promise<void> {
    void summary;
    await this.flushRejects();
    await this.discardSpool();
    this.stats.partsAborted += 1;
  }

  async close(): Promise<void> {
    await this.flushRejects();
    await this.discardSpool();
    if (this.ownsSpoolDir && this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
    this.spoolDir = this.ownsSpoolDir ? undefined : this.spoolDir;
  }

  private async produceSpool(path: string): Promise<void> {
    const pending: Record<LineTopic, OutgoingMessage<LineTopic>[]> = { 'decompte-lines': [], 'invoice-lines': [] };
    const flush = async (topic: LineTopic) => {
      const messages = pending[topic];
      if (messages.length === 0) return;
      pending[topic] = [];
      await this.bus.produce(topic, messages);
      this.stats.lines[topic] += messages.length;
    };
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text === '') continue;
      const value = JSON.parse(text) as LineMessage;
      const topic = lineTopicOf(value.line);
      pending[topic].push({ value, key: familyKeyOfLine(value.line) });
      if (pending[topic].length >= this.batch) await flush(topic);
    }
    await flush('decompte-lines');
    await flush('invoice-lines');
  }

  private async flushSpool(): Promise<void> {
    const s = this.spool;
    if (!s || s.pending.length === 0) return;
    const chunk = s.pending.join('');
    s.pending = [];
    s.pendingBytes = 0;
    await s.fh.write(chunk);
  }

  private async flushRejects(): Promise<void> {
    if (this.rejects.length === 0) return;
    const messages = this.rejects;
    this.rejects = [];
    await this.bus.produce('rejects', messages);
    this.stats.rejects += messages.length;
  }

  private async discardSpool(): Promise<void> {
    const s = this.spool;
    if (!s) return;
    this.spool = undefined;
    await s.fh.close().catch(() => undefined);
    await rm(s.path, { force: true });
  }
}

/** The bus origin has no `textLine` (an XML reading aid, not part of the message). */
function originOf(o: Origin): LineMessage['origin'] {
  return { file: o.file, ...(o.entry !== undefined ? { entry: o.entry } : {}), record: o.record };
}
