import { Buffer } from 'node:buffer';

/**
 * A few top-level fields of a JSON object read from its UTF-8 bytes, without parsing the rest: for a
 * consumer's `raw` reader (bus.ts `ConsumeOptions.raw`) that needs a handful of fields of a large
 * value — the payment stage reads 9 of a settlement's ≈ 840 bytes (lineKey, version, status…), the
 * rest being its parts, counters and formulas. JSON.parse of the whole value built every nested
 * object, and a consumed batch of 4 096 of them lived through the batch's awaits (copied by each
 * scavenge, then promoted: bench/README.md "Session 18 — payments").
 *
 * The scan walks the object's top level only: a string is skipped to its closing quote (one not
 * escaped), an object or array to its matching bracket (strings inside skipped the same way), a
 * number / true / false / null to the next `,` or `}`. So a field name inside a nested value or
 * inside a string is never taken for a top-level one, whatever the field names or their order. A
 * wanted value that is a string holding an escape, or an object / array, is parsed by JSON.parse
 * from its own bytes (rare: the slow way for that field only). Anything the scan does not expect —
 * whitespace between tokens (JSON.stringify writes none), a key holding an escape, a truncated
 * value — makes it give up (null): the caller parses the value whole, the same fields the slow way.
 *
 * Not a library: `binary-extract` (npm) matches a key by its prefix (`tp` in `"tpClaimId"`), ends a
 * string value at its first `,` or `}` (our formula texts hold commas) and makes a pass per key;
 * `json-stream-extract` is slower than JSON.parse by its own account.
 */
export class JsonFields<K extends string> {
  /** the wanted keys' bytes, by byte length (a key is compared only with the wanted ones of its length) */
  private readonly byLength = new Map<number, { index: number; bytes: Buffer }[]>();

  constructor(readonly keys: readonly K[]) {
    keys.forEach((key, index) => {
      const bytes = Buffer.from(key, 'utf8');
      const list = this.byLength.get(bytes.length) ?? [];
      list.push({ index, bytes });
      this.byLength.set(bytes.length, list);
    });
  }

