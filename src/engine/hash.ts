/**
 * `inputHash`: a fingerprint of what a decision read (line, beneficiary, rules, PMSS, counters
 * before), so a replay that changes nothing is detected without comparing settlements.
 *
 * Why FNV-1a and not SHA-256: the engine is pure (no node:crypto, no WebCrypto promise), the hash
 * only detects change — it is not a security boundary, nobody gains by forging a collision — and
 * FNV-1a is a few lines of integer maths. Two 32-bit lanes give 64 bits, which keeps accidental
 * collisions negligible for the few versions one line ever has.
 *
 * Speed: the hash runs on every line, so `hashInputs` walks the value and feeds the lanes directly
 * instead of building the canonical JSON text first (that string was the engine's top cost), and
 * nested objects enter by their digest (`feed`), which the kernel computes once per object.
 * `note` and `label` fields are documentation and are skipped: rewording a note changes no amount.
 */

const PRIME = 0x01000193;
// `bounds` (nomenclature) is derived from the row's own max_* columns, which are hashed.
const SKIPPED = new Set(['note', 'label', 'bounds']);

/** The keys a hash reads of an object with these own keys, in the order it reads them: sorted, documentation skipped. */
export function hashedKeys(keys: readonly string[]): string[] {
  return [...keys].sort().filter((k) => !SKIPPED.has(k));
}

/**
 * JSON with object keys sorted at every level, so equal data always gives the same text. The
 * hash's tokens follow it level by level (a nested object enters by its digest, see `feed`).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** Two 32-bit FNV-1a lanes over UTF-16 code units; `text` may be called piece by piece (a stream). */
export class Fnv {
  a = 0x811c9dc5;
  b = 0xcbf29ce4; // high half of the 64-bit FNV offset basis: a distinct second lane

  text(s: string): void {
    let { a, b } = this;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, PRIME);
      b = Math.imul(b ^ c ^ (a >>> 16), PRIME);
    }
    this.a = a;
    this.b = b;
  }

  hex(): string {
    // One string from the 16 digit codes: hex() runs several times per line (7 % of the kernel);
    // a byte table and 8 concatenations made 8 intermediate strings.
    const { a, b } = this;
    return String.fromCharCode(
      HEXC[a >>> 28]!, HEXC[(a >>> 24) & 15]!, HEXC[(a >>> 20) & 15]!, HEXC[(a >>> 16) & 15]!, HEXC[(a >>> 12) & 15]!, HEXC[(a >>> 8) & 15]!, HEXC[(a >>> 4) & 15]!, HEXC[a & 15]!,
      HEXC[b >>> 28]!, HEXC[(b >>> 24) & 15]!, HEXC[(b >>> 20) & 15]!, HEXC[(b >>> 16) & 15]!, HEXC[(b >>> 12) & 15]!, HEXC[(b >>> 8) & 15]!, HEXC[(b >>> 4) & 15]!, HEXC[b & 15]!,
    );
  }

  /** `fnv1a64:` and hex(), built as one flat string (a line's hash and input hash, kept in its record). */
  prefixedHex(): string {
    const { a, b } = this;
    return String.fromCharCode(
      102, 110, 118, 49, 97, 54, 52, 58,
      HEXC[a >>> 28]!, HEXC[(a >>> 24) & 15]!, HEXC[(a >>> 20) & 15]!, HEXC[(a >>> 16) & 15]!, HEXC[(a >>> 12) & 15]!, HEXC[(a >>> 8) & 15]!, HEXC[(a >>> 4) & 15]!, HEXC[a & 15]!,
      HEXC[b >>> 28]!, HEXC[(b >>> 24) & 15]!, HEXC[(b >>> 20) & 15]!, HEXC[(b >>> 16) & 15]!, HEXC[(b >>> 12) & 15]!, HEXC[(b >>> 8) & 15]!, HEXC[(b >>> 4) & 15]!, HEXC[b & 15]!,
    );
  }
}

const HEXC: readonly number[] = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** 64-bit FNV-1a (two 32-bit lanes) over the UTF-16 code units of `text`, as 16 hex digits. */
export function fnv1a64(text: string): string {
  const h = new Fnv();
  h.text(text);
  return h.hex();
}

