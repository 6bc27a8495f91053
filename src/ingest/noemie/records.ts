import type { Readable } from 'node:stream';
import type { RecordIssue } from '../../model/issues.js';
import type { DecodeInput } from '../types.js';
import { ENTITY_CODES, ENTITY_CODE_LENGTH, LAYOUT, RECORD_LENGTH, TERMINATOR, fieldSpec, isEntityCode, type EntityCode, type FieldSpec } from './layout.js';
import { splitRecords, type RawRecord } from './splitter.js';

/** A record cut into its entity and checked against the layout (length, terminator, padding). */
export interface NoemieRecord extends RawRecord {
  /** null when positions 1-3 hold no known entity code */
  entity: EntityCode | null;
  /** what the record breaks of the layout; empty when it is well formed */
  issues: RecordIssue[];
  /** written without the entity's optional trailing fields (its `@` at `shortTerminatorAt`): they are absent */
  short?: true;
}

// compared in place rather than slice + trim: this runs for every record (hot path)
const SPACES = ' '.repeat(RECORD_LENGTH);

export function parseRecord(raw: RawRecord): NoemieRecord {
  const code = raw.text.slice(0, ENTITY_CODE_LENGTH);
  const entity = isEntityCode(code) ? code : null;
  const issues: RecordIssue[] = [];
  if (raw.length > RECORD_LENGTH) {
    issues.push({
      code: 'record_too_long',
      path: [],
      input: raw.length,
      message: `record is ${raw.length} characters long, the record length is ${RECORD_LENGTH}; the excess was not read${utf8Hint(raw.text)}`,
    });
  } else if (raw.length < RECORD_LENGTH) {
    issues.push({ code: 'record_too_short', path: [], input: raw.length, message: `record is ${raw.length} characters long, the record length is ${RECORD_LENGTH}` });
  }
  if (entity === null) {
    issues.push({ code: 'unknown_entity', path: ['entity'], input: code, message: `unknown entity code "${code}", expected one of ${ENTITY_CODES.join(', ')}` });
    return { no: raw.no, text: raw.text, length: raw.length, entity, issues };
  }
  const { terminatorAt, shortTerminatorAt: shortAt } = LAYOUT[entity];
  // A record written before its entity's optional fields existed ends with its "@" where they begin.
  const short = shortAt !== terminatorAt && raw.text[terminatorAt - 1] !== TERMINATOR && raw.text[shortAt - 1] === TERMINATOR;
  const at = short ? shortAt : terminatorAt;
  if (raw.text.length >= at && raw.text[at - 1] !== TERMINATOR) {
    issues.push({
      code: 'bad_terminator',
      path: [],
      input: raw.text[at - 1],
      message: `entity ${entity} ends with "${TERMINATOR}" at position ${at}${shortAt !== at ? ` (or at ${shortAt} without its optional fields)` : ''}, found "${raw.text[at - 1]}" (a field is shifted?)`,
    });
  } else if (raw.text.length > at && !raw.text.startsWith(SPACES.slice(0, raw.text.length - at), at)) {
    issues.push({ code: 'bad_padding', path: [], input: raw.text.slice(at).trimEnd(), message: `entity ${entity} holds only spaces after position ${at}` });
  }
  if (short) return { no: raw.no, text: raw.text, length: raw.length, entity, issues, short: true };
  return { no: raw.no, text: raw.text, length: raw.length, entity, issues };
}

// "é" written as UTF-8 reads as "Ã©" in Latin-1 and makes the record one byte too long per accent
function utf8Hint(text: string): string {
  return /[\u00C2\u00C3][\u0080-\u00BF]/.test(text) ? ' (it looks UTF-8 encoded; NOEMIE-style files are ISO-8859-1)' : '';
}

/** The raw (padded) text of a field; shorter or empty when the record is cut short. */
export function rawField(rec: { text: string }, spec: FieldSpec): string {
  return rec.text.slice(spec.offset, spec.offset + spec.length);
}

/** Every record of a NOEMIE-style file, parsed, streamed; no control totals (for tools and tests). */
export async function* readRecords(stream: Readable | AsyncIterable<Buffer>): AsyncGenerator<NoemieRecord> {
  for await (const raw of splitRecords(stream, RECORD_LENGTH)) yield parseRecord(raw);
}

export interface NoemieHeader {
  emitter: string;
  amcNumber: string;
  fileId: string;
  /** YYYYMMDD as written */
  createdOn: string;
}

/** Reads the 000 record only (for summaries and logs); null when the file does not start with one. */
export async function readNoemieHeader(input: Pick<DecodeInput, 'open'>): Promise<NoemieHeader | null> {
  const stream = await input.open();
  try {
    for await (const rec of readRecords(stream)) {
      if (rec.entity !== '000' || rec.issues.length > 0) return null;
      const f = (name: string) => rawField(rec, fieldSpec('000', name)).trim();
      return { emitter: f('emitter'), amcNumber: f('amc_number'), fileId: f('file_id'), createdOn: f('created_on') };
    }
    return null;
  } finally {
    stream.destroy();
  }
}
