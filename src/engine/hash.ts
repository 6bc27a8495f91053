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
 * line's hash costs a short text, not a walk of every object. A flat object — the act line — has
 * the same tokens as before, so `lineHash` (the record's identity in the ledger) did not change.
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
  for (const k of Object.keys(record).sort()) {
    if (record[k] === undefined || SKIPPED.has(k)) continue;
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
