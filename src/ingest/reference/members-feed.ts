import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { fromZodIssues, type RejectedRecord } from '../../model/issues.js';
import {
  MEMBERSHIP_COLUMNS, MEMBERSHIP_FIELD_TO_COLUMN, MembershipEventObject, REQUIRED_MEMBERSHIP_COLUMNS, refineMembershipEvent, resiliationEffectiveDate,
  type MembershipEvent,
} from '../../model/membership.js';
import { BicSchema, IbanSchema } from './beneficiaries.js';
import { readCsvTable, ReferenceDataError, type CsvTableSpec } from './csv-table.js';

/**
 * A membership feed file (`members*.csv`, `members*.json`, issue 10) → membership events, each bad
 * record rejected with file, record (line) and field, the rest going on. Columns and JSON keys are
 * beneficiaries.csv's (formats.md §3) plus `event_id`, `event_type`, `effective_date`,
 * `request_date` (schemas/members.schema.json). CSV cells are text (`contracts` and `suspended`
 * `|`-separated, periods `from..to`, `noemie` Y/N); a JSON file is an array of records (or
 * `{"events": [...]}`) with native types. Empty cells are absent values.
 * - `event_id` left empty: a hash of the record's content, so the same record read again — in the
 *   same file or another — is the same event, applied once;
 * - `effective_date` left empty on an `affiliation_end` with a `request_date`: one month after the
 *   request (seeds 000/004, `resiliationEffectiveDate`);
 * - IBAN and BIC are checked with ibantools (as beneficiaries.csv) and kept in electronic format.
 */

/** The inbox's test for a membership feed: `members*.csv` / `members*.json`. Such a file is not a drop. */
export function isMembersFile(name: string): boolean {
  return /^members.*\.(csv|json)$/i.test(name.slice(name.lastIndexOf('/') + 1));
}

/** The event as the file may give it: id optional (hashed), IBAN/BIC checked and normalised. */
const FileEventSchema = MembershipEventObject.extend({
  eventId: MembershipEventObject.shape.eventId.optional(),
  iban: IbanSchema.optional(),
  bic: BicSchema.optional(),
})
  .superRefine((e, ctx) => refineMembershipEvent({ ...e, eventId: e.eventId ?? '-' }, ctx))
  .transform((e): MembershipEvent => ({ ...e, eventId: e.eventId ?? contentId(e) }));

/** `m-` + 24 hex of SHA-256 over the record's fields (keys sorted): the same content, the same id. */
export function contentId(e: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(e).filter((k) => e[k] !== undefined).sort().map((k) => [k, e[k]]));
  return `m-${createHash('sha256').update(canonical).digest('hex').slice(0, 24)}`;
}

const COLUMN_TO_FIELD: Readonly<Record<string, string>> = Object.fromEntries(
  MEMBERSHIP_COLUMNS.map((c) => [c, Object.entries(MEMBERSHIP_FIELD_TO_COLUMN).find(([, col]) => col === c)?.[0] ?? c]),
);

/** An affiliation_end with a request date and no effective date: the seeds' default delay. */
function withDefaultEffective(c: Record<string, unknown>): Record<string, unknown> {
  if (c.effectiveDate === undefined && c.eventType === 'affiliation_end' && typeof c.requestDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(c.requestDate)) {
    return { ...c, effectiveDate: resiliationEffectiveDate(c.requestDate) };
  }
  return c;
}

function csvCandidate(cells: Readonly<Record<string, string>>): unknown {
  const c: Record<string, unknown> = {};
  for (const column of MEMBERSHIP_COLUMNS) {
    const text = cells[column];
    if (text === undefined || text === '') continue;
    const field = COLUMN_TO_FIELD[column]!;
    switch (column) {
      case 'rang':
        c[field] = /^\d+$/.test(text) ? Number(text) : text;
        break;
      case 'contracts':
        c[field] = text.split('|').map((s) => s.trim());
        break;
      case 'suspended':
        c[field] = text.split('|').map((s) => {
          const m = /^(.*)\.\.(.*)$/.exec(s.trim());
          return m ? { from: m[1], to: m[2] } : s.trim();
        });
        break;
      case 'noemie':
        c[field] = text === 'Y' ? true : text === 'N' ? false : text;
        break;
      default:
        c[field] = text;
    }
  }
  return withDefaultEffective(c);
}

