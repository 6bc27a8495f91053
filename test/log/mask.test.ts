import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskPersonalData } from '../../src/log.js';
import { nirKey } from '../../src/model/act-line.js';

/**
 * The log masker hides NIR and IBAN shapes inside free text (error messages quoting a record, the
 * run summary) and must leave amounts alone: an expense of 1 000 000 000 000.79 € is not a NIR.
 */
describe('maskPersonalData', () => {
  // 1 85 05 78 006 084: man born May 1985, Yvelines (78), commune 006, order 084; key = 97 − (NIR mod 97).
  const nir = '1850578006084';
  const key = nirKey(nir);

  it.each([
    ['13-character NIR', `NIR ${nir} unknown`],
    ['15-character NIR with its key', `NIR ${nir}${key} unknown`],
    ['NIR written in groups', `NIR 1 85 05 78 006 084 ${key} unknown`],
    ['NIR with its key apart', `NIR ${nir} ${key} unknown`],
    ['Corsican NIR (2A)', 'NIR 185052A00608442 unknown'],
    ['Corsican NIR (2B), in groups', 'NIR 2 91 11 2B 033 005 17 unknown'],
    ['NIR in a quoted record', `raw "I;${nir};${key};1;"`],
  ])('masks a %s', (_what, text) => {
    const masked = maskPersonalData(text);
    expect(masked).not.toMatch(/\d{6}/);
    expect(masked).not.toContain('2A006');
    expect(masked).not.toContain('2B 033');
    expect(masked).toMatch(/\*{8}/);
  });

  it.each([
    ['IBAN compact', 'pay FR7630006000011234567890189 now', 'FR76'],
    ['IBAN in groups of four', 'pay FR76 3000 6000 0112 3456 7890 189 now', 'FR76'],
    ['foreign IBAN', 'pay DE89370400440532013000 now', 'DE89'],
  ])('masks an %s', (_what, text, country) => {
    const masked = maskPersonalData(text);
    expect(masked).toContain(`${country}****`);
    expect(masked).not.toMatch(/\d{4}/);
  });

  it.each([
    'expense 1000000000000.79 €',
    'expense 1 000 000 000 000.79 €',
    'expense 1.000.000.000.000,79 €',
    'expense 1000000000000,79 €',
    'RO 1851212345678.00 €',
    'total 2 851 212 345 678.42 €',
    'drop cpam-lot-0001.zip: 150 records, 147 accepted, 3 rejected, 12 décomptes, expense 12345678901.23 €, RO 9876543210.98 €',
  ])('leaves an amount alone: %s', (text) => {
    expect(maskPersonalData(text)).toBe(text);
  });

  it('masks in log messages and error messages, keeps amounts in the same message', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const logger = createLogger({ destination: out, level: 'info' });
    logger.info(`line of ${nir}${key}: expense 1000000000000.79 €, IBAN FR76 3000 6000 0112 3456 7890 189`);
    logger.error({ err: new Error(`bad NIR 1 85 05 78 006 084 ${key}`) }, 'failed');
    await new Promise((r) => setImmediate(r));
    expect(text).not.toContain(nir);
    expect(text).not.toContain('006 084');
    expect(text).not.toContain('3000 6000');
    expect(text).toContain('1000000000000.79 €');
  });
});
