import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bus, OutgoingMessage, OutgoingText } from '../bus/bus.js';
import { TRUSTED } from '../bus/bus.js';
import { verifyTrusted } from '../bus/codec.js';
import { lineChunks } from '../bus/embedded/lines.js';
import type { RejectMessage } from '../bus/messages.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { IngestSink, LineEvent, PartRef } from '../ingest/sink.js';
import type { LineRun, PartSummary } from '../ingest/types.js';
import type { Origin, RejectedRecord } from '../model/issues.js';
import { PipelineStageError } from './errors.js';
import { familyKeyOfAdherent, type LineTopic } from './keys.js';
import type { DropMarks } from './publication-marks.js';
import { scratchDir } from './scratch.js';
import { originOf, spoolLineEnd, spoolLinePrefix, type SpoolHead } from './spool-line.js';

/**
 * Ingest → bus. Accepted lines go to `decompte-lines` / `invoice-lines` (by `line.source`), keyed
 * by the family's adhérent as the membership file says (README "Partitioning", keys.ts); rejects go
 * to `rejects` at once.
 *
 * A refused part must publish nothing, yet a codec may refuse a part after thousands of its lines
 * (NOEMIE control totals are checked at the end). So a part's lines are spooled to an NDJSON file
 * and produced only on `commitPart`; `abortPart` deletes the spool. The spool is on disk, not in
 * memory: a part ten times larger needs ten times the disk, not the heap; `maxSpoolBytes` bounds
 * the disk too. Rejects are diagnostics, kept even when their part is refused (sink.ts).
 *
 * The spool holds whole lines (NIRs in clear): it lives in the home's `spool/` folder (removed at
 * each start of `noemie run`, `clearSpool`), never outlives its part (removed once the part is
 * published or refused), and without a folder of our own goes to a per-process scratch folder
 * that the next process removes if we were killed (scratch.ts).
 *
 * Resumable, idempotent publication (given `drop`): each line carries a stable `recordId`
 * (drop hash, part ordinal, line ordinal), and the drop's marks (publication-marks.ts) record
 * after each produce call how far each part got. Read again after a crash, a part already
 * published is skipped whole (lines and rejects), a part cut mid-way resumes after its last
 * acknowledged produce call; what the marks had not recorded yet is sent again with the same ids
 * and dropped by the liquidation service.
 *
 * Backpressure: a spool write awaits its flush every `flushBytes`, and commit produces `batch`
 * messages per awaited produce call, so ingestion never runs ahead of the bus.
 */
export interface BusSinkOptions {
  /** messages per produce call (default: `defaultSinkBatch`, 4 096 on the embedded bus, 500 on Kafka) */
  batch?: number;
  /** where spool files go (`<home>/spool` for noemie run; default: a per-process scratch folder, scratch.ts) */
  spoolDir?: string;
  /** a part whose spool grows past this is refused with PIPELINE_SPOOL_FULL (default 4 GiB) */
  maxSpoolBytes?: number;
  /** the drop this sink ingests (one sink per drop): record ids and resumable publication */
  drop?: { sha256: string; marks: DropMarks };
  /** the membership file: lines are keyed by the beneficiary's adhérent found there (keys.ts) */
  members?: Pick<BeneficiaryIndex, 'adherentOf'>;
  /**
   * Told, before they are produced, the lines whose person `members` does not know (keyed by the
   * member number they name): the membership store remembers under which numbers an unknown
   * person's lines are kept, so the person's arrival in another family hands them over
   * (src/pipeline/README.md "Re-liquidation"). Resolves once that is durable.
   */
  onUnknownPersons?: (persons: { nir: string; rang: number; adherentId: string }[]) => Promise<void>;
}

export interface BusSinkStats {
  lines: Record<LineTopic, number>;
  rejects: number;
  partsCommitted: number;
  partsAborted: number;
  /** lines not produced because the drop's marks say they already are on the bus */
  alreadyPublished: number;
}

