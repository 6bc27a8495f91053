import { describe, expect, it } from 'vitest';
import { csvCodec, encodeCsv } from '../../src/ingest/csv/index.js';
import { encodeXml, xmlCodec } from '../../src/ingest/xml/index.js';
import { encodeNoemie, noemieCodec } from '../../src/ingest/noemie/index.js';
import type { ActLine } from '../../src/model/act-line.js';
import { NIR_A, NIR_B, collect, consultation, memoryInput } from './codec-support.js';

/**
 * formats.md §1: the three encodings carry the same content, so the same lines written as CSV, XML
 * and NOEMIE-style records must decode to identical ActLine objects (deep equality, in order).
 */
const LINES: ActLine[] = [
  // décompte 1, two lines, two professionals, DPTM Y then N, empty specialty and side
  consultation(),
  consultation({ lineNo: 2, psId: '759876543', psSpecialty: null, psDptm: false, actCode: 'AMI', coefficient: '1.5', quantity: 3, expense: '15.75', br: '15.75', roRate: '60', roAmount: '9.45', pf: '0.00', franchise: '1.50' }),
  // the annulation of décompte 1 line 2
  consultation({ lineNo: 2, operation: 'A', psId: '759876543', psSpecialty: null, psDptm: false, actCode: 'AMI', coefficient: '1.5', quantity: 3, expense: '15.75', br: '15.75', roRate: '60', roAmount: '9.45', pf: '0.00', franchise: '1.50' }),
  // another beneficiary (child, rang 2, accented member id), optics with a side, tiers payant, outside the parcours, accident
  consultation({
    decompteId: 'D000000002',
    ...NIR_B,
    rang: 2,
    birthDate: '2012-11-30',
    amcMemberId: 'ADHÉ-0042',
    psId: '751112223',
    psSpecialty: '15',
    actCode: 'LPP2202239',
    side: 'L',
    careStart: '2024-02-27',
    careEnd: '2024-02-29',
    expense: '250.00',
    br: '0.05',
    roRate: '60',
    roAmount: '0.03',
    pf: '0.00',
    franchise: '0.00',
    pathway: 'H',
    tp: '15',
    accident: true,
  }),
  consultation({ decompteId: 'D000000002', lineNo: 2, ...NIR_B, rang: 2, birthDate: '2012-11-30', amcMemberId: 'ADHÉ-0042', psId: '751112223', psSpecialty: '15', actCode: 'LPP2202239', side: 'R', pathway: 'U', tp: '25' }),
  // another caisse
  consultation({ decompteId: 'D000000003', caisse: '011931002', roPaymentDate: '2024-03-15', ...NIR_A, careStart: '2024-03-14', careEnd: '2024-03-14' }),
];

const META = { emitter: 'CPAM DE SEINE-SAINT-DENIS', amcNumber: '0123456789', fileId: 'F-2024-EQ', createdOn: '2024-03-15' };

async function decoded(codec: { decode: typeof csvCodec.decode }, file: string, content: string | Buffer): Promise<ActLine[]> {
  const events = await collect(codec.decode(memoryInput(file, content, { chunk: 97 })));
  const rejects = events.filter((e) => e.kind === 'reject');
  expect(rejects).toEqual([]);
  return events.flatMap((e) => (e.kind === 'line' ? [e.line] : []));
}

describe('the same lines in CSV, XML and NOEMIE decode to identical ActLines', () => {
  it('CSV → lines', async () => {
    expect(await decoded(csvCodec, 'e.csv', [...encodeCsv(LINES)].join(''))).toEqual(LINES);
  });

  it('XML → lines', async () => {
    expect(await decoded(xmlCodec, 'e.xml', [...encodeXml(LINES)].join(''))).toEqual(LINES);
  });

  it('NOEMIE → lines', async () => {
    expect(await decoded(noemieCodec, 'e.noemie', Buffer.concat([...encodeNoemie(LINES, META)]))).toEqual(LINES);
  });

  it('and so each other, field for field', async () => {
    const [csv, xml, noemie] = await Promise.all([
      decoded(csvCodec, 'e.csv', [...encodeCsv(LINES)].join('')),
      decoded(xmlCodec, 'e.xml', [...encodeXml(LINES)].join('')),
      decoded(noemieCodec, 'e.noemie', Buffer.concat([...encodeNoemie(LINES, META)])),
    ]);
    expect(xml).toStrictEqual(csv);
    expect(noemie).toStrictEqual(csv);
  });
});

describe('with the optional finess (issue 10), the three encodings still agree', () => {
  // a clinic stay: the surgeon's fee and the forfait journalier carry the clinic's FINESS (a Corsican one
  // for the second décompte); the town consultation between them has none
  const STAY: ActLine[] = [
    consultation({ decompteId: 'D000000010', psSpecialty: '04', actCode: 'ADC', expense: '250.00', br: '100.00', roAmount: '70.00', pf: '0.00', finess: '750300360' }),
    consultation({ decompteId: 'D000000010', lineNo: 2 }),
    consultation({ decompteId: 'D000000011', psSpecialty: null, actCode: 'FJ', careStart: '2024-02-27', careEnd: '2024-03-01', quantity: 4, expense: '80.00', br: '80.00', roRate: '0', roAmount: '0.00', pf: '0.00', finess: '2A0000014' }),
  ];

  it('CSV (with the finess column), XML and NOEMIE decode to the same lines, field for field', async () => {
    const [csv, xml, noemie] = await Promise.all([
      decoded(csvCodec, 'e.csv', [...encodeCsv(STAY, { optionalColumns: ['finess'] })].join('')),
      decoded(xmlCodec, 'e.xml', [...encodeXml(STAY)].join('')),
      decoded(noemieCodec, 'e.noemie', Buffer.concat([...encodeNoemie(STAY, META)])),
    ]);
    expect(csv).toEqual(STAY);
    expect(xml).toStrictEqual(csv);
    expect(noemie).toStrictEqual(csv);
  });
});
