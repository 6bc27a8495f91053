import { Decimal } from 'decimal.js';

/**
 * Deterministic randomness for the fixture generator (Math.random is forbidden: a seed must give
 * the same bytes on every machine). mulberry32: 32-bit state, tiny, fast, good enough for test data
 * (not for anything secret). Floats here only choose things; amounts are drawn as integer cents.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** integer in [min, max], both included */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** picks by relative weight: `[['a', 3], ['b', 1]]` gives a three times out of four */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [value, w] of entries) {
      x -= w;
      if (x < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (!last) throw new Error('Rng.weighted: empty list');
    return last[0];
  }

  /** an amount in euros between two amounts (strings, 2 decimals), drawn as whole cents */
  money(min: string, max: string): Decimal {
    // the bounds of the draw as whole cents (exact integers); the amount itself stays a Decimal
    const lo = new Decimal(min).times(100).toNumber();
    const hi = new Decimal(max).times(100).toNumber();
    return new Decimal(this.int(lo, hi)).dividedBy(100);
  }

  /** `n` digits as a string (leading zeros kept) */
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i += 1) s += String(this.int(0, 9));
    return s;
  }

  /**
   * An independent stream for one concern (population, lines, bad records…) of a run, so adding
   * a draw in one does not shift the others: the same seed keeps the same families when lines change.
   */
  static derive(seed: number, label: string): Rng {
    return new Rng(hashSeed(seed, label));
  }
}

/** FNV-1a over the label, mixed with the seed. */
export function hashSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i += 1) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
