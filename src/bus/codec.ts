import type { z } from 'zod';
import { fromZodIssues } from '../model/issues.js';
import { BusError } from './errors.js';
import { HeadersSchema, WIRE_HEADERS, type Headers } from './messages.js';
import { topicDef, type TopicName } from './topics.js';
import type { BusRecord, OutgoingMessage } from './bus.js';

/**
 * Validation and serialisation shared by both buses, so the embedded log and Kafka carry the same
 * key, header and value bytes.
 */
export interface PreparedMessage {
  key: string;
  /** JSON of the validated value */
  value: string;
  headers: Record<string, string>;
  /** only when the caller set one */
  partition?: number;
}

export function prepare<T extends TopicName>(topic: T, messages: readonly OutgoingMessage<T>[]): PreparedMessage[] {
  const def = topicDef(topic);
  return messages.map((m, index) => {
    const parsed = def.schema.safeParse(m.value);
    if (!parsed.success) throw invalid(topic, parsed.error, { index }, 'produce');
    const key = m.key ?? def.keyOf?.(parsed.data);
    if (key === undefined) throw new BusError('BUS_NO_KEY', `topic ${topic} has no key for message ${index}: pass one`, { topic, index });
    if (m.partition !== undefined && !(Number.isInteger(m.partition) && m.partition >= 0 && m.partition < def.partitions)) {
      throw new BusError('BUS_INVALID_MESSAGE', `partition ${m.partition} of message ${index} is not in 0..${def.partitions - 1}`, { topic, index });
    }
    const headers = toWire({ ...def.headersOf?.(parsed.data), ...m.headers });
    const out: PreparedMessage = { key, value: JSON.stringify(parsed.data), headers };
    if (m.partition !== undefined) out.partition = m.partition;
    return out;
  });
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
    return JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new BusError('BUS_INVALID_MESSAGE', `${where.topic}[${where.partition}]@${where.offset}: value is not JSON`, { ...where, offset: String(where.offset) }, { cause });
  }
}

/** Bytes from disk or broker back to a typed record; a value that fails its schema is an error, not a skip. */
export function decode<T extends TopicName>(topic: T, raw: RawRecord): BusRecord<T> {
  const where = { topic, partition: raw.partition, offset: String(raw.offset) };
  const parsed = topicDef(topic).schema.safeParse(raw.value);
  if (!parsed.success) throw invalid(topic, parsed.error, where, 'consume');
  return {
    topic,
    partition: raw.partition,
    offset: raw.offset,
    key: raw.key,
    value: parsed.data as BusRecord<T>['value'],
    headers: fromWire(raw.headers, where),
    timestamp: raw.timestamp,
  };
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
  const text = (name: string): string | undefined => {
    const v = wire[name];
    return v === undefined ? undefined : typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
  };
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
