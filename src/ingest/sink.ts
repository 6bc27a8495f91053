import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { RejectedRecord } from '../model/issues.js';
import type { DropFormat, IngestEvent, LineRun, PartSummary } from './types.js';

/**
 * Where ingested records go. Every method may return a promise and the caller awaits it before the
 * next record: that is the backpressure path (a bus sink awaits the producer, a file sink its writes).
 *
 * Staging per part: "a refused file publishes nothing of it", yet a codec may refuse a part after
 * some of its lines were sent (a ZIP entry that turns out to be a bomb halfway). So lines are sent
 * between `beginPart` and `commitPart` (publish) or `abortPart` (discard). Rejects are diagnostics,
 * not publications: sinks keep them even when the part is then refused — nothing found is lost.
 * `commitPart` / `abortPart` both receive the part's summary (they are the "part done" signal).
 * ingestDrop never calls `close`: a sink may outlive one drop (the bus sink of the service).
 */
export type Awaitable<T> = T | Promise<T>;
export type LineEvent = Extract<IngestEvent, { kind: 'line' }>;
export interface PartRef {
  file: string;
  entry?: string;
  format: DropFormat;
}

export interface IngestSink {
  beginPart(part: PartRef): Awaitable<void>;
  line(ev: LineEvent): Awaitable<void>;
  /**
   * Optional: consecutive accepted lines prepared by a row decoder (types.ts `LineRun`), instead of
   * one `line` call each. ingestDrop asks a decoder for runs only when the sink takes them.
   */
  lineRun?(run: LineRun): Awaitable<void>;
  reject(rejected: RejectedRecord): Awaitable<void>;
  commitPart(summary: PartSummary): Awaitable<void>;
  abortPart(summary: PartSummary): Awaitable<void>;
  close(): Awaitable<void>;
}

/** Dry run: counts happen in ingestDrop, nothing is written. */
export class NullSink implements IngestSink {
  beginPart(): void {}
  line(): void {}
  reject(): void {}
  commitPart(): void {}
  abortPart(): void {}
  close(): void {}
}

/** Sends everything to several sinks in turn (the output sink and the quarantine report writer). */
export class TeeSink implements IngestSink {
  private readonly sinks: readonly IngestSink[];
  /** present when every sink takes runs (a sink that ignores lines may just define it empty) */
  readonly lineRun?: (run: LineRun) => Promise<void>;
  constructor(...sinks: IngestSink[]) {
    this.sinks = sinks;
    if (sinks.every((s) => s.lineRun !== undefined)) {
      this.lineRun = async (run) => {
        for (const s of this.sinks) await s.lineRun!(run);
      };
    }
  }
  async beginPart(part: PartRef): Promise<void> { for (const s of this.sinks) await s.beginPart(part); }
  async line(ev: LineEvent): Promise<void> { for (const s of this.sinks) await s.line(ev); }
  async reject(r: RejectedRecord): Promise<void> { for (const s of this.sinks) await s.reject(r); }
  async commitPart(p: PartSummary): Promise<void> { for (const s of this.sinks) await s.commitPart(p); }
  async abortPart(p: PartSummary): Promise<void> { for (const s of this.sinks) await s.abortPart(p); }
  async close(): Promise<void> { for (const s of this.sinks) await s.close(); }
}

/**
 * A file written through a 64 KiB buffer at explicit offsets, so a part can be rolled back by
 * truncating to where it began — one write of the data instead of writing a temp file per part and
 * copying it on commit. Awaiting each flush is the backpressure.
 */
export class StagedFile {
  private fh: FileHandle | undefined;
  private position = 0;
  private mark = 0;
  private chunks: string[] = [];
  private pending = 0;

  constructor(readonly path: string, private readonly flushAt = 64 * 1024) {}

  async open(): Promise<void> {
    this.fh = await open(this.path, 'w');
  }

  async append(text: string): Promise<void> {
    this.chunks.push(text);
    this.pending += text.length;
    if (this.pending >= this.flushAt) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.chunks.length === 0 || !this.fh) return;
    const buf = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks = [];
    this.pending = 0;
    await this.fh.write(buf, 0, buf.length, this.position);
    this.position += buf.length;
  }

  /** Everything written so far survives a later rollback. */
  async checkpoint(): Promise<void> {
    await this.flush();
    this.mark = this.position;
  }

  async rollback(): Promise<void> {
    this.chunks = [];
    this.pending = 0;
    await this.fh?.truncate(this.mark);
    this.position = this.mark;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
  }
}

/**
 * `<out>/lines.ndjson`: one ActLine (JSON) per accepted line, in drop order, lines of refused parts
 * removed. `<out>/rejects.ndjson`: one RejectedRecord per rejected record, with its origin, all its
 * issues and the raw record (these are data files beside the lines, not logs: they hold NIRs).
 * Both are written as `*.tmp` and renamed at `close()`, so a file under its final name is complete;
 * a crash leaves only `*.tmp` files, which the next run of the same drop overwrites.
 */
export class NdjsonSink implements IngestSink {
  private lines: StagedFile;
  private rejects: StagedFile;
  private opened: Promise<void> | undefined;

  constructor(readonly outDir: string) {
    this.lines = new StagedFile(join(outDir, 'lines.ndjson.tmp'));
    this.rejects = new StagedFile(join(outDir, 'rejects.ndjson.tmp'));
  }

  private open(): Promise<void> {
    this.opened ??= (async () => {
      await mkdir(this.outDir, { recursive: true });
      await this.lines.open();
      await this.rejects.open();
    })();
    return this.opened;
  }

  async beginPart(): Promise<void> {
    await this.open();
    await this.lines.checkpoint();
  }

  async line(ev: LineEvent): Promise<void> {
    await this.lines.append(`${ev.json ?? JSON.stringify(ev.line)}\n`);
  }

  async reject(r: RejectedRecord): Promise<void> {
    await this.open();
    await this.rejects.append(`${JSON.stringify(r)}\n`);
  }

  commitPart(): void {}

  async abortPart(): Promise<void> {
    await this.lines.rollback();
  }

  async close(): Promise<void> {
    await this.open(); // an empty drop still gets its two (empty) files
    await this.lines.close();
    await this.rejects.close();
    await rename(this.lines.path, join(this.outDir, 'lines.ndjson'));
    await rename(this.rejects.path, join(this.outDir, 'rejects.ndjson'));
  }
}
