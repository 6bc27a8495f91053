import { Buffer } from 'node:buffer';
import type { AppendEntry, StoredRecord } from './partition-log.js';
import { WIRE_HEADERS } from '../messages.js';

/**
 * The stored line of a record, `{"o":offset,"t":ms,"k":key,"h":{headers},"v":value}\n`, written and
 * read without going through JSON for the envelope.
 *
 * Writing: the envelope's bytes go straight into the append's buffer — the digits of `o` and `t`,
 * the key and each header as a JSON string copied byte by byte when it is printable ASCII with no
 * quote or backslash (then its JSON is itself between quotes), `JSON.stringify` for any other
 * string or for headers that are not plain string fields. The bytes are exactly those of
 * `{"o":${o},"t":${t},"k":${JSON.stringify(k)},"h":${JSON.stringify(h)},"v":` (test/bus/envelope.test.ts
 * compares both on every shape): no head string made per record, no JSON.stringify per record,
 * no UTF-8 encoding of a head (bench/README.md "Session 21 — bus").
 *
 * Reading: `scan` reads the envelope our writer writes — digits, strings with no escape and no
 * control character, headers under their known wire names — and says where the value starts; a
 * line in any other shape (an escape in the key, a header of another name, whitespace, a field in
 * another order) gives null and the caller parses it with JSON.parse as before, so what a line
 * reads as is what JSON.parse makes of it either way.
 */

// ---------------------------------------------------------------- writing

const HEAD_O = Buffer.from('{"o":');
const HEAD_T = Buffer.from(',"t":');
const HEAD_K = Buffer.from(',"k":');
const HEAD_H = Buffer.from(',"h":');
/** `,"v":` — where a stored line's value starts (the first in a line: a quote inside the key or a header is escaped) */
const HEAD_V = Buffer.from(',"v":');

/** `HEAD_*` are 5 bytes each: copied by hand (a Buffer method call costs more than 5 stores). */
function put5(buf: Buffer, at: number, b: Buffer): number {
  buf[at] = b[0]!;
  buf[at + 1] = b[1]!;
  buf[at + 2] = b[2]!;
  buf[at + 3] = b[3]!;
  buf[at + 4] = b[4]!;
  return at + 5;
}

/** The decimal digits of `v` at `at` (what `${v}` gives for a non-negative safe integer); the position after them. */
function putUint(buf: Buffer, at: number, v: number): number {
  if (!(Number.isSafeInteger(v) && v >= 0)) return at + buf.write(String(v), at, 'latin1');
  let len = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) len++;
  for (let i = at + len - 1; i >= at; i--) {
    buf[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return at + len;
}

/**
 * `JSON.stringify(s)` as UTF-8 at `at`; the position after it. Printable ASCII without `"` or `\`
 * is its own JSON: copied in the loop that checks it (our keys, header names and values); anything
 * else is written from JSON.stringify, which escapes it.
 */
function putJsonString(buf: Buffer, at: number, s: string): number {
  let n = at;
  buf[n++] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return at + buf.write(JSON.stringify(s), at);
    buf[n++] = c;
  }
  buf[n++] = 0x22;
  return n;
}

/** Headers JSON.stringify writes as `{"name":"value",…}`: own enumerable string fields with string values, on a plain object. */
function plainHeaders(h: Record<string, string>): boolean {
  if (Object.getPrototypeOf(h) !== Object.prototype) return false;
  for (const name in h) if (!Object.hasOwn(h, name) || typeof h[name] !== 'string') return false;
  return true;
}

/** Most bytes putJsonString writes for `s`: JSON.stringify escapes a UTF-16 unit into at most 6 ASCII bytes (`\uXXXX`). */
const jsonBound = (s: string) => 6 * s.length + 2;

/**
 * A process-wide scratch buffer the records of one append are encoded into, then copied out at
 * their exact size. Encoding is synchronous, so one buffer serves every log; it grows to the
 * largest append seen up to SCRATCH_MAX and stays there; a larger append gets a buffer of its own.
 */
const SCRATCH_MAX = 8 * 1024 * 1024;
let scratch = Buffer.allocUnsafe(256 * 1024);