/**
 * Feeds `value` as one level of canonical tokens (sorted keys, `note`/`label`/`bounds` skipped);
 * a nested object or array enters as `#` and its own 64-bit digest (a Merkle hash), not as its
 * tokens. Why: the reference objects a decision reads (beneficiary, nomenclature entry, grid rule)
 * are the same for thousands of lines, so the kernel (kernel/digest.ts) digests each once and a
 * line's hash costs a short text, not a walk of every object. (A flat object had the same tokens as
 * before v2: the act line's `fnv1a64:` hash, its `lineHash` until line2 below, did not change then.)
 */
function feed(h: Fnv, value: unknown): void {
  if (value === null || value === undefined) return h.text('n');
  switch (typeof value) {
    case 'string':
      h.text('"');
      h.text(value);
      return h.text('"');
    case 'number':
    case 'boolean':
      return h.text(String(value));
    case 'object':
      break;
    default:
      return h.text(String(value));
  }
  if (Array.isArray(value)) {
    h.text('[');
    for (const v of value) {
      member(h, v);
      h.text(',');
    }
    return h.text(']');
  }
  h.text('{');
  const record = value as Record<string, unknown>;
  for (const k of hashedKeys(Object.keys(record))) {
    if (record[k] === undefined) continue;
    h.text(k);
    h.text(':');
    member(h, record[k]);
    h.text(',');
  }
  h.text('}');
}

function member(h: Fnv, value: unknown): void {
  if (value !== null && typeof value === 'object') {
    h.text('#');
    return h.text(digestOf(value));
  }
  feed(h, value);
}

/** The 16-hex digest of a value (hashInputs without its prefix). */
export function digestOf(value: unknown): string {
  const h = new Fnv();
  feed(h, value);
  return h.hex();
}

/** `fnv1a64:` and the digest of what a decision read (see `feed`). */
export function hashInputs(value: unknown): string {
  return `fnv1a64:${digestOf(value)}`;
}

/**
 * `lineHash`, the act line's identity in the ledger (a record's `lineHash`, an annulation's
 * `reversed` and `seen`) and the line's token in every `inputHash` — definition "line2" (session 22,
 * bench/README.md "Session 22 — kernel"). It was `hashInputs(line)`: FNV-1a over the ≈ 440 UTF-16
 * units of the line's token text (`key:"value",` per field), one unit a step, ≈ 12 % of the
 * kernel's profile. line2 reads the same fields (own keys, sorted, undefined ones skipped, as
 * `feed`) but enters each key as one word (the FNV-1a 32 of its name, worked out once per key
 * list, combined with the value's kind and length) and each string value two UTF-16 units a step, a
 * small integer as one word: ≈ 130 steps a line. The step is FNV-1a's on a 32-bit word for lane `a`;
 * lane `b` takes the word's halves swapped, so both units of a pair reach every bit of the 64, and
 * a last mix of the lanes. It only detects change (same reasoning as `hashInputs`).
 * The prefix names the definition: a ledger keeps `fnv1a64:` line hashes written before, and a
 * comparison with one of them recomputes the old definition for that line (`sameLine`).
 */
export const LINE_HASH_PREFIX = 'line2:';

/** A key list met (act lines come in a handful: optional fields present or not): its order, the sorted order as indexes into it, each sorted key's word. */
interface LineShape {
  keys: string[];
  at: number[];
  tags: number[];
}

const KIND_NULL = 0;
const KIND_STRING = 1;
const KIND_NUMBER = 2;
const KIND_BOOLEAN = 3;
const KIND_NESTED = 4;
const KIND_INTEGER = 5;

/** FNV-1a 32 of a key's name: the word that stands for it. */
function keyTag(key: string): number {
  let a = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) a = Math.imul(a ^ key.charCodeAt(i), PRIME);
  return a;
}

/**
 * `lineHashOf` with its key lists kept (a memo of a pure function: the shapes met, most recent
 * first, at most 8): one per kernel.
 */
export class LineHasher {
  private readonly shapes: LineShape[] = [];
  private readonly values: unknown[] = [];

  private shapeOf(record: Record<string, unknown>): LineShape {
    const values = this.values;
    // for…in reads each field by the object's enum cache, in its own order (no keyed load per field).
    for (const shape of this.shapes) {
      const own = shape.keys;
      let i = 0;
      for (const k in record) {
        if (k !== own[i]) {
          i = -1;
          break;
        }
        values[i++] = record[k];
      }
      if (i === own.length) return shape;
    }
    const keys = Object.keys(record);
    const sorted = hashedKeys(keys);
    const shape: LineShape = { keys, at: sorted.map((k) => keys.indexOf(k)), tags: sorted.map(keyTag) };
    this.shapes.unshift(shape);
    if (this.shapes.length > 8) this.shapes.pop();
    for (let i = 0; i < keys.length; i++) values[i] = record[keys[i]!];
    return shape;
  }

