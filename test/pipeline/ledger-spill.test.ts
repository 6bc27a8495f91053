import { describe, expect, it } from 'vitest';
import { KeyFilter, SpillCipher } from '../../src/pipeline/ledger-spill.js';

/** The encryption of `noemie liquidate`'s spilled line records (src/pipeline/ledger-spill.ts). */
describe('spill cipher', () => {
  it('reads each record back alone, whatever its offset in its spill, and no plaintext shows in what is stored', () => {
    const cipher = new SpillCipher();
    const nir = '1840994098201';
    // lengths around the 16-byte block size, so records start mid-block
    const texts = Array.from({ length: 40 }, (_, i) => `{"consumed":[{"key":"CCN-HLA-OPT2|${nir}-1|optique|budget|2025","amount":"${i}.00"}],"pad":"${'é'.repeat(i % 17)}"}`);
    const first = cipher.seal(texts);
    const second = cipher.seal(texts);
    for (const [i, text] of texts.entries()) {
      expect(cipher.open(first[i]!)).toBe(text);
      expect(cipher.open(second[i]!)).toBe(text);
      expect(first[i]!.includes(nir)).toBe(false);
      // the same text in two spills: two keystreams, two ciphertexts
      expect(first[i]!.subarray(8).equals(second[i]!.subarray(8))).toBe(false);
    }
    // another process (another key) cannot read it
    expect(new SpillCipher().open(first[3]!)).not.toBe(texts[3]);
  });
});

describe('spilled keys filter', () => {
  it('never says no to a key it was given, and says no to almost every other key', () => {
    const filter = new KeyFilter();
    const given = Array.from({ length: 50_000 }, (_, i) => `ADH${i % 997}\u001fN|011751001|D${i}|1`);
    expect(given.some((k) => filter.mayHave(k))).toBe(false);
    for (const key of given) filter.add(key);
    expect(given.every((k) => filter.mayHave(k))).toBe(true);
    // 50 000 keys in a layer sized for 2^20: false positives far under 1 %
    const others = Array.from({ length: 50_000 }, (_, i) => `ADH${i % 997}\u001fN|011751001|E${i}|1`);
    expect(others.filter((k) => filter.mayHave(k)).length).toBeLessThan(500);
  });
});
