import { Decimal } from 'decimal.js';
import type { ActLine } from '../model/act-line.js';
import type { ErrorContext } from '../model/errors.js';
import { z } from 'zod';
import { CentSum, centsOf } from '../model/cents.js';
import { MoneySchema, ZERO, formatMoney, type Money } from '../model/money.js';
import type { DropFormat, DropPart, PartSummary, RunTally } from './types.js';

/**
 * The figures `noemie ingest` prints and the archive ledger keeps, counted while the records flow
 * (nothing is held per line). Readings, also in schemas/ingest-summary.schema.json:
 * - sums are SIGNED: an annulation line (operation A) counts negatively, so a drop's RO sum is
 *   what it nets to, the figure the caisse's 999 trailer carries;
 * - `decomptes` counts changes of (caisse, décompte id) between consecutive accepted lines — a
 *   décompte's lines are consecutive in every encoding, so this equals the distinct count without
 *   a Set that would grow with the drop;
 * - a refused part publishes nothing: its `accepted`, `decomptes` and sums are 0, `records` and
 *   `rejected` say how far it was read and what was found before the refusal.
 */
export class PartTally {
  records = 0;
  accepted = 0;
  rejected = 0;
  decomptes = 0;
  private readonly expense = new CentSum();
  private readonly roAmount = new CentSum();
  private lastDecompte: string | undefined;

  line(l: ActLine): void {
    this.records += 1;
    this.accepted += 1;
    const key = decompteKeyOf(l);
    if (key !== this.lastDecompte) {
      this.decomptes += 1;
      this.lastDecompte = key;
    }
    const sign = l.operation === 'A' ? -1 : 1;
    this.expense.add(sign * centsOfAmount(l.expense));
    this.roAmount.add(sign * centsOfAmount(l.roAmount));
  }

  /** A run of accepted lines counted elsewhere (`tallyRun`, in the row decoder's worker): as if each were given to `line`. */
  run(t: RunTally): void {
    if (t.lines === 0) return;
    this.records += t.lines;
    this.accepted += t.lines;
    this.decomptes += t.decompteChanges + (t.firstDecompte !== this.lastDecompte ? 1 : 0);
    this.lastDecompte = t.lastDecompte;
    this.expense.addBig(BigInt(t.expenseCents));
    this.roAmount.addBig(BigInt(t.roCents));
  }

  reject(): void {
    this.records += 1;
    this.rejected += 1;
  }

  done(part: Pick<DropPart, 'file' | 'entry' | 'format'>): PartSummary {
    return {
      ...where(part),
      records: this.records,
      accepted: this.accepted,
      rejected: this.rejected,
      decomptes: this.decomptes,
      expense: this.expense.money(),
      roAmount: this.roAmount.money(),
    };
  }

  refused(part: Pick<DropPart, 'file' | 'entry' | 'format'>, error: { code: string; message: string; context?: ErrorContext }): PartSummary {
    return {
      ...where(part),
      records: this.records,
      accepted: 0,
      rejected: this.rejected,
      decomptes: 0,
      expense: '0.00',
      roAmount: '0.00',
      error: { code: error.code, message: error.message, context: error.context ?? {} },
    };
  }
}

/** What counts as one décompte: lines of a décompte are consecutive (see PartTally). */
function decompteKeyOf(l: Pick<ActLine, 'caisse' | 'decompteId'>): string {
  return `${l.caisse ?? ''}\u0000${l.decompteId}`;
}

/** The summary's figures over consecutive accepted lines (a run the row decoder hands over whole). */
export function tallyRun(lines: readonly Pick<ActLine, 'caisse' | 'decompteId' | 'operation' | 'expense' | 'roAmount'>[]): RunTally {
  const expense = new CentSum();
  const ro = new CentSum();
  let first = '';
  let last = '';
  let changes = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const key = decompteKeyOf(l);
    if (i === 0) first = key;
    else if (key !== last) changes += 1;
    last = key;
    const sign = l.operation === 'A' ? -1 : 1;
    expense.add(sign * centsOfAmount(l.expense));
    ro.add(sign * centsOfAmount(l.roAmount));
  }
  return { lines: lines.length, firstDecompte: first, lastDecompte: last, decompteChanges: changes, expenseCents: expense.cents().toString(), roCents: ro.cents().toString() };
}

/** A validated amount's whole cents: the canonical text read digit by digit (model/cents.ts), any other text through decimal.js. */
function centsOfAmount(m: Money): number {
  const fast = centsOf(m);
  if (fast !== null) return fast;
  const cents = new Decimal(m).times(100);
  if (!cents.isInteger() || !Number.isSafeInteger(cents.toNumber())) throw new Error(`not an amount in cents: ${m}`);
  return cents.toNumber();
}

function where(part: Pick<DropPart, 'file' | 'entry' | 'format'>): Pick<PartSummary, 'file' | 'entry' | 'format'> {
  return part.entry === undefined ? { file: part.file, format: part.format } : { file: part.file, entry: part.entry, format: part.format };
}

export interface Totals {
  parts: number;
  refusedParts: number;
  records: number;
  accepted: number;
  rejected: number;
  decomptes: number;
  expense: Money;
  roAmount: Money;
}

