import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBeneficiaries } from '../../src/ingest/reference/beneficiaries.js';
import { loadPmss } from '../../src/ingest/reference/pmss.js';
import { ReferenceDataError, describeRejected } from '../../src/ingest/reference/csv-table.js';

/*
 * NIR keys computed by hand (key = 97 − NIR mod 97):
 *   1850375123456 = 97 × 19076032200 + 56 → key 41
 *   2870699123789 = 97 × 29594836327 + 70 → key 27
 *   1120575111222 = 97 × 11552320734 + 24 → key 73
 * IBANs: FR76 3000 6000 0112 3456 7890 189 and DE89 3704 0044 0532 0130 00 are the textbook valid
 * examples; changing the last digit breaks the mod-97 check.
 */
const HEADER = 'adherent_id;nir;nir_key;rang;birth_date;role;contracts;start;end;suspended;noemie;iban;bic;name';
const ADH = 'A001;1850375123456;41;1;1985-03-12;A;CCN-HLA-BASE|CCN-HLA-OPT2;2024-01-01;;2025-02-01..2025-02-28|2025-06-01..2025-06-30;Y;FR76 3000 6000 0112 3456 7890 189;BNPAFRPPXXX;Jean Dupont';
const SPOUSE = 'A001;2870699123789;27;1;1987-06-30;C;CCN-HLA-BASE;2024-01-01;2026-12-31;;Y;;;Marie Dupont';
const TWIN1 = 'A001;1120575111222;73;1;2012-05-01;E;CCN-HLA-BASE;2024-01-01;;;N;;;Paul Dupont';
const TWIN2 = 'A001;1120575111222;73;2;2012-05-01;E;CCN-HLA-BASE;2024-01-01;;;N;;;Luc Dupont';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'noemie-ref-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function csv(name: string, ...lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`, 'utf8');
  return path;
}

