import { describe, expect, it } from 'vitest';
import { line, person, settle } from './helpers.js';

/**
 * The family a line is liquidated in is the membership file's (the beneficiary found by NIR +
 * rang): a line whose own member number names another adhérent is not paid blindly into that
 * family's ledger, it waits for a person (review) with both numbers in the reason.
 */
describe('member number on the line vs the membership file', () => {
  it('agreeing numbers: the line is liquidated (G 30.00 BR, RO 70 % = 21.00; BASE 100 % BR: AMC = 30.00 − 21.00 = 9.00)', () => {
    const s = settle(line({ amcMemberId: 'A001' }), person({ adherentId: 'A001' }));
    expect(s.status).toBe('paid');
    expect(s.amcAmount).toBe('9.00');
    expect(s.adherentId).toBe('A001');
  });

  it('disagreeing numbers: review, nothing paid, nothing consumed, the reason names both numbers', () => {
    const s = settle(line({ amcMemberId: 'A777' }), person({ adherentId: 'A001' }));
    expect(s.status).toBe('review');
    expect(s.amcAmount).toBe('0.00');
    expect(s.counters).toEqual([]);
    expect(s.adherentId).toBe('A001');
    expect(s.reason).toContain('A777');
    expect(s.reason).toContain('A001');
  });
});
