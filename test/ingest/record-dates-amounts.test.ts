import { describe, expect, it } from 'vitest';
import { csvCodec, encodeCsv } from '../../src/ingest/csv/index.js';
import { encodeXml, xmlCodec } from '../../src/ingest/xml/index.js';
import { encodeNoemie, noemieCodec } from '../../src/ingest/noemie/index.js';
import { BENEFICIARIES_TABLE } from '../../src/ingest/reference/beneficiaries.js';
import { ActLineSchema, type ActLine } from '../../src/model/act-line.js';
import { NIR_A, collect, consultation, memoryInput, rejectsOf } from './codec-support.js';

/**
 * A birth date after the care (the record's own date: the same verdict on every replay, whatever
 * the clock) or after the RO payment date is refused on birth_date; a negative amount is refused on
 * its own field, in every encoding (pf and franchise keep their sign: the NOEMIE tests read a
 * negative one to prove the P/N sign is decoded).
 */

const META = { emitter: 'CPAM TEST', amcNumber: '0123456789', fileId: 'F-2024-DT', createdOn: '2024-03-15' };

/** The paths of the issues of each rejected record, decoded from CSV, XML and NOEMIE. */
async function rejectedPaths(line: ActLine): Promise<Record<string, string[][]>> {
  const out: Record<string, string[][]> = {};
  for (const [codec, file, content] of [
    [csvCodec, 'r.csv', [...encodeCsv([line])].join('')],
    [xmlCodec, 'r.xml', [...encodeXml([line])].join('')],
    [noemieCodec, 'r.noemie', Buffer.concat([...encodeNoemie([line], META)])],
  ] as const) {
    const rejects = rejectsOf(await collect(codec.decode(memoryInput(file, content))));
    // the field (XML paths start with the element, e.g. line.expense)
    out[file] = rejects.flatMap((r) => r.issues.map((i) => i.path.map(String).slice(-1)));
  }
  return out;
}

describe('birth date', () => {
  it('after the care date is refused on birth_date (care 2024-03-04, born 2024-03-05)', async () => {
    const parsed = ActLineSchema.safeParse(consultation({ birthDate: '2024-03-05' }));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['birthDate', 'birth date 2024-03-05 is after the care start 2024-03-04']]);
    expect(await rejectedPaths(consultation({ birthDate: '2024-03-05' }))).toEqual({ 'r.csv': [['birth_date']], 'r.xml': [['birthDate']], 'r.noemie': [['birth_date']] });
  });

  it('after the RO payment date is refused too; the care day itself is fine (a newborn)', () => {
    // care on 2024-03-04, paid 2024-03-03 (odd, but only the birth date is checked here): born 2024-03-04 is after the payment
    const late = ActLineSchema.safeParse(consultation({ roPaymentDate: '2024-03-03', birthDate: '2024-03-04' }));
    expect(late.error!.issues.map((i) => i.path.join('.'))).toEqual(['birthDate']);
    expect(ActLineSchema.safeParse(consultation({ birthDate: consultation().careStart })).success).toBe(true);
  });

  it('beneficiaries.csv: born after the affiliation start is refused on birth_date', () => {
    const row = { adherent_id: 'ADH1', nir: NIR_A.nir, nir_key: NIR_A.nirKey, rang: '1', birth_date: '2024-02-01', role: 'E', contracts: 'CCN-HLA-BASE', start: '2024-01-01', end: '', suspended: '', noemie: 'Y', iban: '', bic: '', name: 'Bébé Martin' };
    const parsed = BENEFICIARIES_TABLE.schema.safeParse(BENEFICIARIES_TABLE.toCandidate(row));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['birthDate']);
    expect(BENEFICIARIES_TABLE.schema.safeParse(BENEFICIARIES_TABLE.toCandidate({ ...row, start: '2024-02-01' })).success).toBe(true);
  });
});

describe('negative amounts are reported on their own field', () => {
  it.each([
    ['roAmount', 'ro_amount'],
    ['br', 'br'],
    ['expense', 'expense'],
  ] as const)('%s', async (field, column) => {
    const parsed = ActLineSchema.safeParse(consultation({ [field]: '-1.00' }));
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain(field);
    expect(paths.filter((p) => p !== field)).toEqual([]);
    const decoded = await rejectedPaths(consultation({ [field]: '-1.00' }));
    expect(decoded['r.csv']).toContainEqual([column]);
    expect(decoded['r.xml']).toContainEqual([field]);
  });
});