const FLUSH_BYTES = 256 * 1024;
const TAB = 0x09;
const NL = 0x0a;
/** bytes of spool read at a time */
const SPOOL_CHUNK = 1024 * 1024;


/**
 * Messages per produce call when none is given. On the embedded bus 4 096, the liquidation's bus
 * batch: every call fdatasyncs each partition it touches, writes the drop's marks and, when the
 * call holds a person the membership does not know, commits the membership store's note
 * (`onUnknownPersons`, one LMDB commit that rewrites its pages: ≈ 0.8 MB written per commit at
 * 100 k lines). At 500 per call a 100 k-line drop made 200 calls: 736 fdatasyncs on
 * `decompte-lines` and 189 membership commits, 157 MB (1.6 KB per line; bench/README.md
 * "Session 9 — service"). On Kafka 500: a produce request stays well under the broker's size limit.
 * The TP-claims sink (tp-claims-sink.ts) produces in calls of the same size, for the same reasons.
 */
export function defaultSinkBatch(kind: Bus['kind']): number {
  return kind === 'embedded' ? 4_096 : 500;
}

interface Spool {
  fh: FileHandle;
  path: string;
  bytes: number;
  pending: string[];
  pendingBytes: number;
}

export class BusIngestSink implements IngestSink {
  private readonly batch: number;
  private readonly maxSpoolBytes: number;
  private spoolDir: string | undefined;
  private ownsSpoolDir = false;
  private spool: Spool | undefined;
  private rejects: OutgoingMessage<'rejects'>[] = [];
  private seq = 0;
  /** ordinal of the current part in the drop, and its lines so far */
  private part = 0;
  private partLines = 0;
  /** the current part was fully published before a crash: its lines and rejects are not sent again */
  private skipPart = false;
  readonly stats: BusSinkStats = { lines: { 'decompte-lines': 0, 'invoice-lines': 0 }, rejects: 0, partsCommitted: 0, partsAborted: 0, alreadyPublished: 0 };

  constructor(private readonly bus: Bus, private readonly options: BusSinkOptions = {}) {
    this.batch = options.batch ?? defaultSinkBatch(bus.kind);
    this.maxSpoolBytes = options.maxSpoolBytes ?? 4 * 1024 ** 3;
    this.spoolDir = options.spoolDir;
  }

  async beginPart(part: PartRef): Promise<void> {
    await this.discardSpool();
    this.part += 1;
    this.partLines = 0;
    // A part whose publication had started before a crash sent all its rejects first.
    this.skipPart = this.options.drop?.marks.published(this.part) === 'done';
    if (this.skipPart) return;
    if (this.spoolDir === undefined) {
      this.spoolDir = await scratchDir('noemie-spool-');
      this.ownsSpoolDir = true;
    } else await mkdir(this.spoolDir, { recursive: true });
    const path = join(this.spoolDir, `part-${process.pid}-${++this.seq}.ndjson`);
    this.spool = { fh: await open(path, 'w+', 0o600), path, bytes: 0, pending: [], pendingBytes: 0 };
    void part;
  }

  async line(ev: LineEvent): Promise<void> {
    this.partLines += 1;
    if (this.skipPart) {
      this.stats.alreadyPublished += 1;
      return;
    }
    const s = this.openSpool();
    const text = spoolLinePrefix(ev.line, lineJson(ev), ev.origin) + spoolLineEnd(this.recordId(this.partLines));
    s.bytes += Buffer.byteLength(text);
    if (s.bytes > this.maxSpoolBytes) throw this.spoolFull(ev.origin);
    s.pending.push(text);
    s.pendingBytes += text.length;
    if (s.pendingBytes >= FLUSH_BYTES) await this.flushSpool();
  }