/** The NDJSON lines of records base.. (all with timestamp `t`), and their byte positions (from `at`) into `positions`. */
export function encodeRecords(entries: readonly AppendEntry[], base: number, t: number, at: number, positions: Buffer): Buffer {
  // Headers that are not plain string fields (never ours) are written from JSON.stringify, made here to bound their size.
  let odd: (string | undefined)[] | undefined;
  let bound = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let hb = 2;
    if (plainHeaders(e.headers)) {
      for (const name in e.headers) hb += jsonBound(name) + jsonBound(e.headers[name]!) + 2;
    } else {
      odd ??= new Array<string | undefined>(entries.length);
      const json = JSON.stringify(e.headers);
      odd[i] = json;
      hb = 3 * json.length;
    }
    // 5 fixed 5-byte heads, two numbers (≤ 32 characters as text), `}\n`; UTF-8 takes at most 3 bytes per UTF-16 unit
    bound += 25 + 64 + 2 + jsonBound(e.key) + hb + (typeof e.value === 'string' ? 3 : 1) * e.value.length;
  }
  let buf = scratch;
  if (buf.length < bound) {
    buf = Buffer.allocUnsafe(Math.max(bound, 2 * scratch.length));
    if (buf.length <= SCRATCH_MAX) scratch = buf;
  }
  let n = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    writePos(positions, i, at + n);
    n = put5(buf, n, HEAD_O);
    n = putUint(buf, n, base + i);
    n = put5(buf, n, HEAD_T);
    n = putUint(buf, n, t);
    n = put5(buf, n, HEAD_K);
    n = putJsonString(buf, n, e.key);
    n = put5(buf, n, HEAD_H);
    const json = odd?.[i];
    if (json !== undefined) n += buf.write(json, n);
    else {
      buf[n++] = 0x7b; // {
      let first = true;
      for (const name in e.headers) {
        if (!first) buf[n++] = 0x2c; // ,
        first = false;
        n = putJsonString(buf, n, name);
        buf[n++] = 0x3a; // :
        n = putJsonString(buf, n, e.headers[name]!);
      }
      buf[n++] = 0x7d; // }
    }
    n = put5(buf, n, HEAD_V);
    const value = e.value;
    if (typeof value === 'string') n += buf.write(value, n);
    else {
      buf.set(value, n);
      n += value.length;
    }
    buf[n++] = 0x7d; // }
    buf[n++] = 0x0a; // \n
  }
  const out = Buffer.allocUnsafe(n);
  buf.copy(out, 0, 0, n);
  return out;
}

export const IDX = 8;

export function writePos(buf: Buffer, i: number, pos: number): void {
  // Two 32-bit halves: positions pass 4 GiB on big logs, and stay far below 2^53.
  buf.writeUInt32BE(Math.floor(pos / 2 ** 32), i * IDX);
  buf.writeUInt32BE(pos >>> 0, i * IDX + 4);
}

// ---------------------------------------------------------------- reading

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The wire header names our writer writes (messages.ts WIRE_HEADERS), as bytes beside the interned strings. */
const NAMES = Object.values(WIRE_HEADERS).map((s) => ({ s: s as string, b: Buffer.from(s) }));

/** The envelope of a stored line, read by `scan`; `at`: where the value starts. */
export interface Envelope {
  o: number;
  t: number;
  k: string;
  h: Record<string, string>;
  at: number;
}

/** `b[i..]` starts with the 5 bytes of `head` */
function at5(b: Buffer, i: number, head: Buffer): boolean {
  return b[i] === head[0] && b[i + 1] === head[1] && b[i + 2] === head[2] && b[i + 3] === head[3] && b[i + 4] === head[4];
}

/** End of the digits from `i` (a JSON integer: no leading zero unless alone, at most 15 digits: exact), or −1. */
function digitsEnd(b: Buffer, i: number, end: number): number {
  let j = i;
  while (j < end && b[j]! >= 0x30 && b[j]! <= 0x39) j++;
  if (j === i || j - i > 15 || (b[i] === 0x30 && j - i > 1)) return -1;
  return j;
}

function intOf(b: Buffer, i: number, j: number): number {
  let v = 0;
  for (; i < j; i++) v = v * 10 + (b[i]! - 0x30);
  return v;
}

