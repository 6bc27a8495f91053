/**
 * Input hashes on the kernel's path, equal to ../hash.ts `hashInputs` / `digestOf`: one level of
 * canonical tokens per object, nested objects by their digest. The kernel digests each reference
 * object (beneficiary, nomenclature entry, grid rule) once, caches the sorted key list of each
 * object shape, and hashes a line's decision as a short text of digests and counter values. The
 * act line's own hash is ../hash.ts `LineHasher` (lineHash line2).
 */
import { fnv1a64, Fnv, hashedKeys } from '../hash.js';

export class Digester {
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly memo = new WeakMap<object, string>();

  /** The last few key lists met (act lines come in a handful of shapes: optional fields present or not), most recent first, each with its sorted list. */
  private readonly recentKeys: string[][] = [];
  private readonly recentSorted: string[][] = [];

  private keysOf(record: Record<string, unknown>): string[] {
    // Compared with the recent shapes first, by for…in (the object's enum cache, no array made;
    // same order as Object.keys for a plain record): Object.keys, a join and a Map lookup by a
    // 300-character text per line when two shapes alternate, as they do in a drop.
    const recent = this.recentKeys;
    for (let s = 0; s < recent.length; s++) {
      const last = recent[s]!;
      let i = 0;
      for (const k in record) {
        if (k !== last[i]) {
          i = -1;
          break;
        }
        i++;
      }
      if (i === last.length) return this.recentSorted[s]!;
    }
    const keys = Object.keys(record);
    const shape = keys.join(',');
    let sorted = this.sortedKeys.get(shape);
    if (!sorted) {
      sorted = hashedKeys(keys);
      if (this.sortedKeys.size < 4096) this.sortedKeys.set(shape, sorted);
    }
    recent.unshift(keys);
    this.recentSorted.unshift(sorted);
    if (recent.length > 4) {
      recent.pop();
      this.recentSorted.pop();
    }
    return sorted;
  }

  /**
   * The token text of one level of `value` (../hash.ts feed), built as one string and hashed in
   * one pass: cheaper than a call into the hash per token for the ~30 fields of an act line.
   */
  private level(value: unknown): string {
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
      let t = '[';
      for (const v of value) t += `${this.member(v)},`;
      return `${t}]`;
    }
    const record = value as Record<string, unknown>;
    let t = '{';
    for (const k of this.keysOf(record)) {
      const v = record[k];
      if (v === undefined) continue;
      t += `${k}:${this.member(v)},`;
    }
    return `${t}}`;
  }

  private member(value: unknown): string {
    if (value !== null && typeof value === 'object') return `#${this.digest(value)}`;
    return this.level(value);
  }

  /** ../hash.ts digestOf(value). */
  digest(value: unknown): string {
    return fnv1a64(this.level(value));
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
  const h = new Fnv();
  h.text(text);
  return h.prefixedHex();
}

/** The token of a string value (a hash, a reason, a date). */
export function str(s: string): string {
  return `"${s}"`;
}

export const EMPTY_OBJECT_TOKEN = nested('{}');
