import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ErrorContext } from '../../model/errors.js';
import type { RejectedRecord } from '../../model/issues.js';
import { maskPersonalData } from '../../log.js';
import { maskFieldValue } from '../reference/csv-table.js';
import { StagedFile, type IngestSink } from '../sink.js';
import type { PartSummary } from '../types.js';
import { PartSummarySchema } from '../summary.js';

/**
 * `<stored name>.errors.json` (schemas/quarantine-report.schema.json): one entry per issue of every
 * rejected record, and one per refused part or unreadable drop. Written as an IngestSink teed
 * beside the real sink, streaming to a temp file: a drop with a million bad records does not hold
 * them in memory. NIR and IBAN values and message text are masked: the report is read by people.
 */
export const ReportEntrySchema = z.object({
  file: z.string().describe('drop file name as received'),
  entry: z.string().nullable().describe('entry inside a ZIP drop'),
  record: z.number().int().positive().nullable().describe('1-based record (line) number in the file or entry; null when the issue is not one record'),
  field: z.string().nullable().describe('field (column, attribute or record field) at fault, dotted path; null for a whole record or part'),
  value: z.string().nullable().describe('the value read, as text; NIR and IBAN masked'),
  reason: z.string().describe('what is wrong, in plain words (personal data masked)'),
  code: z.string().describe('stable code: a zod issue code for a record, INGEST_* for a refused part or drop'),
});
export type ReportEntry = z.infer<typeof ReportEntrySchema>;

export const QuarantineReportSchema = z
  .object({
    drop: z.string().describe('drop file name as received'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    entries: z.array(ReportEntrySchema).min(1).describe('one entry per issue of a rejected record, per refused part, per unreadable drop'),
    storedAs: z.string().describe('where the drop went, relative to the home: archive/… (something was read) or quarantine/…'),
    generatedAt: z.string().describe('ISO timestamp'),
    parts: z.array(PartSummarySchema).describe('the figures of every part read or refused'),
  })
  .describe('<home>/quarantine/<stored name>.errors.json, written when a drop had rejected records or refused parts');
export type QuarantineReport = z.infer<typeof QuarantineReportSchema>;

export function entriesOfRejected(r: RejectedRecord): ReportEntry[] {
  return r.issues.map((i) => ({
    file: r.origin.file,
    entry: r.origin.entry ?? null,
    record: r.origin.record,
    field: i.path.length > 0 ? i.path.join('.') : null,
    value: i.input === undefined ? null : maskFieldValue(i.path, i.input),
    reason: maskPersonalData(i.message),
    code: i.code,
  }));
}

export function entryOfError(where: { file: string; entry?: string }, error: { code: string; message: string; context?: ErrorContext }): ReportEntry {
  const ctx = error.context ?? {};
  return {
    file: where.file,
    entry: where.entry ?? (typeof ctx.entry === 'string' ? ctx.entry : null),
    record: typeof ctx.record === 'number' ? ctx.record : null,
    field: typeof ctx.field === 'string' ? ctx.field : null,
    value: null,
    reason: maskPersonalData(error.message),
    code: error.code,
  };
}

export class QuarantineReportWriter implements IngestSink {
  private readonly out: StagedFile;
  private opened: Promise<void> | undefined;
  private first = true;
  /** entries written so far: 0 means no report is needed */
  entries = 0;

  constructor(private readonly dir: string, private readonly drop: { file: string; sha256: string }) {
    this.out = new StagedFile(join(dir, `.${drop.sha256.slice(0, 16)}.errors.json.tmp`));
  }

  private async write(entries: ReportEntry[]): Promise<void> {
    if (entries.length === 0) return;
    this.opened ??= this.out.open().then(() => this.out.append(`{"drop":${JSON.stringify(this.drop.file)},"sha256":"${this.drop.sha256}","entries":[\n`));
    await this.opened;
    for (const e of entries) {
      await this.out.append(`${this.first ? '' : ',\n'}${JSON.stringify(e)}`);
      this.first = false;
      this.entries += 1;
    }
  }

  beginPart(): void {}
  line(): void {}
  lineRun(): void {}
  async reject(r: RejectedRecord): Promise<void> {
    await this.write(entriesOfRejected(r));
  }
  commitPart(): void {}
  async abortPart(summary: PartSummary): Promise<void> {
    if (summary.error) await this.write([entryOfError(summary, summary.error)]);
  }
  close(): void {}

  /** Adds a drop-level problem (unreadable drop, unexpected failure). */
  async addError(error: { code: string; message: string; context?: ErrorContext }): Promise<void> {
    await this.write([entryOfError({ file: this.drop.file }, error)]);
  }

  /**
   * Closes the JSON and renames it to `<dir>/<storedName>.errors.json`; returns that path, or
   * undefined (and removes the temp file) when there was nothing to report.
   */
  async finish(storedName: string, tail: { storedAs: string; parts: readonly PartSummary[]; generatedAt: string }): Promise<string | undefined> {
    if (this.entries === 0) {
      await rm(this.out.path, { force: true });
      return undefined;
    }
    await this.out.append(`\n],"storedAs":${JSON.stringify(tail.storedAs)},"generatedAt":"${tail.generatedAt}","parts":${maskPersonalData(JSON.stringify(tail.parts))}}\n`);
    await this.out.close();
    const target = join(this.dir, `${storedName}.errors.json`);
    await rename(this.out.path, target);
    return target;
  }

  async discard(): Promise<void> {
    await this.out.close().catch(() => undefined);
    await rm(this.out.path, { force: true });
  }
}
