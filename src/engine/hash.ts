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
 * instead of building the canonical JSON text first (that string was the engine's top cost).
 * `note` and `label` fields are documentation and are skipped: rewording a note changes no amount.
 */

const PRIME = 0x01000193;
// `bounds` (nomenclature) is derived from the row's own max_* columns, which are hashed.
const SKIPPED = new Set(['note', 'label', 'bounds']);

/** JSON with object keys sorted at every level, so equal data always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

class Fnv {
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
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

/** 64-bit FNV-1a (two 32-bit lanes) over the UTF-16 code units of `text`, as 16 hex digits. */
export function fnv1a64(text: string): string {
  const h = new Fnv();
  h.text(text);
  return h.hex();
}

/** Feeds the same token stream canonicalJson would print, skipping documentation keys. */
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
      feed(h, v);
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
    feed(h, record[k]);
    h.text(',');
  }
  h.text('}');
}

export function hashInputs(value: unknown): string {
  const h = new Fnv();
  feed(h, value);
  return `fnv1a64:${h.hex()}`;
}
