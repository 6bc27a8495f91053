import { createHash } from 'node:crypto';
import { lstat, readlink, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ZipLimits } from '../../config.js';
import { createLogger, type Logger } from '../../log.js';
import { totalsOf } from '../summary.js';
import { anyPartRead, ingestDrop, sha256File, type DropReader, type DropResult, type RowDecoder, type RowRunDecoder, type IngestProgress } from '../ingest-drop.js';
import { NdjsonSink, NullSink, TeeSink, type IngestSink } from '../sink.js';
import { InboxScanner, specialKindOf, type Candidate, type CompleteWhen, type SpecialEntry } from './complete.js';
import { ensureLayout, inboxLayout, ingestedDir, type InboxLayout } from './layout.js';
import { Ledger, type LedgerEntry } from './ledger.js';
import { moveInto, moveSpecialInto, stamp } from './move.js';
import { QuarantineReportWriter } from './report.js';
import { DropIncompleteError, INCOMPLETE_GRACE_MS, assertUnchanged, incompleteTail } from './settled.js';

/**
 * One inbox file, start to end: hash it (streamed SHA-256), skip it when the ledger already holds
 * an archived drop with those bytes, else ingest it into the sink with a quarantine report teed
 * beside, then move it: to archive/ when at least one part was read, to quarantine/ when nothing
 * could be. The `.errors.json` report always goes to quarantine/ (the one place ops watch), named
 * after the stored file, whenever there were rejected records or refused parts.
 * Order: sink closed → file moved → report → ledger. A crash in between re-reads the drop at
 * restart: at-least-once, and downstream dedupes by the stable lineKey.
 * A duplicate is moved to archive/ as `<stamp>-<name>.duplicate` (left in the inbox it would be
 * hashed again at every scan) and logged "already ingested on … as …".
 */
export type InboxAction = 'archived' | 'quarantined' | 'duplicate' | 'failed';

export interface InboxOutcome {
  file: string;
  path: string;
  sha256?: string;
  action: InboxAction;
  /** path relative to the home (`archive/…`), absent in a dry run or on failure */
  storedAs?: string;
  /** path of the `.errors.json` report, when one was written */
  report?: string;
  result?: DropResult;
  duplicateOf?: LedgerEntry;
  message: string;
  dryRun: boolean;
  /** action `failed` because the file looks still being written (settled.ts): not an attempt that counts toward quarantine */
  incomplete?: true;
}

export interface InboxOptions {
  completeWhen?: CompleteWhen;
  /** two looks at least this far apart must agree on size + mtime (default 1000 ms) */
  stableMs?: number;
  /** default: NdjsonSink into `<home>/ingested/<sha256 prefix>/` (NullSink in a dry run); also called in a dry run */
  sinkFor?: (drop: { file: string; sha256: string; layout: InboxLayout }) => IngestSink | Promise<IngestSink>;
  reader?: DropReader;
  limits?: ZipLimits;
  logger?: Logger;
  now?: () => Date;
  /** read and count only: NullSink, nothing moved, no report, no ledger line */
  dryRun?: boolean;
  /** process this directory as the inbox of the home */
  inboxDir?: string;
  onProgress?: (p: IngestProgress) => void;
  signal?: AbortSignal;
  /** an unchanged file that does not end like a complete one is waited for this long, then read as it is (default 5 min, settled.ts) */
  incompleteGraceMs?: number;
  /** CSV parts' rows validated by it (ingest-drop.ts RowDecoder; `noemie run`: a worker thread) */
  decodeRows?: RowDecoder;
  /** the same, handing lines over as runs to a sink that takes them (ingest-drop.ts RowRunDecoder) */
  decodeRowRuns?: RowRunDecoder;
}

export interface InboxContext {
  layout: InboxLayout;
  ledger: Ledger;
  options: InboxOptions;
  logger: Logger;
}