  /**
   * The wanted fields' values, in the order of `keys` (undefined: absent), or null when the bytes
   * are not a JSON object in the shape the scan reads (see the class comment).
   */
  read(b: Uint8Array): unknown[] | null {
    const n = b.length;
    const out: unknown[] = new Array(this.keys.length);
    let i = 0;
    if (b[i++] !== LBRACE) return null;
    if (b[i] === RBRACE) return i + 1 === n ? out : null;
    for (;;) {
      // a key: no escape in it (a wanted key has none; any key holding one is left to JSON.parse)
      if (b[i] !== QUOTE) return null;
      let keyEnd = i + 1;
      while (keyEnd < n && b[keyEnd] !== QUOTE && b[keyEnd] !== BACKSLASH) keyEnd++;
      if (keyEnd >= n || b[keyEnd] !== QUOTE) return null;
      const wanted = this.match(b, i + 1, keyEnd);
      i = keyEnd + 1;
      if (b[i++] !== COLON) return null;
      const start = i;
      const c = b[i];
      let escaped = false;
      if (c === QUOTE) {
        // a string: to the quote that closes it, an escaped character skipped with its backslash
        i++;
        while (i < n && b[i] !== QUOTE) {
          if (b[i] === BACKSLASH) {
            escaped = true;
            i++;
          }
          i++;
        }
        if (i >= n) return null;
        i++;
      } else if (c === LBRACE || c === LBRACKET) {
        i = containerEnd(b, i);
        if (i < 0) return null;
      } else {
        // a number, true, false or null: nothing else starts a JSON value (whitespace before one is not read)
        if (!(c === MINUS || (c! >= 0x30 && c! <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e)) return null;
        while (i < n && b[i] !== COMMA && b[i] !== RBRACE) i++;
      }
      if (wanted >= 0) {
        const v = valueOf(b, start, i, c!, escaped);
        if (v === INVALID) return null;
        out[wanted] = v;
      }
      const sep = b[i++];
      if (sep === RBRACE) return i === n ? out : null;
      if (sep !== COMMA) return null;
    }
  }

  private match(b: Uint8Array, start: number, end: number): number {
    const list = this.byLength.get(end - start);
    if (list === undefined) return -1;
    for (const { index, bytes } of list) {
      let k = 0;
      while (k < bytes.length && b[start + k] === bytes[k]) k++;
      if (k === bytes.length) return index;
    }
    return -1;
  }
}

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const INVALID = Symbol('invalid');

/** The position after the bracket closing the object or array opened at `at` (strings inside skipped, escapes with them), or −1. */
function containerEnd(b: Uint8Array, at: number): number {
  let depth = 0;
  const n = b.length;
  for (let i = at; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) {
      i++;
      while (i < n && b[i] !== QUOTE) {
        if (b[i] === BACKSLASH) i++;
        i++;
      }
    } else if (c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

const view = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Short ASCII strings made once: a consumed settlement's fields are mostly a few values seen again
 * and again (a status, a date, an act code, a member number, an amount), and making each with a
 * Buffer method (a native call, ≈ 100 ns) was most of a raw reader's cost after the scan. A table of
 * the last string made per hash slot of its bytes (FNV-1a): a hit compares the bytes and hands the
 * same string again (strings are immutable: nobody can tell), a miss makes it and takes the slot.
 * Bounded: SLOTS strings of at most INTERN_MAX characters (bench/README.md "Session 21 — bus").
 */
const INTERN_MAX = 24;
const SLOTS = 4096;
const internBytes = new Uint8Array(SLOTS * INTERN_MAX);
const internLength = new Uint8Array(SLOTS);
const internString: string[] = new Array<string>(SLOTS).fill('');

/** The UTF-8 text of `b[start, end)`, as `Buffer.toString('utf8', start, end)` gives it. */
export function textAt(b: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len > INTERN_MAX) return view(b).toString('utf8', start, end);
  let h = 0x811c9dc5;
  let high = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    high |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  // not ASCII: UTF-8 decoded, not kept
  if (high >= 0x80) return view(b).toString('utf8', start, end);
  const slot = (h >>> 0) & (SLOTS - 1);
  const at = slot * INTERN_MAX;
  if (internLength[slot] === len) {
    let k = 0;
    while (k < len && internBytes[at + k] === b[start + k]) k++;
    if (k === len) return internString[slot]!;
  }
  const s = view(b).toString('latin1', start, end);
  for (let k = 0; k < len; k++) internBytes[at + k] = b[start + k]!;
  internLength[slot] = len;
  internString[slot] = s;
  return s;
}

function valueOf(b: Uint8Array, start: number, end: number, first: number, escaped: boolean): unknown {
  if (first === QUOTE && !escaped) return textAt(b, start + 1, end - 1);
  // a small non-negative integer (a version): its digits, without a string made of them
  if (end - start <= 15 && first >= 0x30 && first <= 0x39 && (first !== 0x30 || end - start === 1)) {
    let v = 0;
    let i = start;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) v = v * 10 + (b[i++]! - 0x30);
    if (i === end) return v;
  }
  // null, true, false from their bytes: no string made to compare
  const len = end - start;
  if (len === 4 && first === 0x6e && b[start + 1] === 0x75 && b[start + 2] === 0x6c && b[start + 3] === 0x6c) return null;
  if (len === 4 && first === 0x74 && b[start + 1] === 0x72 && b[start + 2] === 0x75 && b[start + 3] === 0x65) return true;
  if (len === 5 && first === 0x66 && b[start + 1] === 0x61 && b[start + 2] === 0x6c && b[start + 3] === 0x73 && b[start + 4] === 0x65) return false;
  try {
    return JSON.parse(view(b).toString('utf8', start, end)) as unknown;
  } catch {
    return INVALID;
  }
}
