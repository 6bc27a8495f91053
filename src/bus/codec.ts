import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { busVerify } from '../config.js';
import { fromZodIssues } from '../model/issues.js';
import { BusError } from './errors.js';
import { HeadersSchema, WIRE_HEADERS, type Headers } from './messages.js';
import { topicDef, type TopicDef, type TopicName } from './topics.js';
import type { BusRecord, Outgoing, OutgoingMessage, OutgoingText, ProduceOptions } from './bus.js';

/**
 * Validation and serialisation shared by both buses, so the embedded log and Kafka carry the same
 * key, header and value bytes.
 */
export interface PreparedMessage<V extends string | Uint8Array = string | Uint8Array> {
  key: string;
  /** JSON of the validated value: a string, or its UTF-8 bytes as a trusted producer gave them (OutgoingText) */
  value: V;
  headers: Record<string, string>;
  /** only when the caller set one */
  partition?: number;
}

let verifyOfProcess: boolean | undefined;

/** NOEMIE_BUS_VERIFY, read on first use and kept for the life of the process (as partitionCount). */
export function verifyTrusted(): boolean {
  return (verifyOfProcess ??= busVerify());
}

/** For tests of the rule itself: the value NOEMIE_BUS_VERIFY would give, until reset with undefined. */
export function setVerifyTrusted(value: boolean | undefined): void {
  verifyOfProcess = value;
}

/** Messages whose JSON, when given, is a string: their prepared values are strings. */
type OutgoingString<T extends TopicName> = OutgoingMessage<T> | (OutgoingText & { json: string });

export function prepare<T extends TopicName>(topic: T, messages: readonly OutgoingString<T>[], options?: ProduceOptions): PreparedMessage<string>[];
export function prepare<T extends TopicName>(topic: T, messages: readonly Outgoing<T>[], options?: ProduceOptions): PreparedMessage[];
export function prepare<T extends TopicName>(topic: T, messages: readonly Outgoing<T>[], options: ProduceOptions = {}): PreparedMessage[] {
  const def = topicDef(topic);
  const trusted = options.trusted === true;
  const check = !trusted || verifyTrusted();
  const out: PreparedMessage[] = new Array(messages.length);
  for (let index = 0; index < messages.length; index++) {
    const m = messages[index]!;
    if (m.value === undefined) {
      out[index] = prepareText(topic, def, m as OutgoingText, index, trusted, check);
      continue;
    }
    const given = (m as OutgoingMessage<T>).json;
    let value: unknown = m.value;
    let json: string;
    if (!check) {
      json = trusted && given !== undefined ? given : JSON.stringify(value);
    } else {
      const parsed = def.schema.safeParse(m.value);
      if (!parsed.success) throw invalid(topic, parsed.error, { index }, 'produce');
      if (trusted) {
        // Verify mode: the bytes production writes (the value as given), which must be the schema's output.
        json = given ?? JSON.stringify(value);
        if (!sameJson(json, parsed.data)) throw notSchemaOutput(topic, index);
      } else {
        value = parsed.data;
        json = JSON.stringify(value);
      }
    }
    const key = m.key ?? def.keyOf?.(value);
    if (key === undefined) throw new BusError('BUS_NO_KEY', `topic ${topic} has no key for message ${index}: pass one`, { topic, index });
    checkPartition(def, m.partition, index);
    const headers = wireHeaders(def.headersOf?.(value), m.headers);
    const p: PreparedMessage = { key, value: json, headers };
    if (m.partition !== undefined) p.partition = m.partition;
    out[index] = p;
  }
  return out;
}

/**
 * A message given as its JSON text (OutgoingText). Trusted: written as it is, keyed and headed as
 * given; verify mode parses the text, checks it as a trusted value, and that the headers given
 * include every header the value derives (a producer that heads its text wrongly fails its tests;
 * given over derived, as for a value, so the bytes are the value path's). Untrusted: the
 * text is parsed and checked, and the schema's output written, as for a value.
 */
function prepareText(topic: string, def: TopicDef, m: OutgoingText, index: number, trusted: boolean, check: boolean): PreparedMessage {
  if ((typeof m.json !== 'string' && !(m.json instanceof Uint8Array)) || typeof m.key !== 'string' || m.headers === undefined) {
    throw new BusError('BUS_INVALID_MESSAGE', `produce on ${topic}: message ${index} has no value: give one, or its JSON text with its key and headers`, { topic, index });
  }
  let json = m.json;
  let headers = wireHeaders(undefined, m.headers);
  if (check) {
    const text = textOfBytes(m.json);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new BusError('BUS_INVALID_MESSAGE', `produce on ${topic}: the text of message ${index} is not JSON`, { topic, index });
    }
    const parsed = def.schema.safeParse(value);
    if (!parsed.success) throw invalid(topic, parsed.error, { index }, 'produce');
    const derived = def.headersOf?.(parsed.data);
    if (!trusted) {
      json = JSON.stringify(parsed.data);
      headers = wireHeaders(derived, m.headers);
    } else {
      if (!sameJson(text, parsed.data)) throw notSchemaOutput(topic, index);
      // The value path writes the given headers over the derived ones: the text must carry them all.
      if (!isDeepStrictEqual(wireHeaders(derived, m.headers), headers)) {
        throw new BusError('BUS_INVALID_MESSAGE', `produce on ${topic}: trusted message ${index} lacks headers its value derives`, { topic, index });
      }
    }
  }
  checkPartition(def, m.partition, index);
  const p: PreparedMessage = { key: m.key, value: json, headers };
  if (m.partition !== undefined) p.partition = m.partition;
  return p;
}