export async function openInbox(home: string, options: InboxOptions): Promise<InboxContext> {
  const layout = inboxLayout(home, options.inboxDir ? { inbox: options.inboxDir } : {});
  const logger = options.logger ?? createLogger({ name: 'inbox' });
  if (!options.dryRun) await ensureLayout(layout);
  return { layout, ledger: await Ledger.open(layout.ledger, logger), options, logger };
}

export async function processCandidate(ctx: InboxContext, c: Candidate): Promise<InboxOutcome> {
  const { layout, ledger, options, logger } = ctx;
  const now = options.now ?? (() => new Date());
  const dryRun = options.dryRun ?? false;
  const base = { file: c.name, path: c.path, dryRun };
  // replaced by a link or a pipe since the scan: refused like one, never opened
  const kind = specialKindOf(await lstat(c.path));
  if (kind !== null) return refuseSpecial(ctx, { name: c.name, path: c.path, kind });
  const cut = await incompleteTail(c.path, c.name);
  if (cut !== null) {
    // the real clock, not options.now (the archive stamps'): this is about the file's own mtime
    const quietFor = Date.now() - c.mtimeMs;
    const grace = options.incompleteGraceMs ?? INCOMPLETE_GRACE_MS;
    if (quietFor < grace) return incomplete(ctx, c, `${c.name}: ${cut}: still being written? Left in the inbox for a later pickup (read as it is once unchanged for ${Math.round(grace / 1000)} s)`);
    logger.warn({ file: c.name }, `${c.name}: ${cut}, but unchanged for ${Math.round(quietFor / 1000)} s: read as it is`);
  }
  const sha256 = await sha256File(c.path);
  const home = (p: string) => relative(layout.home, p);

  const previous = ledger.ingestedAs(sha256);
  if (previous) {
    const message = `${c.name}: already ingested on ${previous.at} as ${previous.storedAs}, skipped`;
    logger.warn({ file: c.name, sha256, previous: previous.storedAs }, message);
    if (dryRun) return { ...base, sha256, action: 'duplicate', duplicateOf: previous, message };
    const at = now();
    const stored = await moveInto(c.path, layout.archive, c.name, at, '.duplicate');
    await removeMarker(c);
    const storedAs = home(join(layout.archive, stored));
    await ledger.append({ sha256, file: c.name, action: 'duplicate', storedAs, at: at.toISOString(), records: 0, accepted: 0, rejected: 0, refusedParts: 0 });
    return { ...base, sha256, action: 'duplicate', storedAs, duplicateOf: previous, message };
  }

  const own = options.sinkFor || dryRun ? undefined : new NdjsonSink(ingestedDir(layout, sha256));
  const sink = (await options.sinkFor?.({ file: c.name, sha256, layout })) ?? own ?? new NullSink();
  const report = dryRun ? undefined : new QuarantineReportWriter(layout.quarantine, { file: c.name, sha256 });
  let result: DropResult;
  try {
    result = await ingestDrop(c.path, {
      sink: report ? new TeeSink(sink, report) : sink,
      sha256,
      name: c.name,
      ...(options.reader ? { reader: options.reader } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.decodeRows ? { decodeRows: options.decodeRows } : {}),
      ...(options.decodeRowRuns ? { decodeRowRuns: options.decodeRowRuns } : {}),
      // nothing is published (committed) unless the file is still what was picked up
      beforeCommit: () => assertUnchanged(c.path, c.name, c),
    });
    await sink.close();
  } catch (e) {
    await Promise.resolve(sink.close()).catch(() => undefined);
    await report?.discard();
    if (e instanceof DropIncompleteError) {
      // its (empty: the part was aborted) output files would name a drop that never was
      if (own) await rm(own.outDir, { recursive: true, force: true });
      return incomplete(ctx, c, e.message, sha256);
    }
    throw e;
  }

  const read = anyPartRead(result);
  const t = result.totals;
  const figures = `${t.records} records, ${t.accepted} accepted, ${t.rejected} rejected, ${t.refusedParts} part(s) refused`;
  if (dryRun) {
    return { ...base, sha256, action: read ? 'archived' : 'quarantined', result, message: `${c.name}: ${figures} (dry run, nothing moved)` };
  }
  if (result.error) await report!.addError(result.error);
  else if (result.parts.length === 0) await report!.addError({ code: 'INGEST_EMPTY', message: 'the drop holds no décompte file' });

  const at = now();
  const action = read ? 'archived' : 'quarantined';
  const stored = await moveInto(c.path, read ? layout.archive : layout.quarantine, c.name, at);
  await removeMarker(c);
  const storedAs = home(join(read ? layout.archive : layout.quarantine, stored));
  const reportPath = await report!.finish(stored, { storedAs, parts: result.parts, generatedAt: at.toISOString() });
  await ledger.append({
    sha256, file: c.name, action, storedAs, at: at.toISOString(),
    records: t.records, accepted: t.accepted, rejected: t.rejected, refusedParts: t.refusedParts + (result.error ? 1 : 0),
    ...(reportPath ? { report: home(reportPath) } : {}),
  });
  const message = `${c.name}: ${figures}; ${action} as ${storedAs}${reportPath ? `, report ${home(reportPath)}` : ''}`;
  (read && !reportPath ? logger.info.bind(logger) : logger.warn.bind(logger))({ file: c.name, sha256, storedAs }, message);
  return { ...base, sha256, action, storedAs, result, message, ...(reportPath ? { report: reportPath } : {}) };
}