function jsonCandidate(record: unknown): unknown {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return record;
  const c: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === null && key !== 'end' && key !== 'iban' && key !== 'bic') continue;
    c[COLUMN_TO_FIELD[key] ?? key] = value;
  }
  return withDefaultEffective(c);
}

const toColumn = (path: PropertyKey[]) => {
  const [head, ...rest] = path.map((p) => (typeof p === 'number' ? p : String(p)));
  return head === undefined ? [] : [typeof head === 'string' ? (MEMBERSHIP_FIELD_TO_COLUMN[head] ?? head) : head, ...rest];
};

const CSV_SPEC: CsvTableSpec<MembershipEvent> = {
  columns: REQUIRED_MEMBERSHIP_COLUMNS,
  schema: FileEventSchema as unknown as z.ZodType<MembershipEvent>,
  toCandidate: csvCandidate,
  fieldToColumn: MEMBERSHIP_FIELD_TO_COLUMN,
};

export type MembersFeedEvent = { kind: 'event'; event: MembershipEvent; record: number } | { kind: 'reject'; rejected: RejectedRecord };

/** A JSON feed is read whole: keep one under this size (a population goes as CSV, which streams). */
export const MAX_JSON_FEED_BYTES = 64 * 1024 * 1024;

/**
 * The file's events and rejects, in file order. `label` names the file in origins (the inbox
 * passes the name as received). A CSV header lacking `event_type` or `adherent_id`, or a JSON file
 * that does not parse, refuses the whole file (ReferenceDataError) before anything is yielded.
 */
export async function* readMembersFeed(file: string, label = file): AsyncGenerator<MembersFeedEvent> {
  if (/\.json$/i.test(file)) {
    yield* readJsonFeed(file, label);
    return;
  }
  for await (const ev of readCsvTable(file, CSV_SPEC)) {
    if (ev.kind === 'row') yield { kind: 'event', event: ev.row, record: ev.record };
    else yield { kind: 'reject', rejected: { ...ev.rejected, origin: { ...ev.rejected.origin, file: label } } };
  }
}

async function* readJsonFeed(file: string, label: string): AsyncGenerator<MembersFeedEvent> {
  const text = await readFile(file, 'utf8');
  if (text.length > MAX_JSON_FEED_BYTES) throw new ReferenceDataError('REFERENCE_INVALID', `${label}: a JSON membership feed is read whole; this one is over ${MAX_JSON_FEED_BYTES} bytes: send it as CSV`, { file: label });
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ReferenceDataError('REFERENCE_INVALID', `${label}: not JSON: ${(e as Error).message}`, { file: label }, [], e);
  }
  const records = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' && Array.isArray((doc as { events?: unknown }).events) ? (doc as { events: unknown[] }).events : null;
  if (records === null) throw new ReferenceDataError('REFERENCE_INVALID', `${label}: expected an array of membership records, or {"events": [...]}`, { file: label });
  for (const [i, record] of records.entries()) {
    const parsed = FileEventSchema.safeParse(jsonCandidate(record));
    const origin = { file: label, record: i + 1 };
    if (parsed.success) yield { kind: 'event', event: parsed.data, record: i + 1 };
    else yield { kind: 'reject', rejected: { origin, issues: fromZodIssues(parsed.error.issues, toColumn) } };
  }
}

/**
 * The file record's JSON form (snake_case, native types), for schemas/members.schema.json: the
 * fields of the event model under their file names, `event_id` and `effective_date` optional.
 */
export function membershipRecordJsonSchema(): z.ZodType {
  const shape = MembershipEventObject.shape as Record<string, z.ZodType>;
  const out: Record<string, z.ZodType> = {};
  for (const column of MEMBERSHIP_COLUMNS) {
    const field = COLUMN_TO_FIELD[column]!;
    const s = shape[field]!;
    out[column] = column === 'event_id' || column === 'effective_date' ? s.optional() : s;
  }
  return z.object(out).strict();
}
