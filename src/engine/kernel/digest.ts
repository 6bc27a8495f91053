/**
 * Input hashes on the kernel's path, equal to ../hash.ts `hashInputs` / `digestOf`: one level of
 * canonical tokens per object, nested objects by their digest. The kernel digests each reference
 * object (beneficiary, nomenclature entry, grid rule) once, caches the sorted key list of each
 * object shape (the act lines share one), and hashes a line's decision as a short text of digests
 * and counter values.
 */
import { Fnv, fnv1a64 } from '../hash.js';

// The keys ../hash.ts skips (documentation; `bounds` derived from hashed columns).
const SKIPPED = new Set(['note', 'label', 'bounds']);

export class Digester {
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly memo = new WeakMap<object, string>();

  private keysOf(record: Record<string, unknown>): string[] {
    const keys = Object.keys(record);
    const shape = keys.join(',');
    let sorted = this.sortedKeys.get(shape);
    if (!sorted) {
      sorted = [...keys].sort().filter((k) => !SKIPPED.has(k));
      if (this.sortedKeys.size < 4096) this.sortedKeys.set(shape, sorted);
    }
    return sorted;
  }

  private feed(h: Fnv, value: unknown): void {
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
        this.member(h, v);
        h.text(',');
      }
      return h.text(']');
    }
    h.text('{');
    const record = value as Record<string, unknown>;
    for (const k of this.keysOf(record)) {
      const v = record[k];
      if (v === undefined) continue;
      h.text(k);
      h.text(':');
      this.member(h, v);
      h.text(',');
    }
    h.text('}');
  }

  private member(h: Fnv, value: unknown): void {
    if (value !== null && typeof value === 'object') {
      h.text('#');
      return h.text(this.digest(value));
    }
    this.feed(h, value);
  }

  /** ../hash.ts digestOf(value). */
  digest(value: unknown): string {
    const h = new Fnv();
    this.feed(h, value);
    return h.hex();
  }

  /** The digest of a reference object, computed once (it must not change while the kernel lives). */
  digestOnce(value: object): string {
    let d = this.memo.get(value);
    if (d === undefined) {
      d = this.digest(value);
      this.memo.set(value, d);
    }
    return d;
  }
}

/** A nested object's token: `#` and the 16-hex digest of its token text. */
export function nested(text: string): string {
  return `#${fnv1a64(text)}`;
}

/** `hashInputs(value)` given the token text of `value`. */
export function hashOfTokens(text: string): string {
  return `fnv1a64:${fnv1a64(text)}`;
}

/** The token of a string value (a hash, a reason, a date). */
export function str(s: string): string {
  return `"${s}"`;
}

export const EMPTY_OBJECT_TOKEN = nested('{}');