/** End (the closing quote) of a JSON string whose opening quote is at `i − 1`, holding no escape and no control character; −1 otherwise. */
function plainStringEnd(b: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/**
 * The envelope of the line `b[start, end)` (without its newline) when it is in our writer's shape
 * up to `,"v":`, else null (the caller then parses the line with JSON.parse). Strings are decoded
 * as UTF-8, as JSON.parse of the line's text decodes them.
 */
export function scan(b: Buffer, start: number, end: number): Envelope | null {
  let i = start;
  if (!at5(b, i, HEAD_O)) return null;
  let j = digitsEnd(b, (i += 5), end);
  if (j < 0) return null;
  const o = intOf(b, i, j);
  if (!at5(b, j, HEAD_T)) return null;
  i = j + 5;
  j = digitsEnd(b, i, end);
  if (j < 0) return null;
  const t = intOf(b, i, j);
  if (!at5(b, j, HEAD_K) || b[j + 5] !== QUOTE) return null;
  i = j + 6;
  j = plainStringEnd(b, i, end);
  if (j < 0) return null;
  const k = b.toString('utf8', i, j);
  if (!at5(b, j + 1, HEAD_H) || b[j + 6] !== 0x7b) return null;
  i = j + 7;
  const h: Record<string, string> = {};
  if (b[i] === 0x7d) i++;
  else {
    for (;;) {
      if (b[i] !== QUOTE) return null;
      j = plainStringEnd(b, ++i, end);
      if (j < 0) return null;
      const name = knownName(b, i, j);
      if (name === undefined || b[j + 1] !== 0x3a || b[j + 2] !== QUOTE) return null;
      i = j + 3;
      j = plainStringEnd(b, i, end);
      if (j < 0) return null;
      // a name seen twice: the later value in the earlier place, as JSON.parse does
      h[name] = b.toString('utf8', i, j);
      i = j + 1;
      if (b[i] === 0x7d) {
        i++;
        break;
      }
      if (b[i++] !== 0x2c) return null;
    }
  }
  if (!at5(b, i, HEAD_V)) return null;
  i += 5;
  // the value and the record's closing brace: at least one byte of value
  if (i + 1 >= end || b[end - 1] !== 0x7d) return null;
  return { o, t, k, h, at: i };
}

function knownName(b: Buffer, i: number, j: number): string | undefined {
  for (const { s, b: nb } of NAMES) {
    if (nb.length !== j - i) continue;
    let k = 0;
    while (k < nb.length && b[i + k] === nb[k]) k++;
    if (k === nb.length) return s;
  }
  return undefined;
}

/** A whole stored line through JSON.parse: the record, or null when it is not one (damaged). */
export function parseWhole(bytes: Buffer): StoredRecord | null {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as Partial<StoredRecord> | null;
    if (r && Number.isInteger(r.o) && typeof r.t === 'number' && typeof r.k === 'string' && typeof r.h === 'object' && r.h !== null && 'v' in r) {
      return r as StoredRecord;
    }
  } catch {
    // not JSON: damaged
  }
  return null;
}

/**
 * The stored line `b[start, end)` as a record, its value parsed. Our envelope is read by `scan` and
 * only the value goes to JSON.parse; a value that does not parse alone, or a line in another shape,
 * is parsed whole (the same record, or null for a damaged line, as before).
 */
export function parseStored(b: Buffer, start: number, end: number): StoredRecord | null {
  const e = scan(b, start, end);
  if (e !== null) {
    try {
      return { o: e.o, t: e.t, k: e.k, h: e.h, v: JSON.parse(b.toString('utf8', e.at, end - 1)) as unknown };
    } catch {
      // not JSON alone: the whole line decides
    }
  }
  return parseWhole(b.subarray(start, end));
}

/**
 * The stored line `b[start, end)` with its value left as bytes (a view on the line, `j`): the
 * envelope read by `scan`, or for a line in another shape the envelope before its first `,"v":`
 * parsed by JSON.parse (the key and the headers before it are JSON strings, inside which a quote is
 * always escaped), or else the line read whole and its value written again as JSON.
 */
export function storedRaw(b: Buffer, start: number, end: number): StoredRecord | null {
  const e = scan(b, start, end);
  if (e !== null) return { o: e.o, t: e.t, k: e.k, h: e.h, v: undefined, j: b.subarray(e.at, end - 1) };
  const bytes = b.subarray(start, end);
  const at = bytes.indexOf(HEAD_V);
  if (at > 0 && bytes[bytes.length - 1] === 0x7d) {
    try {
      const r = JSON.parse(`${bytes.toString('utf8', 0, at)}}`) as Partial<StoredRecord> | null;
      if (r && Number.isInteger(r.o) && typeof r.t === 'number' && typeof r.k === 'string' && typeof r.h === 'object' && r.h !== null && !('v' in r)) {
        return { o: r.o!, t: r.t, k: r.k, h: r.h, v: undefined, j: bytes.subarray(at + HEAD_V.length, bytes.length - 1) };
      }
    } catch {
      // not the envelope we write: read the line whole below
    }
  }
  const whole = parseWhole(bytes);
  return whole && { ...whole, v: undefined, j: JSON.stringify(whole.v) };
}