function checkPartition(def: TopicDef, partition: number | undefined, index: number): void {
  if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0 && partition < def.partitions)) {
    throw new BusError('BUS_INVALID_MESSAGE', `partition ${partition} of message ${index} is not in 0..${def.partitions - 1}`, { topic: def.name, index });
  }
}

function notSchemaOutput(topic: string, index: number): BusError {
  return new BusError('BUS_INVALID_MESSAGE', `produce on ${topic}: trusted message ${index} is not what its schema gives (a field the schema would drop or change): build it from the schema's fields, or produce it untrusted`, { topic, index });
}

/** JSON texts of the same data, whatever the order of object keys. */
function sameJson(json: string, data: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(json), JSON.parse(JSON.stringify(data)));
}

/**
 * toWire({ ...derived, ...given }) without the intermediate objects: a field present in `given`
 * (even undefined) wins. Spelled out per field: property loads with a variable name over objects
 * of many shapes were most of its cost.
 */
function wireHeaders(derived: Headers | undefined, given: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const file = given !== undefined && 'file' in given ? given.file : derived?.file;
  if (file !== undefined) out[WIRE_HEADERS.file] = file;
  const entry = given !== undefined && 'entry' in given ? given.entry : derived?.entry;
  if (entry !== undefined) out[WIRE_HEADERS.entry] = entry;
  const record = given !== undefined && 'record' in given ? given.record : derived?.record;
  if (record !== undefined) out[WIRE_HEADERS.record] = String(record);
  const lineKey = given !== undefined && 'lineKey' in given ? given.lineKey : derived?.lineKey;
  if (lineKey !== undefined) out[WIRE_HEADERS.lineKey] = lineKey;
  return out;
}

export interface RawRecord {
  partition: number;
  offset: number;
  key: string;
  /** the value already parsed from JSON (see parseJson) */
  value: unknown;
  headers: Record<string, string | Uint8Array | undefined>;
  timestamp: number;
}