/** sha256 of zero bytes: an entry that is not a file is never read, its report and ledger line say so. */
const NOTHING_READ = createHash('sha256').digest('hex');

/**
 * An inbox entry that is not a regular file (complete.ts SpecialEntry): moved as it is to
 * quarantine/ (never followed, never opened) with a report naming it and why, and a ledger line.
 */
export async function refuseSpecial(ctx: InboxContext, s: SpecialEntry): Promise<InboxOutcome> {
  const { layout, ledger, options, logger } = ctx;
  const dryRun = options.dryRun ?? false;
  const target = s.kind === 'symbolic link' ? await readlink(s.path).catch(() => undefined) : undefined;
  const what = `${s.name} is a ${s.kind}${target !== undefined ? ` (to ${target})` : ''}: refused, never ${s.kind === 'symbolic link' ? 'followed' : 'opened'}`;
  const error = { code: 'INGEST_NOT_A_FILE', message: `${what}; a drop must be a regular file`, context: { file: s.name, kind: s.kind } };
  const result: DropResult = { file: s.name, sha256: NOTHING_READ, parts: [], totals: totalsOf([]), error };
  const base = { file: s.name, path: s.path, dryRun, result };
  if (dryRun) return { ...base, action: 'quarantined', message: `${what} (dry run, nothing moved)` };
  const at = (options.now ?? (() => new Date()))();
  const report = new QuarantineReportWriter(layout.quarantine, { file: s.name, sha256: NOTHING_READ });
  await report.addError(error);
  const stored = await moveSpecialInto(s.path, layout.quarantine, s.name, at);
  const storedAs = stored === null ? `(removed: ${s.kind} on another file system)` : relative(layout.home, join(layout.quarantine, stored));
  const reportPath = await report.finish(stored ?? `${stamp(at)}-${s.name}`, { storedAs, parts: [], generatedAt: at.toISOString() });
  await ledger.append({
    sha256: NOTHING_READ, file: s.name, action: 'quarantined', storedAs, at: at.toISOString(), records: 0, accepted: 0, rejected: 0, refusedParts: 1,
    ...(reportPath ? { report: relative(layout.home, reportPath) } : {}),
  });
  const message = `${what}; ${stored === null ? 'removed' : `moved to ${storedAs}`}`;
  logger.warn({ file: s.name, kind: s.kind, storedAs }, message);
  return { ...base, action: 'quarantined', storedAs, message, ...(reportPath ? { report: reportPath } : {}) };
}

