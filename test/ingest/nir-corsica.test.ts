import { describe, expect, it } from 'vitest';
import { csvCodec, encodeCsv } from '../../src/ingest/csv/index.js';
import { encodeXml, xmlCodec } from '../../src/ingest/xml/index.js';
import { encodeNoemie, noemieCodec } from '../../src/ingest/noemie/index.js';
import { invoiceJsonCodec } from '../../src/ingest/invoice/index.js';
import { BENEFICIARIES_TABLE } from '../../src/ingest/reference/beneficiaries.js';
import { TP_CLAIMS_TABLE } from '../../src/ingest/reference/tp-claims.js';
import { maskFieldValue } from '../../src/ingest/reference/csv-table.js';
import { ActLineSchema, NirSchema, nirKey, type ActLine } from '../../src/model/act-line.js';
import { TpClaimCsvRowSchema } from '../../src/model/tp-claim.js';
import { maskPersonalData } from '../../src/log.js';
import { collect, consultation, linesOf, memoryInput, rejectsOf } from './codec-support.js';

/**
 * NIRs of people born in Corsica carry the département 2A or 2B (positions 6-7). They are valid;
 * for the key, 2A reads 19 and 2B reads 18 (the number with "2A" read as 20, minus 1 000 000, and
 * with "2B" minus 2 000 000: the same thing). Keys computed by hand, key = 97 − (n mod 97):
 *   185032A123456 → 1 850 319 123 456 = 97 × 19 075 454 880 + 96 (97 × 19 075 454 880 =
 *     1 907 545 488 000 − 57 226 364 640 = 1 850 319 123 360) → key 97 − 96 = 01
 *   290062B045012 → 2 900 618 045 012 = 97 × 29 903 278 814 + 54 (97 × 29 903 278 814 =
 *     2 990 327 881 400 − 89 709 836 442 = 2 900 618 044 958) → key 97 − 54 = 43
 */
const CORSE_A = { nir: '185032A123456', nirKey: '01' };
const CORSE_B = { nir: '290062B045012', nirKey: '43' };

describe('Corsican NIR (2A / 2B)', () => {
  it('keys: 2A → 19, 2B → 18', () => {
    expect(nirKey(CORSE_A.nir)).toBe('01');
    expect(nirKey(CORSE_B.nir)).toBe('43');
    expect(NirSchema.safeParse(CORSE_A.nir).success).toBe(true);
    // a letter anywhere else, or another letter, is not a NIR
    for (const bad of ['185032C123456', '1850A2A123456', '185032a123456', '18503AA123456']) expect(NirSchema.safeParse(bad).success, bad).toBe(false);
  });

  it('an act line with a Corsican NIR and its key is valid; a wrong key is refused on nir_key', () => {
    expect(ActLineSchema.safeParse(consultation(CORSE_A)).success).toBe(true);
    const wrong = ActLineSchema.safeParse(consultation({ ...CORSE_A, nirKey: '02' }));
    expect(wrong.success).toBe(false);
    expect(wrong.error!.issues.map((i) => i.path.join('.'))).toEqual(['nirKey']);
  });

  const LINES: ActLine[] = [consultation(CORSE_A), consultation({ lineNo: 2, ...CORSE_B, birthDate: '1990-06-01' })];
  const META = { emitter: 'CPAM DE CORSE-DU-SUD', amcNumber: '0123456789', fileId: 'F-2024-2A', createdOn: '2024-03-15' };

  it('decodes from CSV, XML and NOEMIE fixed-length records', async () => {
    for (const [codec, file, content] of [
      [csvCodec, 'c.csv', [...encodeCsv(LINES)].join('')],
      [xmlCodec, 'c.xml', [...encodeXml(LINES)].join('')],
      [noemieCodec, 'c.noemie', Buffer.concat([...encodeNoemie(LINES, META)])],
    ] as const) {
      const events = await collect(codec.decode(memoryInput(file, content)));
      expect(rejectsOf(events), file).toEqual([]);
      expect(linesOf(events), file).toEqual(LINES);
    }
  });

  it('an invoice (JSON) computes the Corsican key', async () => {
    const invoice = { invoice_id: 'INV2A', amc_member_id: 'ADH1', nir: CORSE_A.nir, rang: 1, ps_id: '12345678901234', ps_kind: 'osteopath', invoice_date: '2024-03-10', lines: [{ act_code: 'OST', care_date: '2024-03-08', quantity: 1, expense: '60.00' }] };
    const events = await collect(invoiceJsonCodec.decode(memoryInput('i.json', JSON.stringify(invoice))));
    expect(rejectsOf(events)).toEqual([]);
    expect(linesOf(events)[0]).toMatchObject(CORSE_A);
  });

  it('beneficiaries.csv and tp_claims.csv rows accept it', () => {
    const row = { adherent_id: 'ADH1', ...{ nir: CORSE_A.nir, nir_key: CORSE_A.nirKey }, rang: '1', birth_date: '1985-03-12', role: 'A', contracts: 'CCN-HLA-BASE', start: '2024-01-01', end: '', suspended: '', noemie: 'Y', iban: '', bic: '', name: 'Ghjuvanni Santini' };
    expect(BENEFICIARIES_TABLE.schema.safeParse(BENEFICIARIES_TABLE.toCandidate(row)).success).toBe(true);
    expect(BENEFICIARIES_TABLE.schema.safeParse(BENEFICIARIES_TABLE.toCandidate({ ...row, nir_key: '02' })).success).toBe(false);
    const claim = { tp_claim_id: 'TP1', operator: 'OP', ps_id: '751234567', nir: CORSE_B.nir, rang: '1', care_date: '2024-03-01', act_code: 'G', invoice_no: '', amc_amount_claimed: '9.00', paid_on: '' };
    expect(TP_CLAIMS_TABLE.schema.safeParse(TP_CLAIMS_TABLE.toCandidate(claim)).success).toBe(true);
    expect(TpClaimCsvRowSchema.safeParse(claim).success).toBe(true);
  });

  it('is masked in messages and reports like any NIR', () => {
    expect(maskPersonalData(`person ${CORSE_A.nir}${CORSE_A.nirKey} unknown`)).toBe('person 1************** unknown');
    expect(maskPersonalData(`person ${CORSE_B.nir} unknown`)).toBe('person 2************ unknown');
    expect(maskFieldValue(['note'], `NIR ${CORSE_A.nir}`)).not.toContain('2A123456');
  });
});
