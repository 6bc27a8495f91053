import { describe, expect, it } from 'vitest';
import { CLI_OUTPUTS } from '../../src/cli/output-schemas.js';
import { participationForfaitaire } from '../../src/model/participation-forfaitaire.js';
import { runNoemie } from '../support/cli.js';

/**
 * `noemie estimate` (issue 11): the tariff given or looked up in the nomenclature (never a silent
 * BR of 0), the participation forfaitaire shown, the quote in French for the member with the
 * operator's details behind --verbose / --json. Figures by hand from ../shared/ccn-table.md
 * ("Généralistes": Base 100 / 100 % BR, Option 2 220 / 200 % BR, DPTM / hors DPTM) and domain.md §3
 * example 1 and §6 (PF 1 € until 14 May 2024, 2 € from 15 May 2024, none under 18).
 */
const REF = ['--beneficiaries', 'fixtures/sample/beneficiaries.csv', '--grids', 'fixtures/grids', '--nomenclature', 'fixtures/nomenclature.csv', '--pmss', 'fixtures/pmss.csv'];
const OPT2_ADULT = '1840994098201'; // ADH0000005, CCN-HLA-BASE|CCN-HLA-OPT2, born 1984-09-15
const OPT2_CHILD = '1100494109216'; // ADH0000005, born 2010-04-10: 15 on 2 June 2025
const BASE_ADULT = '1870459280378'; // ADH0000001, CCN-HLA-BASE, born 1987-04-20

const run = (argv: string[]) => runNoemie(['estimate', ...argv, ...REF]);

const quote = async (...argv: string[]) => {
  const r = await run([...argv, '--json']);
  expect(r.code, r.err).toBe(0);
  return CLI_OUTPUTS.estimate.parse(JSON.parse(r.out));
};

