import { z } from 'zod';
import { ActLineSchema } from '../model/act-line.js';
import { IsoDateSchema } from '../model/dates.js';
import { ReliquidationCauseSchema } from '../model/settlement.js';

/**
 * Values of the line, reject and changelog topics; settlements reuse src/model/settlement.ts.
 * schemas/topics/*.schema.json are generated from these by test/bus/topic-schemas.int.test.ts,
 * which fails when a file and its zod schema drift apart.
 */

export const OriginSchema = z
  .object({
    file: z.string().min(1).meta({ description: 'drop file name as received (the zip, or the single file)' }),
    entry: z.string().min(1).optional().meta({ description: 'entry name inside a ZIP archive' }),
    record: z.number().int().min(1).meta({ description: '1-based record (line) number within the file or entry' }),
  })
  .meta({ title: 'Origin' });

/** décompte-lines and invoice-lines: the validated act line and where it was read. */
export const LineMessageSchema = z
  .object({
    line: ActLineSchema,
    origin: OriginSchema,
    recordId: z
      .string()
      .regex(/^[0-9a-f]{16}:\d+:\d+$/)
      .optional()
      .meta({ description: 'stable id of the record: <first 16 hex of the drop SHA-256>:<part ordinal in the drop>:<line ordinal in the part>; the same drop read again gives the same ids (consumers drop an id already applied)' }),
  })
  .meta({
    title: 'Act line message',
    description:
      'One validated act line (formats.md §1b field names in camelCase) and its origin. Checks not expressible here, done by zod on both ends: nirKey = 97 − (NIR mod 97), careEnd ≥ careStart, dates are calendar dates, amounts positive.',
  });
export type LineMessage = z.infer<typeof LineMessageSchema>;

export const RecordIssueSchema = z.object({
  code: z.string(),
  path: z.array(z.union([z.string(), z.number()])),
  input: z.unknown().optional(),
  message: z.string(),
});

/** rejects: a record that failed validation, with every issue found (src/model/issues.ts RejectedRecord). */
export const RejectMessageSchema = z
  .object({
    origin: OriginSchema,
    issues: z.array(RecordIssueSchema).min(1),
    raw: z.string().optional().meta({ description: 'the record as read; personal data inside, never logged in clear' }),
  })
  .meta({ title: 'Rejected record' });
export type RejectMessage = z.infer<typeof RejectMessageSchema>;

/**
 * counters-changelog (and reconcile-changelog): the value of one piece of a stage's state after a
 * change, keyed by the piece's key. The liquidation service writes it to the same partition number
 * as the line that changed it (the state is partition-local) and rebuilds its state by reading the
 * partition to its end, keeping the last value per key (what compaction keeps). `value: null`
 * deletes the piece.
 *
 * Two forms, both read (session 16): the value as JSON inside the record (`{"value":{…}}`, what the
 * stages write now, without `key`: the record's own key says it), or as a string holding that JSON
 * (`{"key":"…","value":"{\"v\":3,…}"}`, what earlier builds wrote: every quote escaped, the key
 * twice). `changelogKey` / `changelogText` read either.
 */
export const CounterChangelogSchema = z
  .object({
    key: z.string().min(1).optional().meta({ description: "the piece's key; absent: the record's key (written since session 16)" }),
    value: z
      // the JSON forms first: a failed branch of a union costs zod an issue object per record (restore reads ~10⁵)
      .union([z.record(z.string(), z.unknown()), z.array(z.unknown()), z.string()])
      .nullable()
      .meta({ description: 'the piece after the change, as JSON (since session 16) or as a string holding its JSON (earlier builds); null = deleted' }),
    lineKey: z.string().optional().meta({ description: 'the line whose settlement made this change' }),
    version: z.number().int().min(1).optional().meta({ description: 'version of that settlement' }),
  })
  .meta({ title: 'Counter changelog entry' });
export type CounterChangelog = z.infer<typeof CounterChangelogSchema>;

/** A changelog record's piece key: the value's (earlier builds) or the record's own. */
export const changelogKey = (record: { key: string; value: Pick<CounterChangelog, 'key'> }): string => record.value.key ?? record.key;

/** A changelog value's JSON text, whichever form it was written in (null: a removal). */
export function changelogText(value: CounterChangelog['value']): string | null {
  return value === null || typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A changelog record's JSON as the stages write it (the `{ value }` form): the piece's JSON text put
 * in as it is, neither parsed nor escaped. `text` must be JSON (the stages' own JSON.stringify).
 */
export const changelogRecordJson = (text: string | null): string => `{"value":${text ?? 'null'}}`;

/**
 * reliquidations: "re-decide this family's lines whose care date is on or after `from`, and every
 * line of the family left in review or rejected, against the membership and reference data as
 * they are now" (src/pipeline/reliquidation-requests.ts). Keyed by adhérent, on the adhérent's
 * partition like its lines and ledger pieces.
 */
export const ReliquidationRequestSchema = z
  .object({
    requestId: z.string().min(1).meta({ description: 'id of the request, unique per (event, family): names it in logs' }),
    adherentId: z.string().min(1).max(20).meta({ description: 'the family whose lines are re-decided (the ledger key, and the message key)' }),
    from: IsoDateSchema.meta({ description: 'lines whose care date (careStart) is on or after this date are re-decided; review and rejected lines whatever their date' }),
    reason: ReliquidationCauseSchema,
    handover: z
      .object({
        from: z.string().min(1).max(20).meta({ description: 'the member number whose ledger kept these lines while their person was unknown' }),
        lines: z
          .record(z.string(), z.looseObject({ version: z.number().int().min(1), operation: z.literal('I'), status: z.string(), inputHash: z.string() }))
          .meta({ description: "lineKey → the line's record in that ledger (with its input): the family's ledger takes it as the line's current version, then decides it again" }),
      })
      .optional()
      .meta({ description: "lines kept under another member number while their person was unknown, handed over to this family, the person's (src/pipeline/README.md \"Re-liquidation\")" }),
  })
  .meta({ title: 'Re-liquidation request' });
export type ReliquidationRequest = z.infer<typeof ReliquidationRequestSchema>;

/**
 * Headers of every message (the envelope). Wire names are fixed here so the embedded log and Kafka
 * carry the same bytes; record travels as a decimal string in Kafka headers.
 */
export const HeadersSchema = z
  .object({
    file: z.string().min(1).optional().meta({ description: 'source drop file (wire header source-file)' }),
    entry: z.string().min(1).optional().meta({ description: 'ZIP entry (wire header source-entry)' }),
    record: z.number().int().min(1).optional().meta({ description: 'record number in the file or entry (wire header record)' }),
    lineKey: z.string().min(1).optional().meta({ description: 'source:decompte_id:line_no (wire header line-key)' }),
  })
  .meta({ title: 'Message headers' });
export type Headers = z.infer<typeof HeadersSchema>;

export const WIRE_HEADERS = { file: 'source-file', entry: 'source-entry', record: 'record', lineKey: 'line-key' } as const satisfies Record<keyof Headers, string>;
