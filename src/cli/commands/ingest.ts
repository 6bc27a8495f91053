import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readEnv, zipLimits } from '../../config.js';
import { createLogger, maskPersonalData } from '../../log.js';
import type { RejectedRecord } from '../../model/issues.js';
import { ingestDrop, sha256File, type DropReader, type DropResult, type IngestProgress } from '../../ingest/ingest-drop.js';
import { InboxScanner, isInProgressName, processInboxOnce, type CompleteWhen, type InboxOutcome } from '../../ingest/inbox/index.js';
import { isTpClaimsFile } from '../../ingest/reference/tp-claims.js';
import { isMembersFile } from '../../ingest/reference/members-feed.js';
import { NdjsonSink, NullSink, TeeSink, type IngestSink } from '../../ingest/sink.js';
import { EMPTY_TOTALS, addTotals, dropNeedsAttention, type DropReport, type IngestSummary, type Totals } from '../../ingest/summary.js';
import { maskFieldValue } from '../../ingest/reference/csv-table.js';
import { describeOrigin } from '../../model/issues.js';
import { UsageError, parseFlags, printable, writeHumanLine, type CliIo, type Command } from '../command.js';
import { jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie ingest <path>`: reads a drop (a file) or every complete file of a directory and prints,
 * per file and part, records read / accepted / rejected, décomptes, sums of expense and RO amounts
 * (the first rejected records on stderr, NIR/IBAN masked).
 *   file                 → lines into --out (default <home>/ingested/<sha256 prefix>/); nothing moved
 *   directory            → each complete file (inbox naming rules, see inbox/complete.ts), each into
 *                          <out or home/ingested>/<sha256 prefix>/
 *   directory + --home   → processed as that home's inbox (no path: <home>/inbox): SHA-256 ledger,
 *                          archive/ or quarantine/, .errors.json reports, lines as above
 * <home> is --home, else NOEMIE_HOME. Progress (records, rate) every ~1 s on stderr when it is a TTY
 * or with --progress.
 */
const USAGE = `noemie ingest <path> [--dry-run] [--json] [--out <dir>] [--home <dir>] [--complete-when rename|ok] [--progress] [--stable-ms <n>]

  --dry-run        read and count only: nothing written, moved or recorded
${jsonUsage('ingest')}
                   (the same shape as schemas/ingest-summary.schema.json)
  --out <dir>      where lines.ndjson / rejects.ndjson go (a directory: one sub-directory per drop)
  --home <dir>     the inbox home; with a directory (or no path) the files are handled as inbox drops
  --complete-when  rename (default: names starting with "." or ending .part/.tmp are skipped) or ok
                   (a file is read only when <name>.ok exists)
  --stable-ms <n>  inbox: two looks this far apart must see the same size (default 1000)

exit code (the same rule as noemie run --once):
           0 every part of every drop was read (rejected records and skipped duplicates allowed),
           1 a part or a whole drop was refused (even if its other parts were read), a drop was
             quarantined, or a file could not be handled (left in the inbox, e.g. still being written),
           2 usage error`;

const FLAGS = {
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  home: { type: 'string' },
  'complete-when': { type: 'string' },
  progress: { type: 'boolean' },
  'stable-ms': { type: 'string' },
} as const;

/** Test seam: the drop reader (readDrop by default). */
export const seams: { reader?: DropReader } = {};

export const command: Command = {
  name: 'ingest',
  summary: 'read caisse drops / invoice uploads, print per-file figures, write the accepted lines',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length > 1) throw new UsageError(`one path expected, got ${positionals.length}`);
    const completeWhen = values['complete-when'] ?? 'rename';
    if (completeWhen !== 'rename' && completeWhen !== 'ok') throw new UsageError(`--complete-when must be "rename" or "ok", got "${completeWhen}"`);
    const stableMs = values['stable-ms'] === undefined ? 1000 : Number(values['stable-ms']);
    if (!Number.isInteger(stableMs) || stableMs < 0) throw new UsageError(`--stable-ms must be a whole number of milliseconds, got "${values['stable-ms']}"`);
    const env = readEnv();
    const home = resolve(values.home ?? env.NOEMIE_HOME);
    const target = positionals[0] ?? (values.home ? join(home, 'inbox') : undefined);
    if (!target) throw new UsageError('a path is required (or --home to process its inbox)');
    const st = await stat(target).catch(() => undefined);
    if (!st) throw new UsageError(`no such file or directory: ${target}`);

    const ctx: RunContext = {
      io, json: values.json ?? false, dryRun: values['dry-run'] ?? false, home, out: values.out, limits: zipLimits(env), completeWhen, stableMs,
      progress: values.progress || isTty(io.err) ? new Progress(io.err, isTty(io.err)) : undefined,
    };
    let drops: DropReport[];
    if (st.isFile()) drops = [await ingestFile(ctx, target, values.out)];
    else if (values.home) drops = await ingestInbox(ctx, target);
    else drops = await ingestDirectory(ctx, target);

    const totals = drops.reduce((t, d) => addTotals(t, d.totals), EMPTY_TOTALS);
    const exitCode = drops.some(dropNeedsAttention) ? 1 : 0;
    const summary: IngestSummary = { dryRun: ctx.dryRun, exitCode, drops, totals: { drops: drops.length, ...totals } };
    if (values.json) writeJson(io, 'ingest', summary);
    else printTotals(io, drops.length, totals, exitCode);
    return exitCode;
  },
};

interface RunContext {
  io: CliIo;
  json: boolean;
  dryRun: boolean;
  home: string;
  out: string | undefined;
  limits: ReturnType<typeof zipLimits>;
  completeWhen: CompleteWhen;
  stableMs: number;
  progress: Progress | undefined;
}

async function ingestFile(ctx: RunContext, path: string, out: string | undefined, outIsParent = false): Promise<DropReport> {
  const sha256 = await sha256File(path);
  const dir = out === undefined ? join(ctx.home, 'ingested', sha256.slice(0, 16)) : outIsParent ? join(out, sha256.slice(0, 16)) : out;
  const shown = new FirstRejects();
  const sink: IngestSink = ctx.dryRun ? new NullSink() : new NdjsonSink(dir);
  let result: DropResult;
  try {
    result = await ingestDrop(path, {
      sink: new TeeSink(sink, shown), sha256, limits: ctx.limits, progressEvery: 1024,
      ...(seams.reader ? { reader: seams.reader } : {}),
      ...(ctx.progress ? { onProgress: ctx.progress.update } : {}),
    });
  } finally {
    ctx.progress?.clear();
    await sink.close();
  }
  const report: DropReport = {
    file: result.file, path, sha256, action: 'ingested', parts: result.parts, totals: result.totals,
    ...(ctx.dryRun ? {} : { out: dir }), ...(result.error ? { error: result.error } : {}),
  };
  if (!ctx.json) printDrop(ctx.io, report, shown);
  return report;
}

async function ingestDirectory(ctx: RunContext, dir: string): Promise<DropReport[]> {
  // same naming rules as the inbox; no stability wait: a directory given by hand is at rest
  const scanner = new InboxScanner(dir, ctx.completeWhen, 0);
  await scanner.scan();
  const reports: DropReport[] = [];
  for (const c of await scanner.scan()) reports.push(await ingestFile(ctx, c.path, ctx.out ?? join(ctx.home, 'ingested'), true));
  for (const sp of scanner.specials) {
    // never followed nor opened; nothing is moved in this mode
    const message = `${sp.name} is a ${sp.kind}: not read (a drop must be a regular file)`;
    const report: DropReport = { file: sp.name, path: sp.path, action: 'failed', message, parts: [], totals: EMPTY_TOTALS, error: { code: 'INGEST_NOT_A_FILE', message, context: { file: sp.name, kind: sp.kind } } };
    if (!ctx.json) printDrop(ctx.io, report, undefined);
    reports.push(report);
  }
  await noteTpClaims(ctx, dir);
  return reports;
}

async function ingestInbox(ctx: RunContext, dir: string): Promise<DropReport[]> {
  const shown = new Map<string, FirstRejects>();
  const outcomes = await processInboxOnce(ctx.home, {
    inboxDir: resolve(dir), completeWhen: ctx.completeWhen, stableMs: ctx.stableMs, dryRun: ctx.dryRun, limits: ctx.limits,
    logger: createLogger({ name: 'inbox', level: 'silent' }), // the command prints its own lines
    ...(seams.reader ? { reader: seams.reader } : {}),
    ...(ctx.progress ? { onProgress: ctx.progress.update } : {}),
    sinkFor: ({ file, sha256, layout }) => {
      const first = new FirstRejects();
      shown.set(file, first);
      const out = ctx.out === undefined ? join(layout.ingested, sha256.slice(0, 16)) : join(ctx.out, sha256.slice(0, 16));
      return new TeeSink(ctx.dryRun ? new NullSink() : new NdjsonSink(out), first);
    },
  });
  ctx.progress?.clear();
  const reports = outcomes.map((o) => {
    const report = fromOutcome(o, ctx);
    if (!ctx.json) printDrop(ctx.io, report, shown.get(o.file));
    return report;
  });
  await noteTpClaims(ctx, dir);
  return reports;
}

/** The scanner leaves TP claims files to `noemie run` (inbox/complete.ts): say so rather than be silent. */
async function noteTpClaims(ctx: RunContext, dir: string): Promise<void> {
  if (ctx.json) return;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    if (isTpClaimsFile(name) && !isInProgressName(name)) writeHumanLine(ctx.io.out, `${name}: TP claims, not a drop: left in the inbox for noemie run`);
    if (isMembersFile(name) && !isInProgressName(name)) writeHumanLine(ctx.io.out, `${name}: membership events, not a drop: left in the inbox for noemie run`);
  }
}

function fromOutcome(o: InboxOutcome, ctx: RunContext): DropReport {
  const r = o.result;
  return {
    file: o.file, path: o.path, action: o.action, message: o.message, parts: r?.parts ?? [], totals: r?.totals ?? EMPTY_TOTALS,
    ...(o.sha256 ? { sha256: o.sha256 } : {}), ...(o.storedAs ? { storedAs: o.storedAs } : {}), ...(o.report ? { report: o.report } : {}),
    ...(r?.error ? { error: r.error } : {}),
    ...(r && !ctx.dryRun && o.sha256 ? { out: join(ctx.out ?? join(ctx.home, 'ingested'), o.sha256.slice(0, 16)) } : {}),
  };
}

/** Keeps the first rejected records of a drop to show them; the rest are counted (bounded memory). */
class FirstRejects implements IngestSink {
  readonly first: RejectedRecord[] = [];
  more = 0;
  constructor(private readonly keep = 10) {}
  beginPart(): void {}
  line(): void {}
  reject(r: RejectedRecord): void {
    if (this.first.length < this.keep) this.first.push(r);
    else this.more += 1;
  }
  commitPart(): void {}
  abortPart(): void {}
  close(): void {}
}

function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Records so far and rate, at most once a second (time-based: a per-record display would cost more than the parse). */
class Progress {
  private last = Date.now();
  private lastTotal = 0;
  private shown = false;
  constructor(private readonly err: NodeJS.WritableStream, private readonly tty: boolean) {}

  update = (p: IngestProgress): void => {
    const now = Date.now();
    if (p.total < this.lastTotal) this.lastTotal = 0; // next drop
    if (now - this.last < 1000) return;
    const rate = Math.round(((p.total - this.lastTotal) * 1000) / (now - this.last));
    const text = printable(`${p.file}${p.entry ? `!${p.entry}` : ''}: ${p.total} records, ${rate} records/s`);
    this.err.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
    this.shown = this.tty;
    this.last = now;
    this.lastTotal = p.total;
  };

  clear(): void {
    if (this.shown) this.err.write('\r\x1b[K');
    this.shown = false;
  }
}

const COLUMNS = ['records', 'accepted', 'rejected', 'décomptes', 'expense', 'RO amount'];

function printDrop(io: CliIo, d: DropReport, shown: FirstRejects | undefined): void {
  const where = d.storedAs ? ` → ${d.action} as ${d.storedAs}` : d.out ? ` → ${d.out}` : '';
  writeHumanLine(io.out, `${d.file}${d.sha256 ? `  sha256 ${d.sha256.slice(0, 16)}…` : ''}${where}`);
  if (d.action === 'duplicate' || d.action === 'failed') {
    writeHumanLine(io.out, `  ${d.action}: ${maskPersonalData(d.message ?? '')}`);
    return;
  }
  const names = d.parts.map((p) => printable(p.entry ?? p.file));
  const width = Math.max(4, ...names.map((n) => n.length));
  writeHumanLine(io.out, `  ${'part'.padEnd(width)}  ${'format'.padEnd(12)}${COLUMNS.map((c) => c.padStart(11)).join('')}`);
  d.parts.forEach((p, i) => {
    const figures = [p.records, p.accepted, p.rejected, p.decomptes, p.expense, p.roAmount].map((v) => String(v).padStart(11)).join('');
    const refused = p.error ? `  REFUSED [${p.error.code}] ${maskPersonalData(p.error.message)}` : '';
    writeHumanLine(io.out, `  ${names[i]!.padEnd(width)}  ${p.format.padEnd(12)}${figures}${refused}`);
  });
  if (d.error) writeHumanLine(io.out, `  REFUSED [${d.error.code}] ${maskPersonalData(d.error.message)}`);
  for (const r of shown?.first ?? []) {
    for (const i of r.issues) {
      const field = i.path.length > 0 ? ` ${i.path.join('.')}` : '';
      const value = i.input === undefined ? '' : ` (value "${maskFieldValue(i.path, i.input)}")`;
      writeHumanLine(io.err, `  rejected ${describeOrigin(r.origin)}${field}: ${maskPersonalData(i.message)}${value}`);
    }
  }
  if (shown && shown.more > 0) {
    const where2 = d.report ? d.report : d.out ? join(d.out, 'rejects.ndjson') : 'run without --dry-run to keep them';
    writeHumanLine(io.err, `  … ${shown.more} more rejected record(s): ${where2}`);
  }
  if (d.report) writeHumanLine(io.out, `  report: ${d.report}`);
}

function printTotals(io: CliIo, drops: number, t: Totals, exitCode: number): void {
  writeHumanLine(
    io.out,
    `total: ${drops} drop(s), ${t.parts} part(s)${t.refusedParts ? ` (${t.refusedParts} refused)` : ''}, ${t.records} records, ${t.accepted} accepted, ` +
      `${t.rejected} rejected, ${t.decomptes} décomptes, expense ${t.expense}, RO amount ${t.roAmount}`,
  );
  if (exitCode !== 0) writeHumanLine(io.err, 'some parts or drops were refused or not handled: exit code 1');
}
