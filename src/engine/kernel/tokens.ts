/**
 * The canonical token text `hashInputs` (../hash.ts) feeds to FNV, as one string: FNV-1a is a
 * stream, so hashing the concatenation gives the same hash as feeding the tokens one by one.
 * The kernel builds the text of each reference object (beneficiary, nomenclature entry, grid rule)
 * once and reuses it, so a line's input hash costs one pass over a short string instead of a walk
 * with a sort of every object's keys. Same hashes as today's engine: no republication.
 */
import { fnv1a64 } from '../hash.js';

// The keys ../hash.ts skips (documentation; `bounds` derived from hashed columns).
const SKIPPED = new Set(['note', 'label', 'bounds']);

/** Sorted key lists per object shape: the line and other hot objects share a few shapes. */
export class TokenWriter {
  private readonly sortedKeys = new Map<string, string[]>();

  private keysOf(record: Record<string, unknown>): string[] {
    const keys = Object.keys(record);
    const shape = keys.join('\u0000');
    let sorted = this.sortedKeys.get(shape);
    if (!sorted) {
      sorted = [...keys].sort().filter((k) => !SKIPPED.has(k));
      if (this.sortedKeys.size < 1024) this.sortedKeys.set(shape, sorted);
    }
    return sorted;
  }

  /** The text `feed` streams for `value` (hash.ts), exactly. */
  tokens(value: unknown): string {
    if (value === null || value === undefined) return 'n';
    switch (typeof value) {
      case 'string':
        return `"${value}"`;
      case 'number':
      case 'boolean':
        return String(value);
      case 'object':
        break;
      default:
        return String(value);
    }
    if (Array.isArray(value)) {
      let out = '[';
      for (const v of value) out += `${this.tokens(v)},`;
      return `${out}]`;
    }
    const record = value as Record<string, unknown>;
    let out = '{';
    for (const k of this.keysOf(record)) {
      const v = record[k];
      if (v === undefined) continue;
      out += `${k}:${this.tokens(v)},`;
    }
    return `${out}}`;
  }
}

/** `hashInputs(value)` given the token text of `value`. */
export function hashOfTokens(text: string): string {
  return `fnv1a64:${fnv1a64(text)}`;
}

/** The token text of a string value (a hash, a reason). */
export function str(s: string): string {
  return `"${s}"`;
}