describe('noemie estimate', () => {
  it('GP visit, OPTAM, Option 2, tariff from the nomenclature: domain.md example 1, the PF shown and left to the member', async () => {
    const q = await quote('--nir', OPT2_ADULT, '--act', 'G', '--expense', '40', '--dptm', '--date', '2025-06-02');
    // BR: G tariff=30.00 in the nomenclature × 1. RO gross 30 × 70 % = 21.00; PF 2.00 (after 15 May 2024) → SS pays 19.00.
    expect(q.tariff).toEqual({ br: '30.00', source: 'nomenclature', roRate: '70' });
    expect(q.participationForfaitaire.amount).toBe('2.00');
    // Option 2 DPTM 220 % BR = 66 → AMC = min(66 − 21, 40 − 21) = 19: socle 100 % BR → min(30 − 21, 19) = 9, surco 10.
    // Rest = 40 − 19 − 19 = 2.00: the PF, never covered.
    expect(q.member).toMatchObject({ expense: '40.00', securiteSociale: '19.00', complementaire: '19.00', participationForfaitaire: '2.00', resteACharge: '2.00' });
    expect(q.settlement.parts.map((p) => p.amount)).toEqual(['9.00', '10.00']);
  });

  it('Base only: AMC 9, the rest 12 of which the PF 2', async () => {
    const q = await quote('--nir', BASE_ADULT, '--act', 'G', '--expense', '40', '--dptm', '--date', '2025-06-02');
    // Base 100 % BR = 30 → AMC = min(30 − 21, 40 − 21) = 9; SS 21 − 2 = 19; rest = 40 − 19 − 9 = 12.
    expect(q.member).toMatchObject({ securiteSociale: '19.00', complementaire: '9.00', participationForfaitaire: '2.00', resteACharge: '12.00' });
  });

  it('the PF follows the date and the age: 1 € before 15 May 2024, none under 18, --pf for an exempt member', async () => {
    // (a quote dated before 15 May 2024 is past the 2-year prescription today: the date rule is checked on the rule itself)
    const gp = { poste: 'soins.generalistes', birthDate: '1984-09-15', hospital: false, roGross: '21.00' };
    expect(participationForfaitaire({ ...gp, careDate: '2024-05-14' }).amount).toBe('1.00');
    expect(participationForfaitaire({ ...gp, careDate: '2024-05-15' }).amount).toBe('2.00');
    expect(participationForfaitaire({ ...gp, careDate: '2025-06-02', roGross: '1.50' }).amount).toBe('1.50'); // never more than the RO pays
    expect(participationForfaitaire({ ...gp, careDate: '2025-06-02', hospital: true }).amount).toBe('0.00');
    expect(participationForfaitaire({ ...gp, careDate: '2025-06-02', birthDate: '2007-06-03' }).amount).toBe('0.00'); // 17 the day before 18
    expect(participationForfaitaire({ ...gp, careDate: '2025-06-03', birthDate: '2007-06-03' }).amount).toBe('2.00'); // 18 that day
    // a child of 15: no PF → SS 21, AMC 19, rest 0.
    const child = await quote('--nir', OPT2_CHILD, '--act', 'G', '--expense', '40', '--dptm', '--date', '2025-06-02');
    expect(child.member).toMatchObject({ securiteSociale: '21.00', complementaire: '19.00', participationForfaitaire: '0.00', resteACharge: '0.00' });
    expect(child.participationForfaitaire.rule).toMatch(/under 18/);
    const exempt = await quote('--nir', OPT2_ADULT, '--act', 'G', '--expense', '40', '--dptm', '--date', '2025-06-02', '--pf', '0');
    expect(exempt.member).toMatchObject({ securiteSociale: '21.00', participationForfaitaire: '0.00', resteACharge: '0.00' });
    // an act without PF (nursing, soins.auxiliaires): none. AMI × 10 with --br 31.50: RO 60 % = 18.90.
    const nurse = await quote('--nir', OPT2_ADULT, '--act', 'AMI', '--br', '31.50', '--expense', '31.50', '--date', '2025-06-02');
    expect(nurse.member).toMatchObject({ securiteSociale: '18.90', participationForfaitaire: '0.00' });
  });

  it('no silent 0 BR: an act the RO reimburses without a tariff, or unknown, is an error naming what is missing', async () => {
    const noTariff = await run(['--nir', OPT2_ADULT, '--act', 'ADC', '--expense', '250', '--date', '2025-06-02']);
    expect(noTariff.code).toBe(2);
    expect(noTariff.out).toBe('');
    expect(noTariff.err).toMatch(/--br is required: act ADC .*gives no tariff/);
    const unknown = await run(['--nir', OPT2_ADULT, '--act', 'TCG', '--expense', '25', '--date', '2025-06-02']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/act TCG is not in the home's nomenclature: give its Sécurité sociale tariff with --br/);
    // an act the RO does not reimburse has BR 0, and says why
    const osteo = await quote('--nir', OPT2_ADULT, '--act', 'OSTEO', '--expense', '70', '--date', '2025-06-02');
    expect(osteo.tariff).toEqual({ br: '0.00', source: 'not reimbursed by the RO', roRate: '0' });
    expect(osteo.member).toMatchObject({ securiteSociale: '0.00', complementaire: '60.00', resteACharge: '10.00' }); // Option 2: 60 € a session
  });

  it('speaks French to the member; the operator details only with --verbose', async () => {
    const r = await run(['--nir', OPT2_ADULT, '--act', 'G', '--expense', '40', '--dptm', '--date', '2025-06-02']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Estimation de remboursement — Consultation généraliste, soins prévus le 02/06/2025');
    expect(r.out).toMatch(/Remboursement de la Sécurité sociale +19,00 €/);
    expect(r.out).toMatch(/Remboursement de votre complémentaire santé +19,00 €/);
    expect(r.out).toMatch(/Reste à votre charge +2,00 €/);
    expect(r.out).toMatch(/dont participation forfaitaire +2,00 €/);
    expect(r.out).toContain('base de remboursement 30,00 € × 70 %');
    for (const operator of ['AMC total', 'rest to pay', 'why:', 'CCN-HLA', 'never covered', 'formula']) expect(r.out).not.toContain(operator);
    const v = await run(['--nir', OPT2_ADULT, '--act', 'G', '--expense', '40', '--dptm', '--date', '2025-06-02', '--verbose']);
    expect(v.out).toContain('operator details');
    expect(v.out).toContain('BR 30.00 € (nomenclature)');
    expect(v.out).toMatch(/CCN-HLA-OPT2 +10\.00 €/);
  });
});

describe('noemie estimate, a person the membership does not know', () => {
  it('says the complementary part cannot be estimated, and the rest is before it (never a rest "to pay" that ignores the AMC)', async () => {
    const r = await run(['--nir', '1840994098209', '--act', 'G', '--expense', '40', '--date', '2025-06-02']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('ne peut pas être estimé ici');
    // 40 − (21 − 2) = 21, before the AMC
    expect(r.out).toMatch(/Reste avant votre complémentaire +21,00 €/);
    expect(r.out).not.toContain('Reste à votre charge');
  });
});
