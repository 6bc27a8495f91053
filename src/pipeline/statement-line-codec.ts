import { Packr } from 'msgpackr';
import type { BinaryCodec } from '../state/level-store.js';
import type { StatementSettlement } from '../statement/index.js';

/**
 * The value of `statements.line/<adherentId>␟<careDate>␟<lineKey>` (statement-index.ts): msgpack
 * with two structures fixed here, in the code — the line's fields in one order, and a
 * re-liquidation's cause. Every value is written in exactly that shape (an absent optional field is
 * a nil), so msgpackr writes each as a record of a known structure: no key names in the bytes
 * (≈ 200 bytes a line against ≈ 410 in JSON) and a decode that builds the object from its
 * structure (≈ 1.3 against 4 µs a line for JSON.parse: bench/README.md, "Session 11 — statements").
 * Nothing is stored beside the values (no shared-structure key to keep in step with them): the
 * structures are part of the format, like a schema. Adding a field means a THIRD structure
 * (appended: ids 0x40, 0x41 stay what they are), never a change of these two.
 *
 * Values written as JSON (session 10's homes, the LMDB → LevelDB move) still read: JSON text
 * starts with `{` (0x7b); these records start with their structure id 0x40, or — for a shape not
 * in the list, which `encode` never makes — msgpackr's inline record definition (0xd4 / 0xd5).
 */
const LINE = ['lineKey', 'nir', 'rang', 'adherentId', 'careDate', 'actCode', 'poste', 'status', 'reason', 'expense', 'roAmount', 'amcAmount', 'restToPay', 'version', 'operation', 'reliquidation', 'payee', 'psId', 'tp'];
const CAUSE = ['eventId', 'type', 'effectiveDate'];
const JSON_OBJECT = 0x7b;

/** A line as written: every field of LINE, in that order (the structure msgpackr matches by key order). */
interface Wire {
  lineKey: string;
  nir: string;
  rang: number;
  adherentId: string | null;
  careDate: string;
  actCode: string;
  poste: string | null;
  status: StatementSettlement['status'];
  reason: string | null;
  expense: string;
  roAmount: string;
  amcAmount: string;
  restToPay: string;
  version: number;
  operation: NonNullable<StatementSettlement['operation']> | null;
  reliquidation: { eventId: string; type: string; effectiveDate: string } | null;
  payee: string | null;
  psId: string | null;
  tp: NonNullable<StatementSettlement['tp']> | null;
}

// the structures are the format's: no new shared one is ever added (maxSharedStructures), and
// nothing is saved; an unexpected shape would be written with its definition inline, still readable
const packr = new Packr({ structures: [LINE.slice(), CAUSE.slice()], maxSharedStructures: 2 });

function encode(s: StatementSettlement): Uint8Array {
  const r = s.reliquidation;
  const wire: Wire = {
    lineKey: s.lineKey,
    nir: s.beneficiary.nir,
    rang: s.beneficiary.rang,
    adherentId: s.adherentId,
    careDate: s.careDate,
    actCode: s.actCode,
    poste: s.poste,
    status: s.status,
    reason: s.reason,
    expense: s.expense,
    roAmount: s.roAmount,
    amcAmount: s.amcAmount,
    restToPay: s.restToPay,
    version: s.version,
    operation: s.operation ?? null,
    reliquidation: r === undefined ? null : { eventId: r.eventId, type: r.type, effectiveDate: r.effectiveDate },
    payee: s.payee ?? null,
    psId: s.psId ?? null,
    tp: s.tp ?? null,
  };
  return packr.pack(wire);
}

/** The StatementSettlement a line's value holds, with the optional fields JSON would leave out left out, in statementSettlementOf's order. */
function decode(raw: Buffer): StatementSettlement {
  if (raw[0] === JSON_OBJECT) return JSON.parse(raw.toString('utf8')) as StatementSettlement;
  const w = packr.unpack(raw) as Wire;
  const out: StatementSettlement = {
    lineKey: w.lineKey, beneficiary: { nir: w.nir, rang: w.rang }, adherentId: w.adherentId, careDate: w.careDate, actCode: w.actCode, poste: w.poste,
    status: w.status, reason: w.reason, expense: w.expense, roAmount: w.roAmount, amcAmount: w.amcAmount, restToPay: w.restToPay, version: w.version,
  };
  if (w.operation !== null) out.operation = w.operation;
  if (w.reliquidation !== null) out.reliquidation = { eventId: w.reliquidation.eventId, type: w.reliquidation.type, effectiveDate: w.reliquidation.effectiveDate };
  if (w.payee !== null) out.payee = w.payee;
  if (w.psId !== null) out.psId = w.psId;
  if (w.tp !== null) out.tp = w.tp;
  return out;
}

export const statementLineCodec: BinaryCodec<StatementSettlement> = { encode, decode };

/** Index values back to back (statement-index.ts `encodedSettlementsIn`): value i is bytes[ends[i-1] ?? 0, ends[i]). */
export interface EncodedLines {
  bytes: Uint8Array;
  ends: number[];
}

/** The settlements of `encodedSettlementsIn`'s bytes, in order (statement-index.ts; decoded in a statement worker: statement-render.ts). */
export function decodeIndexedLines(lines: EncodedLines): StatementSettlement[] {
  const bytes = Buffer.from(lines.bytes.buffer, lines.bytes.byteOffset, lines.bytes.byteLength);
  const out: StatementSettlement[] = new Array(lines.ends.length);
  for (let i = 0, start = 0; i < lines.ends.length; i++) {
    const end = lines.ends[i]!;
    out[i] = decode(bytes.subarray(start, end));
    start = end;
  }
  return out;
}
