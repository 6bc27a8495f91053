import { Buffer } from 'node:buffer';
import { BusError } from '../bus/errors.js';
import { LineMessageSchema, type LineMessage } from '../bus/messages.js';
import { packUtf8 } from './task-bytes.js';
import { lineKeyOf, type ActLine } from '../model/act-line.js';
import type { IsoDate } from '../model/dates.js';
import type { Beneficiary } from '../model/reference.js';
import type { LineRequest } from './liquidate-lines.js';

/**
 * The lines of a pool task in the form that crosses the thread boundary cheaply (pool-messages.ts
 * `LiquidateTask.packed`). The structured clone writes every property NAME of every object it
 * copies: an act line is ≈ 29 names for ≈ 29 short values. Packed, each line is an array of its
 * values, the names sent once per distinct key order (a "shape": one per task in practice), so the
 * clone is about half the bytes and a third less of the service thread's time (bench/README.md
 * "Session 9 — service"). The worker rebuilds each line with the same keys in the same order and
 * the same values (`undefined` ones included): the engine sees the object the service had.
 * Beneficiaries stay objects: one per person, the clone copies a shared object once.
 */
export interface PackedLines {
  /** the key lists, in their objects' order */
  shapes: string[][];
  /** per line: its shape's index, then its values in that shape's order */
  rows: unknown[][];
  beneficiaries: (Beneficiary | null)[];
  asOf: IsoDate[];
}

/** Packs requests (none may ask for `newVersion`: a re-liquidation's tasks are sent as they are). */
export function packRequests(requests: readonly LineRequest[]): PackedLines {
  const shapes: string[][] = [];
  const rows: unknown[][] = new Array(requests.length);
  const beneficiaries: (Beneficiary | null)[] = new Array(requests.length);
  const asOf: IsoDate[] = new Array(requests.length);
  let shape: string[] | null = null;
  for (let r = 0; r < requests.length; r++) {
    const request = requests[r]!;
    if (request.newVersion !== undefined) throw new Error('packRequests: a request with newVersion is sent unpacked');
    const line = request.line as unknown as Record<string, unknown>;
    // Same keys in the same order as the shape in use? (one for...in, no array of keys built)
    let same = shape !== null;
    if (shape !== null) {
      let i = 0;
      for (const k in line) {
        if (k !== shape[i++]) {
          same = false;
          break;
        }
      }
      if (i !== shape.length) same = false;
    }
    if (!same) {
      shape = Object.keys(line);
      shapes.push(shape);
    }
    const row = new Array<unknown>(shape!.length + 1);
    row[0] = shapes.length - 1;
    for (let j = 0; j < shape!.length; j++) row[j + 1] = line[shape![j]!];
    rows[r] = row;
    beneficiaries[r] = request.beneficiary;
    asOf[r] = request.asOf;
  }
  return { shapes, rows, beneficiaries, asOf };
}

/** The requests back, each line with its keys in the order it had. */
export function unpackRequests(packed: PackedLines): LineRequest[] {
  const { shapes, rows, beneficiaries, asOf } = packed;
  const out: LineRequest[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const shape = shapes[row[0] as number]!;
    const line: Record<string, unknown> = {};
    for (let j = 0; j < shape.length; j++) line[shape[j]!] = row[j + 1];
    out[r] = { line: line as unknown as ActLine, beneficiary: beneficiaries[r]!, asOf: asOf[r]! };
  }
  return out;
}

/**
 * The lines of a pool task as the bus stored them (a `raw` consume of the embedded bus,
 * line-routing.ts): each line message's JSON, one after the other in one buffer that the service
 * transfers to the worker (no clone, no copy), which parses each and takes its line. Against packed
 * lines: the service's thread neither parses, packs nor clones a line (a memcpy of its bytes), and
 * the worker parses its JSON where it rebuilt it from the packed values.
 */
export interface RawLines {
  /** the messages' UTF-8 JSON, back to back */
  bytes: ArrayBuffer;
  /** per line, where its JSON ends in `bytes` (it starts where the one before ends) */
  ends: Uint32Array;
  beneficiaries: (Beneficiary | null)[];
  asOf: IsoDate[];
  /** lines nobody checked yet (Kafka, `BusRecord.unchecked`): the worker checks each (`checkedLine`) */
  check?: RawCheck;
}

