/**
 * Input hashes on the kernel's path, equal to ../hash.ts `hashInputs` / `digestOf`: one level of
 * canonical tokens per object, nested objects by their digest. The kernel digests each reference
 * object (beneficiary, nomenclature entry, grid rule) once, caches the sorted key list of each
 * object shape (the act lines share one), and hashes a line's decision as a short text of digests
 * and counter values.
 */
import { fnv1a64, Fnv } from '../hash.js';

// ../hash.ts Fnv's lanes, inlined in flatDigest.
const FNV_PRIME = 0x01000193;
const FNV_A = new Fnv().a;
const FNV_B = new Fnv().b;

function hexOf(a: number, b: number, prefixed: boolean): string {
  const h = new Fnv();
  h.a = a;
  h.b = b;
  return prefixed ? h.prefixedHex() : h.hex();
}

// The keys ../hash.ts skips (documentation; `bounds` derived from hashed columns).
const SKIPPED = new Set(['note', 'label', 'bounds']);

/** One key list of flat records (flatDigest): the keys in the record's order, sorted, where each sorted key is in the record, `key:` of each sorted key. */
interface FlatShape {
  keys: string[];
  sorted: string[];
  at: number[];
  prefixes: string[];
}

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
      sorted = [...keys].sort().filter((k) => !SKIPPED.has(k));
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

  /** The act line shapes met, most recent first (a handful: optional fields present or not). */
  private readonly flatShapes: FlatShape[] = [];
  /** The record's values in its own key order, filled by flatDigest (reused: no list per line). */
  private readonly values: unknown[] = [];

  /** The shape of `record`, its values read into `this.values` in the record's own key order. */
  private flatShapeOf(record: Record<string, unknown>): FlatShape {
    const values = this.values;
    // for…in with record[k] reads each field by its index in the object's enum cache; the record
    // read by key name (record[keys[k]], the keys sorted) was a megamorphic keyed load per field,
    // ≈ 30 per line.
    for (const shape of this.flatShapes) {
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
    const sorted = this.keysOf(record);
    const shape: FlatShape = { keys, sorted, at: sorted.map((k) => keys.indexOf(k)), prefixes: sorted.map((k) => `${k}:`) };
    this.flatShapes.unshift(shape);
    if (this.flatShapes.length > 8) this.flatShapes.pop();
    for (let i = 0; i < keys.length; i++) values[i] = record[keys[i]!];
    return shape;
  }

  /**
   * `digest(record)` for a flat record (the act line: strings, numbers, booleans, null), fed to the
   * two FNV lanes piece by piece instead of building the ≈ 450-character token text first: the
   * line's digest was 12 % of the kernel's profile, most of it building and flattening that text.
   * Same tokens, same order, same digest (test/engine/kernel.test.ts compares with ../hash.ts
   * digestOf). A nested value falls back to `digest`.
   */
  flatDigest(record: Record<string, unknown>, prefixed = false): string {
    const { sorted: keys, at, prefixes } = this.flatShapeOf(record);
    const values = this.values;
    let a = FNV_A;
    let b = FNV_B;
    // '{'
    a = Math.imul(a ^ 123, FNV_PRIME);
    b = Math.imul(b ^ 123 ^ (a >>> 16), FNV_PRIME);
    for (let k = 0; k < keys.length; k++) {
      const v = values[at[k]!];
      if (v === undefined) continue;
      let token: string;
      let quoted = false;
      if (v === null) token = 'n';
      else if (typeof v === 'string') {
        token = v;
        quoted = true;
      } else if (typeof v === 'number' || typeof v === 'boolean') token = String(v);
      else return prefixed ? `fnv1a64:${this.digest(record)}` : this.digest(record);
      const p = prefixes[k]!;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        a = Math.imul(a ^ c, FNV_PRIME);
        b = Math.imul(b ^ c ^ (a >>> 16), FNV_PRIME);
      }
      if (quoted) {
        a = Math.imul(a ^ 34, FNV_PRIME);
        b = Math.imul(b ^ 34 ^ (a >>> 16), FNV_PRIME);
      }
      for (let i = 0; i < token.length; i++) {
        const c = token.charCodeAt(i);
        a = Math.imul(a ^ c, FNV_PRIME);
        b = Math.imul(b ^ c ^ (a >>> 16), FNV_PRIME);
      }
      if (quoted) {
        a = Math.imul(a ^ 34, FNV_PRIME);
        b = Math.imul(b ^ 34 ^ (a >>> 16), FNV_PRIME);
      }
      // ','
      a = Math.imul(a ^ 44, FNV_PRIME);
      b = Math.imul(b ^ 44 ^ (a >>> 16), FNV_PRIME);
    }
    // '}'
    a = Math.imul(a ^ 125, FNV_PRIME);
    b = Math.imul(b ^ 125 ^ (a >>> 16), FNV_PRIME);
    return hexOf(a, b, prefixed);
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
