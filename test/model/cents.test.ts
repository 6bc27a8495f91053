import { describe, expect, it } from 'vitest';
import { centsOf, moneyOfCents, sumMoneyText } from '../../src/model/cents.js';

describe('money in integer cents (src/model/cents.ts)', () => {
  it('reads Money strings as whole cents, and nothing else', () => {
    // 1234.05 € = 1234 × 100 + 5 = 123405 cents; −0.07 € = −7 cents
    expect(centsOf('1234.05')).toBe(123405);
    expect(centsOf('-0.07')).toBe(-7);
    // the largest Money (12 digits): 999 999 999 999.99 € = 99 999 999 999 999 cents, exact
    expect(centsOf('999999999999.99')).toBe(99_999_999_999_999);
    // "-0.00" is zero, not a negative zero that would print "-0.00"
    expect(Object.is(centsOf('-0.00'), 0)).toBe(true);
    for (const notMoney of ['12.5', '12', '1e3', '12.345', ' 1.00', '', '1234567890123.00']) expect(centsOf(notMoney)).toBeNull();
  });

  it('writes cents back as Money, refusing anything that is not a whole number of cents', () => {
    expect(moneyOfCents(123405)).toBe('1234.05');
    expect(moneyOfCents(-7)).toBe('-0.07');
    expect(moneyOfCents(-100)).toBe('-1.00');
    expect(moneyOfCents(0)).toBe('0.00');
    expect(moneyOfCents(-0)).toBe('0.00');
    expect(() => moneyOfCents(1.5)).toThrow(RangeError);
    expect(() => moneyOfCents(2 ** 53)).toThrow(RangeError);
  });

  it('sums exactly: where floats drift, cents do not', () => {
    // 0.10 + 0.20 = 0.30 (as floats: 0.30000000000000004); 10 + 20 = 30 cents
    expect(sumMoneyText(['0.10', '0.20'])).toBe('0.30');
    // 19.99 − 20.00 + 0.01 = 0.00
    expect(sumMoneyText(['19.99', '-20.00', '0.01'])).toBe('0.00');
    expect(sumMoneyText([])).toBe('0.00');
    // cents and Money strings mixed: 150 cents + 2.25 € = 3.75 €
    expect(sumMoneyText([150, '2.25'])).toBe('3.75');
  });

  it('goes through decimal.js for what is not Money or leaves the exact range, with the exact result', () => {
    // "12.5" is not Money (one decimal): 12.5 + 0.25 = 12.75, formatted with two decimals
    expect(sumMoneyText(['12.5', '0.25'])).toBe('12.75');
    // 100 × 999 999 999 999.99 = 99 999 999 999 999.00 €: 9 999 999 999 999 900 cents, above 2^53
    const big = Array.from({ length: 100 }, () => '999999999999.99');
    expect(sumMoneyText(big)).toBe('99999999999999.00');
  });
});
