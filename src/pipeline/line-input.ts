import { z } from 'zod';
import { ActLineSchema, NIR_PATTERN, nirKey, type ActLine } from '../model/act-line.js';
import type { IsoDate } from '../model/dates.js';

/**
 * The input a line record keeps so the line can be decided again without its input topic (README
 * "Re-liquidation"): the act line of its last version, its liquidation date, and where it stands in
 * the family's order of arrival. Stored in the ledger's line record beside the engine's fields
 * (the engine neither reads nor writes it), only on `I` records — an annulled line is never
 * re-decided.
 *
 * Compact: the line's values in a fixed order, without their names (the names are two thirds of
 * the line's JSON), and without what follows from the rest (`nirKey` = 97 − NIR mod 97,
 * `operation` = I). A field the list below does not name (added to ActLine later) rides in a
 * trailing object, so a new optional field is kept without moving the positions of the old ones.
 * Never reorder LINE_FIELDS: ledgers already written read by position.
 */
export const LINE_FIELDS = [
  'source', 'decompteId', 'lineNo', 'caisse', 'roPaymentDate', 'nir', 'rang', 'birthDate', 'amcMemberId', 'psId',
  'psSpecialty', 'psDptm', 'actCode', 'side', 'careStart', 'careEnd', 'quantity', 'coefficient', 'expense', 'br',
  'roRate', 'roAmount', 'pf', 'franchise', 'pathway', 'tp', 'accident',
] as const satisfies readonly (keyof ActLine)[];
const DERIVED = new Set<string>(['nirKey', 'operation']);
const KNOWN = new Set<string>([...LINE_FIELDS, ...DERIVED]);

export const LineInputSchema = z
  .object({
    at: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).meta({ description: 'the liquidation date (asOf) of the input record of this version: a re-decision judges the prescription on it, not on the day of the re-liquidation' }),
    n: z.tuple([z.number().int().min(0), z.number().int().min(0)]).meta({ description: "order of arrival in the family: [the family ledger's write number when the line was first recorded, its position in that batch]" }),
    line: z.array(z.unknown()).meta({ description: `the act line's values in this order: ${LINE_FIELDS.join(', ')}, then optionally an object of any other field (nirKey and operation are derived)` }),
  })
  .meta({ title: 'Line input', description: 'what a re-liquidation needs to decide the line again (src/pipeline/line-input.ts)' });
export type LineInput = z.infer<typeof LineInputSchema>;

export function encodeLineInput(line: ActLine, at: IsoDate, n: [number, number]): LineInput {
  // Once per line recorded, in the worker: a plain loop, no array of entries per line (the map
  // and Object.entries + filter were ≈ 5 % of a worker's busy time).
  const values: unknown[] = new Array(LINE_FIELDS.length);
  for (let i = 0; i < LINE_FIELDS.length; i++) values[i] = line[LINE_FIELDS[i]!];
  let extra: Record<string, unknown> | undefined;
  const fields = line as unknown as Record<string, unknown>;
  for (const k in fields) {
    if (KNOWN.has(k) || !Object.hasOwn(fields, k)) continue;
    const v = fields[k];
    if (v !== undefined) (extra ??= {})[k] = v;
  }
  if (extra !== undefined) values.push(extra);
  return { at, n, line: values };
}

/** The act line back, validated (a damaged record fails here, naming the field, rather than deciding wrong). */
export function decodeLineInput(input: LineInput): ActLine {
  const out: Record<string, unknown> = {};
  LINE_FIELDS.forEach((f, i) => (out[f] = input.line[i]));
  const extra = input.line[LINE_FIELDS.length];
  if (extra !== undefined && extra !== null && typeof extra === 'object') Object.assign(out, extra);
  out.operation = 'I';
  out.nirKey = typeof out.nir === 'string' && NIR_PATTERN.test(out.nir) ? nirKey(out.nir) : undefined;
  return ActLineSchema.parse(out);
}

/** Sorts inputs in their family's order of arrival. */
export function byArrival(a: Pick<LineInput, 'n'>, b: Pick<LineInput, 'n'>): number {
  return a.n[0] - b.n[0] || a.n[1] - b.n[1];
}