describe('loadBeneficiaries', () => {
  it('reads a family and indexes it by NIR + rang and by adhérent', async () => {
    const file = await csv('good.csv', HEADER, ADH, SPOUSE, TWIN1, TWIN2);
    const { index, rejected } = await loadBeneficiaries(file);
    expect(rejected).toEqual([]);
    expect(index.size).toBe(4);
    const jean = index.byNirRang('1850375123456', 1)!;
    expect(jean).toMatchObject({
      adherentId: 'A001', role: 'A', birthDate: '1985-03-12', contracts: ['CCN-HLA-BASE', 'CCN-HLA-OPT2'], end: null, noemie: true,
      suspended: [{ from: '2025-02-01', to: '2025-02-28' }, { from: '2025-06-01', to: '2025-06-30' }],
      iban: 'FR7630006000011234567890189', bic: 'BNPAFRPPXXX', name: 'Jean Dupont',
    });
    // twins share the NIR, the rang tells them apart
    expect(index.byNirRang('1120575111222', 2)?.name).toBe('Luc Dupont');
    expect(index.byNirRang('1120575111222', 3)).toBeUndefined();
    expect(index.byAdherent('A001').map((b) => b.name)).toEqual(['Jean Dupont', 'Marie Dupont', 'Paul Dupont', 'Luc Dupont']);
    expect(index.holder('A001')?.iban).toBe('FR7630006000011234567890189');
    expect(index.byNirRang('2870699123789', 1)).toMatchObject({ end: '2026-12-31', iban: null, bic: null, suspended: [] });
  });

  const bad: [string, string, string, RegExp][] = [
    ['nir', ADH.replace('1850375123456', '185037512345'), 'nir', /13 digits/],
    ['nir_key', ADH.replace(';41;', ';42;'), 'nir_key', /does not match/],
    ['rang', ADH.replace(';41;1;', ';41;0;'), 'rang', /./],
    ['birth_date', ADH.replace('1985-03-12', '1985-02-30'), 'birth_date', /calendar/],
    ['role', ADH.replace(';A;CCN', ';X;CCN'), 'role', /./],
    ['contracts', ADH.replace('CCN-HLA-BASE|CCN-HLA-OPT2', ''), 'contracts', /./],
    ['start', ADH.replace(';2024-01-01;;', ';01/01/2024;;'), 'start', /YYYY-MM-DD/],
    ['end', SPOUSE.replace('2026-12-31', '2023-12-31'), 'end', /before its start/],
    ['suspended', ADH.replace('2025-02-01..2025-02-28', '2025-02-01/2025-02-28'), 'suspended.0', /period/],
    ['suspended order', ADH.replace('2025-02-01..2025-02-28', '2025-02-28..2025-02-01'), 'suspended.0', /ends before/],
    ['noemie', ADH.replace(';Y;FR76', ';O;FR76'), 'noemie', /./],
    ['iban', ADH.replace('7890 189', '7890 188'), 'iban', /IBAN/],
    ['bic', ADH.replace('BNPAFRPPXXX', 'BNPA'), 'bic', /BIC/],
  ];
  it.each(bad)('rejects a bad %s naming file, line and field', async (_name, line, field, message) => {
    const file = await csv(`bad-${field}.csv`, HEADER, SPOUSE, line);
    const loaded = await loadBeneficiaries(file, { strict: false });
    expect(loaded.index.size).toBe(1); // the good row stays
    expect(loaded.rejected).toHaveLength(1);
    const [r] = loaded.rejected;
    expect(r!.origin).toEqual({ file, record: 3 });
    const issue = r!.issues.find((i) => i.path.join('.') === field);
    expect(issue, JSON.stringify(r!.issues)).toBeDefined();
    expect(issue!.message).toMatch(message);
    // strict (default) refuses the table with a message naming file, line and field
    const err = await loadBeneficiaries(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReferenceDataError);
    expect((err as ReferenceDataError).code).toBe('REFERENCE_INVALID');
    expect((err as Error).message).toContain(`${file} line 3, field ${field}`);
  });

  it('lists every issue of a row, not just the first', async () => {
    const line = ADH.replace('1985-03-12', '1985-13-01').replace(';41;', ';42;').replace('BNPAFRPPXXX', 'X');
    const { rejected } = await loadBeneficiaries(await csv('multi.csv', HEADER, line), { strict: false });
    expect(rejected[0]!.issues.map((i) => i.path.join('.')).sort()).toEqual(['bic', 'birth_date', 'nir_key']);
  });

  it('masks the NIR and the IBAN in messages', async () => {
    const { rejected } = await loadBeneficiaries(await csv('mask.csv', HEADER, ADH.replace('1850375123456', '185037512345').replace('7890 189', '7890 188')), { strict: false });
    const text = describeRejected(rejected[0]!).join('\n');
    expect(text).not.toContain('185037512345');
    expect(text).not.toContain('30006000011234567890188');
    expect(text).toContain('field nir');
    expect(text).toContain('field iban');
  });

  it('rejects a second row for the same NIR + rang and a row with the wrong field count', async () => {
    const file = await csv('dup.csv', HEADER, ADH, ADH.replace('Jean', 'Jeannot'), 'A002;1;2');
    const { index, rejected } = await loadBeneficiaries(file, { strict: false });
    expect(index.byNirRang('1850375123456', 1)?.name).toBe('Jean Dupont');
    expect(rejected.map((r) => [r.origin.record, r.issues[0]!.code])).toEqual([[3, 'duplicate'], [4, 'column_count']]);
  });

  it('refuses a header that lacks a column', async () => {
    const file = await csv('header.csv', HEADER.replace(';bic', ''), SPOUSE.replace(';;;Marie', ';;Marie'));
    await expect(loadBeneficiaries(file)).rejects.toMatchObject({ code: 'REFERENCE_HEADER', message: expect.stringContaining('bic') });
  });
});

describe('loadPmss', () => {
  it('reads year → PMSS as Money strings', async () => {
    const table = await loadPmss(await csv('pmss.csv', 'year;pmss', '2024;3864.00', '2025;3925', '2026;4005.5'));
    expect(table).toEqual({ 2024: '3864.00', 2025: '3925.00', 2026: '4005.50' });
  });

  it('reads the committed fixture', async () => {
    const table = await loadPmss(join(import.meta.dirname, '../../fixtures/pmss.csv'));
    expect(table[2025]).toBe('3925.00'); // domain.md §4: PMSS 2025 = 3 925 €
  });

  it.each([
    ['year', '25;3925.00', 'year'],
    ['amount', '2025;3 925,00', 'pmss'],
    ['negative', '2025;-3925.00', 'pmss'],
  ])('refuses a bad %s naming line and field', async (_n, row, field) => {
    const file = await csv(`pmss-${_n}.csv`, 'year;pmss', '2024;3864.00', row);
    await expect(loadPmss(file)).rejects.toThrow(`${file} line 3, field ${field}`);
  });

  it('refuses a repeated year', async () => {
    const file = await csv('pmss-dup.csv', 'year;pmss', '2025;3925.00', '2025;3900.00');
    await expect(loadPmss(file)).rejects.toThrow(/line 3, field year: year 2025 already given on line 2/);
  });
});