  hash(line: object): string {
    const record = line as Record<string, unknown>;
    const { at, tags } = this.shapeOf(record);
    const values = this.values;
    let a = 0x811c9dc5;
    let b = 0xcbf29ce4;
    for (let k = 0; k < at.length; k++) {
      const v = values[at[k]!];
      if (v === undefined) continue;
      let text: string;
      let kind: number;
      if (typeof v === 'string') {
        text = v;
        kind = KIND_STRING;
      } else if (typeof v === 'number' && (v | 0) === v) {
        // A small integer (line number, rang, quantity): no text, its value one word after the key's.
        text = '';
        kind = KIND_INTEGER;
      } else if (v === null) {
        text = '';
        kind = KIND_NULL;
      } else if (typeof v === 'boolean') {
        text = v ? 't' : 'f';
        kind = KIND_BOOLEAN;
      } else if (typeof v === 'number') {
        text = String(v);
        kind = KIND_NUMBER;
      } else {
        text = typeof v === 'object' ? digestOf(v) : String(v);
        kind = KIND_NESTED;
      }
      const n = text.length;
      // The key, the value's kind and its length in one word: no separator needed between values.
      const w = tags[k]! ^ ((n << 3) | kind);
      a = Math.imul(a ^ w, PRIME);
      b = Math.imul(b ^ ((w << 16) | (w >>> 16)) ^ (a >>> 16), PRIME);
      if (kind === KIND_INTEGER) {
        const i = v as number;
        a = Math.imul(a ^ i, PRIME);
        b = Math.imul(b ^ ((i << 16) | (i >>> 16)) ^ (a >>> 16), PRIME);
        continue;
      }
      let i = 0;
      for (; i + 1 < n; i += 2) {
        const lo = text.charCodeAt(i);
        const hi = text.charCodeAt(i + 1);
        a = Math.imul(a ^ (lo | (hi << 16)), PRIME);
        b = Math.imul(b ^ (hi | (lo << 16)) ^ (a >>> 16), PRIME);
      }
      if (i < n) {
        const lo = text.charCodeAt(i);
        a = Math.imul(a ^ lo, PRIME);
        b = Math.imul(b ^ (lo << 16) ^ (a >>> 16), PRIME);
      }
    }
    a = Math.imul(a ^ (b >>> 15), PRIME);
    b = Math.imul(b ^ (a >>> 13), PRIME);
    return String.fromCharCode(
      108, 105, 110, 101, 50, 58,
      HEXC[a >>> 28]!, HEXC[(a >>> 24) & 15]!, HEXC[(a >>> 20) & 15]!, HEXC[(a >>> 16) & 15]!, HEXC[(a >>> 12) & 15]!, HEXC[(a >>> 8) & 15]!, HEXC[(a >>> 4) & 15]!, HEXC[a & 15]!,
      HEXC[b >>> 28]!, HEXC[(b >>> 24) & 15]!, HEXC[(b >>> 20) & 15]!, HEXC[(b >>> 16) & 15]!, HEXC[(b >>> 12) & 15]!, HEXC[(b >>> 8) & 15]!, HEXC[(b >>> 4) & 15]!, HEXC[b & 15]!,
    );
  }
}

/**
 * The line's `lineHash` (definition line2, above). A hasher of its own each call (the engine keeps no
 * module state): the decimal path pays a sort of the line's keys, small beside its decision; the
 * kernel keeps one `LineHasher`.
 */
export function lineHashOf(line: object): string {
  return new LineHasher().hash(line);
}

/**
 * Whether one of `recorded` — a ledger's `reversed` and `seen` hashes — names this line, whose line2
 * hash is `lineHash`. A hash written before line2 (`fnv1a64:`: it was `hashInputs(line)`) is
 * compared with the line's hash under that definition, so an annulled line's initial recorded by an
 * older build, seen again, is still recognised (computed only when such a hash is there).
 */
export function namesLine(recorded: readonly (string | undefined)[], lineHash: string, line: object): boolean {
  let legacy: string | undefined;
  for (const h of recorded) {
    if (h === undefined || h === '') continue;
    if (h === lineHash) return true;
    if (h.startsWith('fnv1a64:') && h === (legacy ??= hashInputs(line))) return true;
  }
  return false;
}
