import { describe, expect, it } from 'vitest';
import { normaliseMoney } from '../../src/model/act-line.js';

/** The form every amount of an act line is written in, as it was computed before the fast path (split, BigInt). */
function reference(v: string): string {
  const neg = v.startsWith('-');
  const [int = '0', frac = ''] = (neg ? v.slice(1) : v).split('.');
  return `${neg ? '-' : ''}${BigInt(int).toString()}.${frac.padEnd(2, '0')}`;
}

describe('normaliseMoney', () => {
  it('gives the same text as the split-and-BigInt normalisation for every amount shape', () => {
    const ints = ['0', '00', '1', '01', '007', '10', '100', '123456789012', '0123456789012', '99999999999999999999'];
    const fracs = ['', '.0', '.5', '.05', '.00', '.50', '.99'];
    const seen: string[] = [];
    for (const sign of ['', '-']) for (const i of ints) for (const f of fracs) seen.push(`${sign}${i}${f}`);
    let x = 7;
    for (let n = 0; n < 20_000; n++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const zeros = '0'.repeat(x % 3 === 0 ? x % 4 : 0);
      const frac = ['', `.${x % 10}`, `.${String(x % 100).padStart(2, '0')}`][x % 3];
      seen.push(`${x % 11 === 0 ? '-' : ''}${zeros}${x % 1_000_000}${frac}`);
    }
    for (const v of seen) expect(normaliseMoney(v), v).toBe(reference(v));
    expect(normaliseMoney('012.3')).toBe('12.30');
    expect(normaliseMoney('-0.00')).toBe('-0.00');
  });
});