  /**
   * Consecutive lines whose spool text the row decoder made (`LineRun.spool`, its worker thread):
   * each gets its record id and goes to the spool as `line` would have written it.
   */
  async lineRun(run: LineRun): Promise<void> {
    const n = run.spool.length;
    if (this.skipPart) {
      this.partLines += n;
      this.stats.alreadyPublished += n;
      return;
    }
    const s = this.openSpool();
    let ends = 0;
    const texts: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const end = spoolLineEnd(this.recordId(this.partLines + i + 1));
      ends += end.length; // ASCII: one byte a character
      texts[i] = run.spool[i]! + end;
    }
    if (s.bytes + run.spoolBytes + ends > this.maxSpoolBytes) {
      // the line that goes past the limit names the refusal, as `line` does
      let bytes = s.bytes;
      for (let i = 0; i < n; i++) {
        bytes += Buffer.byteLength(texts[i]!);
        if (bytes > this.maxSpoolBytes) throw this.spoolFull({ ...run.where, record: run.records[i]! });
      }
    }
    this.partLines += n;
    s.bytes += run.spoolBytes + ends;
    for (const text of texts) {
      s.pending.push(text);
      s.pendingBytes += text.length;
    }
    if (s.pendingBytes >= FLUSH_BYTES) await this.flushSpool();
  }

  private openSpool(): Spool {
    if (!this.spool) throw new Error('BusIngestSink.line outside a part (beginPart not called)');
    return this.spool;
  }

  private recordId(lineInPart: number): string | undefined {
    return this.options.drop ? `${this.options.drop.sha256.slice(0, 16)}:${this.part}:${lineInPart}` : undefined;
  }

  private spoolFull(origin: Origin): PipelineStageError {
    return new PipelineStageError('PIPELINE_SPOOL_FULL', `part spool over ${this.maxSpoolBytes} bytes: the part is refused`, { file: origin.file, ...(origin.entry ? { entry: origin.entry } : {}), record: origin.record });
  }

  async reject(rejected: RejectedRecord): Promise<void> {
    if (this.options.drop?.marks.started(this.part)) return;
    const value: RejectMessage = { origin: originOf(rejected.origin), issues: rejected.issues, ...(rejected.raw !== undefined ? { raw: rejected.raw } : {}) };
    this.rejects.push({ value });
    if (this.rejects.length >= this.batch) await this.flushRejects();
  }

  async commitPart(summary: PartSummary): Promise<void> {
    void summary;
    await this.flushRejects();
    if (this.skipPart) {
      this.stats.partsCommitted += 1;
      return;
    }
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

  /**
   * Produces the spool in its order (a produce call never mixes topics, so "the first n lines are
   * on the bus" is one number), after the lines the marks say are already there; records the new
   * count after each acknowledged call, `done` at the end.
   */
  private async produceSpool(path: string): Promise<void> {
    const marks = this.options.drop?.marks;
    const part = this.part;
    const skip = marks ? (marks.published(part) as number) : 0;
    let pending: OutgoingText[] = [];
    let pendingTopic: LineTopic | undefined;
    // The lines of `pending` whose person the membership does not know, found when each line was
    // keyed (one membership lookup per line, not one for the key and one for this list).
    let unknown: { nir: string; rang: number; adherentId: string }[] = [];
    // person → the family the membership puts them in (undefined: unknown); only the family is
    // needed to key a line, not the person's fold (`adherentOf`: one point read a person)
    let persons = new Map<string, string | undefined>();
    const { members, onUnknownPersons } = this.options;
    let read = 0;
    // `through`: the spool lines now on the bus once `pending` is — the lines read so far, but for
    // one read and not queued yet (a line of another topic, produced by the next call: before
    // session 13 it was counted here, and a crash between the two calls lost it on resume).
    const flush = async (through: number) => {
      if (pendingTopic === undefined || pending.length === 0) return;
      const [topic, messages, strangers] = [pendingTopic, pending, unknown];
      pending = [];
      unknown = [];
      persons = new Map();
      if (onUnknownPersons && strangers.length > 0) await onUnknownPersons(strangers);
      await this.bus.produce(topic, messages, TRUSTED);
      this.stats.lines[topic] += messages.length;
      await marks?.set(part, through);
    };
    if (marks && !marks.started(part)) await marks.set(part, 0);
    /** Queues a line's JSON for the next produce call (of the line's topic: the caller flushed the other's). */
    const add = ([topic, nir, rang, amcMemberId, headers]: SpoolHead, json: Uint8Array): void => {
      // One lookup per person per produce call (a person has several lines in a call): the lines
      // of one call get the same answer even if a membership event lands between two of them.
      const person = `${nir}-${rang}`;
      let family = persons.get(person);
      if (family === undefined && !persons.has(person)) persons.set(person, (family = members?.adherentOf(nir, rang)));
      // Every line of an unknown person: each names the member number its lines are kept under.
      if (members && family === undefined) unknown.push({ nir, rang, adherentId: amcMemberId });
      pending.push({ json, key: familyKeyOfAdherent({ amcMemberId }, family), headers });
      pendingTopic = topic;
    };
    const fh = await open(path, 'r');
    try {
      // Read as bytes, whole lines per chunk (spoolChunks): each line's JSON goes to the bus as the
      // bytes line() wrote (OutgoingText), copied into the log as they are — not decoded into a
      // string here to be encoded again by the log —, and a chunk's lines are taken in one
      // synchronous loop, awaiting only a produce (bench/README.md "Session 13 — bus").
      for await (const data of spoolChunks(fh, path)) {
        for (let from = 0, nl = data.indexOf(NL); nl !== -1; from = nl + 1, nl = data.indexOf(NL, from)) {
          if (nl === from) continue;
          read += 1;
          if (read <= skip) {
            this.stats.alreadyPublished += 1;
            continue;
          }
          // The head alone is parsed (JSON text has no raw tab: the first tab ends the head).
          const tab = data.indexOf(TAB, from);
          const head = JSON.parse(data.toString('utf8', from, tab)) as SpoolHead;
          if (head[0] !== pendingTopic) await flush(read - 1);
          add(head, data.subarray(tab + 1, nl));
          if (pending.length >= this.batch) await flush(read);
        }
      }
    } finally {
      await fh.close();
    }
    await flush(read);
    await marks?.set(part, 'done');
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

/**
 * Removes every spool file of the folder: at the start of `noemie run`, what a killed run left
 * there (lines of a part that was never published; its drop is still in the inbox and read again).
 */
export async function clearSpool(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * The line's JSON, as the reader made it when it did (`LineEvent.json`): serialising the line was
 * most of this sink's time on the service's thread. With the line message's origin and record id
 * around it (spool-line.ts) it is `JSON.stringify({ line, origin, recordId })` byte for byte.
 * NOEMIE_BUS_VERIFY (the test suite) checks the text given.
 */
function lineJson(ev: LineEvent): string {
  if (ev.json === undefined) return JSON.stringify(ev.line);
  if (verifyTrusted() && ev.json !== JSON.stringify(ev.line)) throw new Error(`line ${ev.origin.record} of ${ev.origin.file}: its JSON is not the line's`);
  return ev.json;
}

/**
 * The spool file in chunks of whole lines (about SPOOL_CHUNK bytes each, the bus's `lineChunks`).
 * Memory: a chunk, plus the chunks a produce call's lines still point into.
 */
async function* spoolChunks(fh: FileHandle, path: string): AsyncGenerator<Buffer> {
  for await (const chunk of lineChunks(fh, 0, (await fh.stat()).size, SPOOL_CHUNK)) {
    // line() ends every line with a newline: anything after the last one is not a line it wrote
    if (!chunk.complete) throw new Error(`${path}: the spool ends in the middle of a line`);
    yield chunk.data;
  }
}