export function parseJson(bytes: string | Uint8Array, where: { topic: string; partition: number; offset: number }): unknown {
  try {
    // A Buffer (what kafkajs hands out) is decoded where it is: Buffer.from(buffer) would copy it first.
    return JSON.parse(typeof bytes === 'string' ? bytes : Buffer.isBuffer(bytes) ? bytes.toString('utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new BusError('BUS_INVALID_MESSAGE', `${where.topic}[${where.partition}]@${where.offset}: value is not JSON`, { ...where, offset: String(where.offset) }, { cause });
  }
}

/** Bytes from disk or broker back to a typed record; a value that fails its schema is an error, not a skip. */
export function decode<T extends TopicName>(topic: T, raw: RawRecord): BusRecord<T> {
  // The context of an error, built only for one: every consumed Kafka record comes through here.
  const where = () => ({ topic, partition: raw.partition, offset: String(raw.offset) });
  const parsed = topicDef(topic).schema.safeParse(raw.value);
  if (!parsed.success) throw invalid(topic, parsed.error, where(), 'consume');
  return {
    topic,
    partition: raw.partition,
    offset: raw.offset,
    key: raw.key,
    value: parsed.data as BusRecord<T>['value'],
    headers: checkedHeaders(raw.headers) ?? fromWire(raw.headers, where()),
    timestamp: raw.timestamp,
  };
}

/**
 * A Kafka record handed as its JSON to a consumer that checks it itself (ConsumeOptions.checksRaw):
 * its headers checked as `decode` checks them, its value what the consumer's `raw` reader read
 * from `json`, the record marked `unchecked` — the consumer checks `json` against the topic's
 * schema before any use.
 */
export function decodeUnchecked<T extends TopicName>(topic: T, raw: Omit<RawRecord, 'value'>, value: unknown, json: Uint8Array): BusRecord<T> {
  const where = () => ({ topic, partition: raw.partition, offset: String(raw.offset) });
  return {
    topic,
    partition: raw.partition,
    offset: raw.offset,
    key: raw.key,
    value: value as BusRecord<T>['value'],
    headers: checkedHeaders(raw.headers) ?? fromWire(raw.headers, where()),
    timestamp: raw.timestamp,
    json,
    unchecked: true,
  };
}

/**
 * fromWire's result for headers that plainly pass HeadersSchema — every present field a non-empty
 * string, `record` decimal digits giving a safe integer ≥ 1 — built without the schema pass and the
 * intermediate objects (zod's copy, the entries filtered): the same object, in the schema's field
 * order. Anything else (undefined) goes through fromWire, whose zod pass gives the verdict and the
 * error. Why: every consumed Kafka record has its headers checked; the zod pass and its objects were
 * ≈ 10 µs a record on the consuming thread (bench/README.md "Session 15 — kafka").
 */
function checkedHeaders(wire: Record<string, string | Uint8Array | undefined>): Headers | undefined {
  const out: Headers = {};
  const file = wireText(wire[WIRE_HEADERS.file]);
  if (file !== undefined) {
    if (file.length === 0) return undefined;
    out.file = file;
  }
  const entry = wireText(wire[WIRE_HEADERS.entry]);
  if (entry !== undefined) {
    if (entry.length === 0) return undefined;
    out.entry = entry;
  }
  const record = wireText(wire[WIRE_HEADERS.record]);
  if (record !== undefined) {
    if (!/^\d+$/.test(record)) return undefined;
    const n = Number(record);
    if (!Number.isSafeInteger(n) || n < 1) return undefined;
    out.record = n;
  }
  const lineKey = wireText(wire[WIRE_HEADERS.lineKey]);
  if (lineKey !== undefined) {
    if (lineKey.length === 0) return undefined;
    out.lineKey = lineKey;
  }
  return out;
}

/** A header's text: kafkajs hands Buffers, decoded where they are (Buffer.from(buffer) would copy first). */
function wireText(v: string | Uint8Array | undefined): string | undefined {
  return v === undefined || typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
}

/**
 * A record the embedded bus appended in THIS process: `prepare` checked its value and headers
 * against the topic's schemas just before it was written, and nothing else writes the log while
 * the bus's lock is held, so it goes back to a typed record without a second zod pass (validation
 * at the edges, not on every internal hop; README "Bus"). Records found on disk at open (an earlier
 * process, perhaps an earlier version, or a damaged file) and every Kafka record go through `decode`.
 */
export function decodeOwn<T extends TopicName>(topic: T, raw: RawRecord): BusRecord<T> {
  return {
    topic,
    partition: raw.partition,
    offset: raw.offset,
    key: raw.key,
    value: raw.value as BusRecord<T>['value'],
    headers: ownHeaders(raw.headers as Record<string, string>),
    timestamp: raw.timestamp,
  };
}

/** fromWire for headers `toWire` wrote from checked headers: the same object, without the schema pass. */
function ownHeaders(wire: Record<string, string>): Headers {
  const out: Headers = {};
  const file = wire[WIRE_HEADERS.file];
  if (file !== undefined) out.file = file;
  const entry = wire[WIRE_HEADERS.entry];
  if (entry !== undefined) out.entry = entry;
  const record = wire[WIRE_HEADERS.record];
  if (record !== undefined) out.record = Number(record);
  const lineKey = wire[WIRE_HEADERS.lineKey];
  if (lineKey !== undefined) out.lineKey = lineKey;
  return out;
}

export function toWire(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, wire] of Object.entries(WIRE_HEADERS) as [keyof Headers, string][]) {
    const v = h[field];
    if (v !== undefined) out[wire] = String(v);
  }
  return out;
}

export function fromWire(wire: Record<string, string | Uint8Array | undefined>, where: Record<string, unknown> = {}): Headers {
  const text = (name: string): string | undefined => wireText(wire[name]);
  const record = text(WIRE_HEADERS.record);
  const candidate = {
    file: text(WIRE_HEADERS.file),
    entry: text(WIRE_HEADERS.entry),
    record: record === undefined ? undefined : /^\d+$/.test(record) ? Number(record) : record,
    lineKey: text(WIRE_HEADERS.lineKey),
  };
  const parsed = HeadersSchema.safeParse(candidate);
  if (!parsed.success) throw new BusError('BUS_INVALID_MESSAGE', `bad headers: ${parsed.error.issues.map((i) => i.message).join('; ')}`, where);
  // Drop absent fields so records compare equal whichever bus carried them.
  return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as Headers;
}

function invalid(topic: string, error: z.ZodError, context: Record<string, unknown>, side: 'produce' | 'consume'): BusError {
  // No `input` in the context: it may be a NIR or an IBAN and contexts are logged as they are.
  const issues = fromZodIssues(error.issues).map(({ code, path, message }) => ({ code, path, message }));
  const summary = issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`)
    .join('; ');
  return new BusError('BUS_INVALID_MESSAGE', `${side} on ${topic}: message does not match the topic schema: ${summary}`, { ...context, topic, issues });
}

/** A message's JSON given as a string or as its UTF-8 bytes (`OutgoingText.json`), as a string. */
export function textOfBytes(text: string | Uint8Array): string {
  return typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
}
