import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CSV_COLUMN_NAMES } from '../../src/model/act-line.js';
import type { Settlement } from '../../src/model/settlement.js';
import { runNoemie } from '../support/cli.js';

// the reference data these tests are written for, named explicitly (no command falls back to fixtures/)
const FIXTURE_REFERENCE = ['--grids', 'fixtures/grids', '--nomenclature', 'fixtures/nomenclature.csv', '--pmss', 'fixtures/pmss.csv'];
const NIR = '1840994098201'; // key 97 − (1840994098201 mod 97) = 96
const BENEFICIARIES = [
  'adherent_id;nir;nir_key;rang;birth_date;role;contracts;start;end;suspended;noemie;iban;bic;name',
  `ADH1;${NIR};96;1;1984-09-15;A;CCN-HLA-BASE|CCN-HLA-OPT2;2017-09-01;;;Y;FR7618206635594884209105315;AGRIFRPP882;PETIT Philippe`,
].join('\n');

function csvLine(over: Record<string, string>): string {
  const base: Record<string, string> = {
    decompte_id: 'D1', line_no: '1', operation: 'I', caisse: '011751001', ro_payment_date: '2025-03-12', nir: NIR, nir_key: '96',
    rang: '1', birth_date: '1984-09-15', amc_member_id: 'ADH1', ps_id: '751234567', ps_specialty: '01', ps_dptm: 'Y', act_code: 'G',
    side: '', care_start: '2025-03-10', care_end: '2025-03-10', quantity: '1', coefficient: '1', expense: '40.00', br: '30.00',
    ro_rate: '70', ro_amount: '21.00', pf: '2.00', franchise: '0.00', pathway: 'I', tp: '00', accident: 'N',
  };
  const row = { ...base, ...over };
  return CSV_COLUMN_NAMES.map((c) => row[c] ?? '').join(';');
}

const run = runNoemie;

