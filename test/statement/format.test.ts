import { describe, expect, it } from 'vitest';
import { euros, frenchDate } from '../../src/statement/format.js';

/**
 * The fast paths of `euros` and `frenchDate` (src/statement/format.ts) give the text the general
 * path gives: the general path as it was before them, written out here, on Money strings of every
 * length and sign, and on strings that are not Money.
 */
function generalEuros(money: string, space = ' '): string {
  const negative = money.startsWith('-');
  const [int = '0', frac = '00'] = (negative ? money.slice(1) : money).split('.');
  const grouped = int.length <= 3 ? int : int.replace(/\B(?=(\d{3})+(?!\d))/g, space);
  return `${negative ? '−' : ''}${grouped},${frac}${space}€`;
}
function generalDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

describe('statement format', () => {
  it('euros: what the general path prints, for Money strings and others', () => {
    const money: string[] = ['0.00', '-0.01', '5.00', '19.90', '999.99', '-999.99', '1000.00', '-1234.56', '1234567.89', '123456789012.34'];
    // a deterministic spread of amounts: every integer length from 1 to 12 digits, both signs
    let x = 7;
    for (let i = 0; i < 2000; i++) {
      x = (x * 48271) % 2147483647;
      const digits = String(x).repeat(2).slice(0, 1 + (i % 12));
      money.push(`${i % 3 === 0 ? '-' : ''}${digits}.${String(x % 100).padStart(2, '0')}`);
    }
    const notMoney = ['', '-', '.', '.5', '-.50', '12', '12.5', '12.345', '1.2.3', '--1.00', '1,00', 'abc', '12.3.45', '-12'];
    for (const m of [...money, ...notMoney]) {
      expect(euros(m)).toBe(generalEuros(m));
      expect(euros(m, '\u00a0')).toBe(generalEuros(m, '\u00a0'));
    }
    expect(euros('1234.50')).toBe('1 234,50 €');
    expect(euros('-5.00', '\u00a0')).toBe('−5,00\u00a0€');
  });

  it('frenchDate: what the general path prints, for ISO dates and others', () => {
    for (const d of ['2025-02-03', '1999-12-31', '2025-2-3', '2025-02-03T10:00:00Z', '20250203', '', 'abcd-ef-gh', '2025/02/03']) expect(frenchDate(d)).toBe(generalDate(d));
    expect(frenchDate('2025-02-03')).toBe('03/02/2025');
  });
});
