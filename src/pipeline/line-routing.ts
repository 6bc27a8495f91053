import { Buffer } from 'node:buffer';
import type { LineMessage } from '../bus/messages.js';

/**
 * What the liquidation service's thread reads of a consumed line when the bus hands it the line's
 * JSON as stored (the embedded bus's `raw` consume, bus.ts `ConsumeOptions.raw`): the few fields it
 * routes and dedupes by — NIR and rang (the beneficiary's family), the member number (the family of
 * an unknown beneficiary, a settlement's key) and the input record's id. The line itself crosses to
 * a worker as those bytes and is parsed there (`RawLines`, pool-messages.ts): this thread no longer
 * parses each line (≈ 29 fields), packs it and clones it, and a batch no longer keeps 4 096 parsed
 * lines alive through its awaits (bench/README.md "Session 15 — liquidation").
 *
 * Read from the bytes without parsing them: the value is a line message this process produced
 * (checked by zod at ingest, by `produce`'s checks for other producers) — a flat act line, whose
 * field names are unique, and `recordId` beside it. On Kafka (`ConsumeOptions.checksRaw`) nobody
 * checked the bytes: the worker checks the line and that these fields are the line's
 * (task-lines.ts `checkedLine`), so a value that fools the scan fails its batch. A field name followed by `":` cannot occur
 * inside a JSON string (a quote there is escaped), so the first `"nir":"` is the line's NIR. A
 * value with an escape (`\`) in a field read here, or not found, is parsed whole instead: the
 * same fields, the slow way.
 */
export interface LineRouting {
  line: Pick<LineMessage['line'], 'nir' | 'rang' | 'amcMemberId'>;
  recordId?: string;
}

const NIR = Buffer.from('"nir":"');
const RANG = Buffer.from('"rang":');
const MEMBER = Buffer.from('"amcMemberId":"');
const RECORD_ID = Buffer.from('"recordId":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The routing fields of a line message given as its JSON (text or UTF-8 bytes). */
export function lineRoutingOf(json: string | Uint8Array): LineMessage {
  const routing = typeof json === 'string' ? null : fromBytes(Buffer.from(json.buffer, json.byteOffset, json.byteLength));
  return (routing ?? slow(json)) as unknown as LineMessage;
}

function fromBytes(b: Buffer): LineRouting | null {
  const nir = stringAfter(b, NIR);
  const member = stringAfter(b, MEMBER);
  const rangAt = b.indexOf(RANG);
  if (nir === null || member === null || rangAt < 0) return null;
  // rang: one digit 1–9 (ActLineSchema); anything else is read the slow way
  const digit = b[rangAt + RANG.length]! - 0x30;
  const next = b[rangAt + RANG.length + 1];
  if (!(digit >= 1 && digit <= 9) || (next !== 0x2c && next !== 0x7d)) return null;
  const out: LineRouting = { line: { nir, rang: digit, amcMemberId: member } };
  if (b.indexOf(RECORD_ID) >= 0) {
    const recordId = stringAfter(b, RECORD_ID);
    if (recordId === null) return null;
    out.recordId = recordId;
  }
  return out;
}

/** The string value after `key` (which ends with its opening quote); null: absent, or holds an escape. */
function stringAfter(b: Buffer, key: Buffer): string | null {
  const at = b.indexOf(key);
  if (at < 0) return null;
  const start = at + key.length;
  const end = b.indexOf(QUOTE, start);
  if (end < 0) return null;
  const slash = b.indexOf(BACKSLASH, start);
  if (slash >= 0 && slash < end) return null;
  return b.toString('utf8', start, end);
}

function slow(json: string | Uint8Array): LineRouting {
  const text = typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8');
  const { line, recordId } = JSON.parse(text) as LineMessage;
  const out: LineRouting = { line: { nir: line.nir, rang: line.rang, amcMemberId: line.amcMemberId } };
  if (recordId !== undefined) out.recordId = recordId;
  return out;
}