export function totalsOf(parts: readonly PartSummary[]): Totals {
  let expense = ZERO;
  let roAmount = ZERO;
  const t = { parts: parts.length, refusedParts: 0, records: 0, accepted: 0, rejected: 0, decomptes: 0 };
  for (const p of parts) {
    if (p.error) t.refusedParts += 1;
    t.records += p.records;
    t.accepted += p.accepted;
    t.rejected += p.rejected;
    t.decomptes += p.decomptes;
    expense = expense.plus(p.expense);
    roAmount = roAmount.plus(p.roAmount);
  }
  return { ...t, expense: formatMoney(expense), roAmount: formatMoney(roAmount) };
}

/** Adds totals (several drops on one command line). */
export function addTotals(a: Totals, b: Totals): Totals {
  return {
    parts: a.parts + b.parts,
    refusedParts: a.refusedParts + b.refusedParts,
    records: a.records + b.records,
    accepted: a.accepted + b.accepted,
    rejected: a.rejected + b.rejected,
    decomptes: a.decomptes + b.decomptes,
    expense: formatMoney(new Decimal(a.expense).plus(b.expense)),
    roAmount: formatMoney(new Decimal(a.roAmount).plus(b.roAmount)),
  };
}

export const EMPTY_TOTALS: Totals = totalsOf([]);

/**
 * The exit-code rule shared by `noemie ingest` and `noemie run --once` (README "Exit codes"): a
 * drop needs attention (exit 1) when it was not handled (`failed`: left in the inbox, e.g. still
 * being written), quarantined, could not be listed, or had a part refused — even when its other
 * parts were read and published. Rejected records and skipped duplicates alone do not.
 */
export function dropNeedsAttention(d: { action: string; error?: unknown; totals: Pick<Totals, 'refusedParts'> }): boolean {
  return d.action === 'failed' || d.action === 'quarantined' || d.error !== undefined || d.totals.refusedParts > 0;
}

/*
 * The machine form of the figures: `noemie ingest --json` prints one IngestSummary object.
 * schemas/ingest-summary.schema.json is generated from these (test/ingest/ingest-drop-schemas.test.ts).
 */
const count = z.number().int().nonnegative();

/** A Record so the compiler fails here when types.ts gains or loses a format. */
const FORMATS: Record<DropFormat, true> = { noemie: true, csv: true, xml: true, 'invoice-json': true, 'invoice-csv': true, zip: true, unknown: true };

export const ErrorInfoSchema = z.object({
  code: z.string().describe('stable error code, e.g. INGEST_CONTROL_TOTALS'),
  message: z.string(),
  context: z.record(z.string(), z.unknown()).describe('file, entry, record, field… of the refusal'),
});

export const PartSummarySchema = z
  .object({
    file: z.string().describe('drop file name as received'),
    entry: z.string().optional().describe('entry name inside a ZIP archive'),
    format: z.enum(Object.keys(FORMATS) as [DropFormat, ...DropFormat[]]).describe('zip / unknown: a part refused before any codec ran'),
    records: count.describe('records read (accepted + rejected)'),
    accepted: count.describe('act lines accepted and published; 0 for a refused part'),
    rejected: count.describe('records rejected with their issues (kept even when the part is then refused)'),
    decomptes: count.describe('décomptes among accepted lines: changes of (caisse, décompte id), lines of a décompte being consecutive'),
    expense: MoneySchema.describe('sum of expense of accepted lines, annulations (operation A) counted negatively'),
    roAmount: MoneySchema.describe('sum of RO amounts of accepted lines, annulations counted negatively'),
    error: ErrorInfoSchema.optional().describe('set when the whole part was refused: nothing of it was published'),
  })
  .describe('one file, or one entry of a ZIP drop');

export const TotalsSchema = z.object({
  parts: count,
  refusedParts: count,
  records: count,
  accepted: count,
  rejected: count,
  decomptes: count,
  expense: MoneySchema,
  roAmount: MoneySchema,
});

export const DropReportSchema = z.object({
  file: z.string().describe('drop file name as received'),
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  action: z
    .enum(['ingested', 'archived', 'quarantined', 'duplicate', 'failed'])
    .describe('ingested: a file read in place; archived/quarantined: an inbox file moved (or that would be, in a dry run); duplicate: same SHA-256 as an archived drop, not read; failed: not handled, left in the inbox'),
  storedAs: z.string().optional().describe('where the inbox file went, relative to the home'),
  report: z.string().optional().describe('the .errors.json quarantine report, when one was written'),
  out: z.string().optional().describe('directory holding lines.ndjson and rejects.ndjson'),
  message: z.string().optional(),
  parts: z.array(PartSummarySchema),
  totals: TotalsSchema,
  error: ErrorInfoSchema.optional().describe('the drop could not be listed at all (unknown format, corrupt archive…)'),
});
export type DropReport = z.infer<typeof DropReportSchema>;

export const IngestSummarySchema = z
  .object({
    dryRun: z.boolean(),
    exitCode: z.union([z.literal(0), z.literal(1)]).describe('0: every part of every drop read (rejected records allowed); 1: a part or drop refused, or a file not handled'),
    drops: z.array(DropReportSchema),
    totals: TotalsSchema.extend({ drops: count }),
  })
  .describe('noemie ingest --json: one object on stdout');
export type IngestSummary = z.infer<typeof IngestSummarySchema>;