/**
 * What the worker checks lines consumed unchecked against: the topic schema (LineMessageSchema,
 * both line topics'), and, per line, the routing the service read from its bytes without parsing
 * them (line-routing.ts) and the line key it filed the line under (the `line-key` header): a value
 * whose fields are not where the byte scan looked (a duplicate key, a nested object of the same
 * name) or whose header contradicts it would have been routed, deduplicated or filed by fields the
 * line does not have.
 */
export interface RawCheck {
  topic: string;
  partition: number;
  offsets: number[];
  /** per line, `routeOf` of what the service used */
  routes: string[];
}

/** The routing fields and line key of a line, as one string compared between the service and the worker. */
export function routeOf(nir: string, rang: number, amcMemberId: string, recordId: string | undefined, lineKey: string): string {
  return `${nir}\t${rang}\t${amcMemberId}\t${recordId ?? ''}\t${lineKey}`;
}

/** The task's lines as one buffer of their JSON (strings written as UTF-8, bytes copied as they are). */
export function packRaw(jsons: readonly (string | Uint8Array)[], beneficiaries: (Beneficiary | null)[], asOf: IsoDate[], check?: RawCheck): RawLines {
  const { buffer, ends } = packUtf8(jsons);
  const raw: RawLines = { bytes: buffer, ends, beneficiaries, asOf };
  if (check !== undefined) raw.check = check;
  return raw;
}

/**
 * The requests back: each message parsed, its line taken as the bus's JSON gives it (the same
 * object a parsing consumer got). Not checked again when the bus handed as raw only what `produce`
 * checked in this process, or what it checked with zod when it read it from disk; checked here
 * when it came unchecked (`check`: Kafka), as the consuming thread would have (`checkedLine`).
 */
export function unpackRaw(raw: RawLines, recordIds?: (string | null)[]): LineRequest[] {
  const text = Buffer.from(raw.bytes);
  const out: LineRequest[] = new Array(raw.ends.length);
  let start = 0;
  for (let r = 0; r < out.length; r++) {
    const end = raw.ends[r]!;
    const json = text.toString('utf8', start, end);
    const message = raw.check === undefined ? (JSON.parse(json) as LineMessage) : checkedMessage(json, raw.check, r);
    out[r] = { line: message.line, beneficiary: raw.beneficiaries[r]!, asOf: raw.asOf[r]! };
    // The message's record id (pool-messages.ts LedgerWrite.recordIds): what the service read from these bytes.
    if (recordIds !== undefined) recordIds[r] = message.recordId ?? null;
    start = end;
  }
  return out;
}

/**
 * A line consumed unchecked, checked as the bus checks a consumed record (codec.ts `parseJson`,
 * `decode`: JSON, then the topic's schema, whose output is the line) and against what the service
 * read of it (RawCheck). Anything wrong throws BUS_INVALID_MESSAGE: the task, then its batch, fails,
 * the subscription ends and nothing of the batch is written or committed — as when the consuming
 * thread found the record bad.
 */
export function checkedLine(json: string, check: RawCheck, r: number): ActLine {
  return checkedMessage(json, check, r).line;
}

/** `checkedLine`, the whole message (its record id with the line). */
function checkedMessage(json: string, check: RawCheck, r: number): LineMessage {
  const where = { topic: check.topic, partition: check.partition, offset: String(check.offsets[r]) };
  const at = `${check.topic}[${check.partition}]@${check.offsets[r]}`;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new BusError('BUS_INVALID_MESSAGE', `${at}: value is not JSON`, where, { cause });
  }
  const parsed = LineMessageSchema.safeParse(value);
  if (!parsed.success) {
    const summary = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
    throw new BusError('BUS_INVALID_MESSAGE', `consume on ${check.topic}: message does not match the topic schema: ${summary}`, where);
  }
  const { line, recordId } = parsed.data;
  if (routeOf(line.nir, line.rang, line.amcMemberId, recordId, lineKeyOf(line)) !== check.routes[r]) {
    throw new BusError('BUS_INVALID_MESSAGE', `${at}: the line's NIR, rang, member number, record id or line key is not what its bytes or its line-key header said`, where);
  }
  return parsed.data;
}