describe('noemie liquidate / estimate', () => {
  it('liquidates a drop to NDJSON (domain.md example 1) and a rerun with --state publishes nothing new', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-liq-'));
    await writeFile(join(dir, 'ben.csv'), BENEFICIARIES);
    // Given a GP consultation, OPTAM: BR 30, FR 40, RO 70 % → MRn 21, PF 2 (the RO pays 19),
    // and a line with an invalid date (rejected, the rest goes on).
    await writeFile(join(dir, 'drop.csv'), [CSV_COLUMN_NAMES.join(';'), csvLine({}), csvLine({ line_no: '2', care_start: '2025-02-30' })].join('\n'));
    const args = ['liquidate', '--in', join(dir, 'drop.csv'), '--beneficiaries', join(dir, 'ben.csv'), '--state', join(dir, 'state.json'), '--as-of', '2025-04-01', ...FIXTURE_REFERENCE];

    const first = await run(args);
    expect(first.code).toBe(0);
    const settlements = first.out.trim().split('\n').map((l) => JSON.parse(l) as Settlement);
    // Then: socle Base 100 % BR → min(30 − 21, 40 − 21) = 9; Option 2 DPTM 220 % → G 66 → min(45, 19) = 19,
    // surco 19 − 9 = 10; rest = 40 − 19 (RO net) − 19 = 2 (the PF, never covered).
    expect(settlements).toHaveLength(1);
    expect(settlements[0]).toMatchObject({ status: 'paid', amcAmount: '19.00', restToPay: '2.00', roAmount: '19.00', version: 1, payee: 'member' });
    expect(settlements[0]!.parts.map((p) => [p.contract, p.amount])).toEqual([['CCN-HLA-BASE', '9.00'], ['CCN-HLA-OPT2', '10.00']]);
    expect(first.err).toMatch(/rejected drop\.csv#3: care_start/);

    const second = await run(args);
    const again = second.out.trim().split('\n').map((l) => JSON.parse(l) as Settlement);
    expect(again[0]).toMatchObject({ amcAmount: '19.00', version: 1, inputHash: settlements[0]!.inputHash });
  });

  it('a surgeon fee with the FINESS of the clinic is liquidated (and quoted) under the hospital rows, the same act without it under town care', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-finess-'));
    await writeFile(join(dir, 'ben.csv'), BENEFICIARIES);
    // Given CCAM surgery ADC by an OPTAM surgeon (specialty 04): BR 100, RO 70 % → MRn 70, FR 250; line 1 carries a FINESS, line 2 not
    const fee = { act_code: 'ADC', ps_specialty: '04', expense: '250.00', br: '100.00', ro_amount: '70.00', pf: '0.00' };
    const rows = [`${CSV_COLUMN_NAMES.join(';')};finess`, `${csvLine(fee)};750300360`, `${csvLine({ ...fee, line_no: '2' })};`];
    await writeFile(join(dir, 'drop.csv'), rows.join('\n'));
    const ref = ['--beneficiaries', join(dir, 'ben.csv'), ...FIXTURE_REFERENCE];
    const liq = await run(['liquidate', '--in', join(dir, 'drop.csv'), '--as-of', '2025-04-01', ...ref]);
    const [stay, town] = liq.out.trim().split('\n').map((l) => JSON.parse(l) as Settlement);
    // Then with the FINESS: Base hospital 220 % → G 220 → min(150, 180) = 150; Option 2 220 % → 150, surco 0
    expect([stay!.poste, ...stay!.parts.map((p) => p.amount)]).toEqual(['hospi.honoraires_actes', '150.00', '0.00']);
    // without: Base town 100 % → G 100 → 30; Option 2 town 220 % → 150, surco 150 − 30 = 120
    expect([town!.poste, ...town!.parts.map((p) => p.amount)]).toEqual(['soins.actes_techniques', '30.00', '120.00']);
    // the quote says the same
    const quote = async (...extra: string[]) => JSON.parse((await run(['estimate', '--nir', NIR, '--act', 'ADC', '--br', '100', '--expense', '250', '--dptm', '--date', '2025-05-01', '--json', ...ref, ...extra])).out).settlement as Settlement;
    expect((await quote('--finess', '750300360')).parts.map((p) => p.amount)).toEqual(['150.00', '0.00']);
    expect((await quote()).parts.map((p) => p.amount)).toEqual(['30.00', '120.00']);
    const bad = await run(['estimate', '--nir', NIR, '--act', 'ADC', '--br', '100', '--expense', '250', '--finess', '75030036', ...ref]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/finess: FINESS must be 9 characters/);
  });

  it('estimates a quote without consuming: the 5th osteopath session of the year is not covered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-est-'));
    await writeFile(join(dir, 'ben.csv'), BENEFICIARIES);
    // Given four osteopath sessions already paid in 2025 (Option 2: 60 € per session, max 5 a year)
    const sessions = [1, 2, 3, 4, 5].map((n) =>
      csvLine({ decompte_id: `O${n}`, act_code: 'OSTEO', ps_specialty: '', ps_dptm: 'N', care_start: `2025-0${n}-05`, care_end: `2025-0${n}-05`, expense: '70.00', br: '0.00', ro_rate: '0', ro_amount: '0.00', pf: '0.00' }),
    );
    await writeFile(join(dir, 'drop.csv'), [CSV_COLUMN_NAMES.join(';'), ...sessions].join('\n'));
    const state = join(dir, 'state.json');
    const ref = ['--beneficiaries', join(dir, 'ben.csv'), '--state', state, ...FIXTURE_REFERENCE];
    const liq = await run(['liquidate', '--in', join(dir, 'drop.csv'), '--as-of', '2025-07-01', ...ref]);
    // Then the five sessions are paid 60 € each (FR 70 > 60), the yearly count reaches 5.
    expect(liq.out.trim().split('\n').map((l) => (JSON.parse(l) as Settlement).amcAmount)).toEqual(['60.00', '60.00', '60.00', '60.00', '60.00']);

    const quote = async () => JSON.parse((await run(['estimate', '--nir', NIR, '--act', 'OSTEO', '--expense', '70', '--date', '2025-09-01', '--json', ...ref])).out).settlement as Settlement;
    const sixth = await quote();
    expect(sixth).toMatchObject({ amcAmount: '0.00', restToPay: '70.00' });
    expect(sixth.reason).toMatch(/5/);
    // Nothing consumed by the quote: asking again gives the same answer, and a quote in 2026 (new year) pays 60.
    expect(await quote()).toEqual(sixth);
    const nextYear = JSON.parse((await run(['estimate', '--nir', NIR, '--act', 'OSTEO', '--expense', '70', '--date', '2026-01-10', '--json', ...ref])).out).settlement as Settlement;
    expect(nextYear.amcAmount).toBe('60.00');
  });
});