/** Left in the inbox, nothing published, moved or recorded: the file is read again once stable. */
function incomplete(ctx: InboxContext, c: Candidate, message: string, sha256?: string): InboxOutcome {
  ctx.logger.warn({ file: c.name, size: c.size }, message);
  return { file: c.name, path: c.path, action: 'failed', incomplete: true, message, dryRun: ctx.options.dryRun ?? false, ...(sha256 ? { sha256 } : {}) };
}

async function removeMarker(c: Candidate): Promise<void> {
  if (c.marker) await rm(c.marker, { force: true });
}

/** A failure that is not the drop's fault (sink, disk, bug): the file stays in the inbox for a retry. */
export function failedOutcome(c: Candidate, e: unknown, dryRun: boolean): InboxOutcome {
  const err = e as { code?: string; message?: string };
  return { file: c.name, path: c.path, action: 'failed', dryRun, message: `${c.name}: not handled, left in the inbox: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}` };
}

/**
 * `--once`: look at the inbox twice, `stableMs` apart, and handle every file complete at the second
 * look, one at a time, oldest first. A failure is reported and the next file goes on.
 */
export async function processInboxOnce(home: string, options: InboxOptions = {}): Promise<InboxOutcome[]> {
  const ctx = await openInbox(home, options);
  const stableMs = options.stableMs ?? 1000;
  const scanner = new InboxScanner(ctx.layout.inbox, options.completeWhen, stableMs);
  await scanner.scan();
  // a few ms more: timers may fire a hair early relative to Date.now()
  if (scanner.waiting > 0) await sleep(stableMs + 10, options.signal);
  const outcomes: InboxOutcome[] = [];
  const ready = await scanner.scan();
  for (const s of scanner.specials) {
    outcomes.push(await refuseSpecial(ctx, s).catch((e: unknown) => failure(ctx, { name: s.name, path: s.path, size: 0, mtimeMs: 0 }, e)));
  }
  for (const c of ready) {
    if (options.signal?.aborted) break;
    outcomes.push(await processCandidate(ctx, c).catch((e: unknown) => failure(ctx, c, e)));
  }
  return outcomes;
}

/**
 * After repeated unexpected failures (watch mode) a file is quarantined with a report entry
 * `INGEST_UNEXPECTED`, so one poisonous file cannot be retried forever.
 */
export async function quarantineFailed(ctx: InboxContext, c: Candidate, e: unknown, attempts: number): Promise<InboxOutcome> {
  const { layout, ledger, logger } = ctx;
  const at = (ctx.options.now ?? (() => new Date()))();
  const sha256 = await sha256File(c.path);
  const report = new QuarantineReportWriter(layout.quarantine, { file: c.name, sha256 });
  const err = e as { code?: string; message?: string };
  await report.addError({ code: 'INGEST_UNEXPECTED', message: `failed ${attempts} times: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}` });
  const stored = await moveInto(c.path, layout.quarantine, c.name, at);
  await removeMarker(c);
  const storedAs = relative(layout.home, join(layout.quarantine, stored));
  const reportPath = await report.finish(stored, { storedAs, parts: [], generatedAt: at.toISOString() });
  await ledger.append({ sha256, file: c.name, action: 'quarantined', storedAs, at: at.toISOString(), records: 0, accepted: 0, rejected: 0, refusedParts: 1, ...(reportPath ? { report: relative(layout.home, reportPath) } : {}) });
  const message = `${c.name}: failed ${attempts} times, quarantined as ${storedAs}`;
  logger.error({ file: c.name, sha256, storedAs }, message);
  return { file: c.name, path: c.path, sha256, action: 'quarantined', storedAs, message, dryRun: false, ...(reportPath ? { report: reportPath } : {}) };
}

export function failure(ctx: InboxContext, c: Candidate, e: unknown): InboxOutcome {
  const outcome = failedOutcome(c, e, ctx.options.dryRun ?? false);
  ctx.logger.error({ err: e, file: c.name }, outcome.message);
  return outcome;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
