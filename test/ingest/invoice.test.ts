import { describe, expect, it } from 'vitest';
import { createInvoiceJsonCodec, invoiceCsvCodec, invoiceJsonCodec, toActLines } from '../../src/ingest/invoice/index.js';
import { IngestError } from '../../src/ingest/types.js';
import type { ActLine } from '../../src/model/act-line.js';
import { NIR_A, collect, linesOf, memoryInput, rejectsOf } from './codec-support.js';

/** An osteopath session (not reimbursed by the RO: no br) and a pharmacy line with its paper décompte. */
const INVOICE = {
  invoice_id: 'F-2024-0042',
  amc_member_id: 'ADH000123',
  nir: NIR_A.nir,
  rang: 1,
  ps_id: '75123456700012',
  ps_kind: 'osteopath',
  invoice_date: '2024-03-10',
  lines: [
    { act_code: 'OST', care_date: '2024-03-08', quantity: 1, expense: '60.00' },
    { act_code: 'PHA', care_date: '2024-03-09', quantity: 2, expense: '12.40', br: '12.40', ro_rate: '65', ro_amount: '8.06', pf: '0.00', franchise: '1.00' },
  ],
};

/** The same lines as act lines, written out by hand from the mapping in formats.md §2 and the brief. */
const COMMON = {
  source: 'invoice',
  decompteId: 'F-2024-0042',
  operation: 'I',
  caisse: null,
  roPaymentDate: null,
  nir: NIR_A.nir,
  nirKey: NIR_A.nirKey,
  rang: 1,
  birthDate: null,
  amcMemberId: 'ADH000123',
  psId: '75123456700012',
  psSpecialty: null,
  psDptm: false,
  side: null,
  coefficient: '1',
  pathway: 'I',
  tp: '00',
  accident: false,
} as const;
const EXPECTED: ActLine[] = [
  { ...COMMON, lineNo: 1, actCode: 'OST', careStart: '2024-03-08', careEnd: '2024-03-08', quantity: 1, expense: '60.00', br: '0.00', roRate: '0', roAmount: '0.00', pf: '0.00', franchise: '0.00' },
  { ...COMMON, lineNo: 2, actCode: 'PHA', careStart: '2024-03-09', careEnd: '2024-03-09', quantity: 2, expense: '12.40', br: '12.40', roRate: '65', roAmount: '8.06', pf: '0.00', franchise: '1.00' },
];

describe('invoice → act lines', () => {
  it('maps every field as documented', () => {
    expect(toActLines(INVOICE as Parameters<typeof toActLines>[0])).toEqual(EXPECTED);
  });
});

describe('invoice JSON codec', () => {
  it('reads one invoice into act lines, record = line index + 1', async () => {
    const events = await collect(invoiceJsonCodec.decode(memoryInput('f.json', JSON.stringify(INVOICE))));
    expect(events).toEqual([
      { kind: 'line', line: EXPECTED[0], origin: { file: 'f.json', record: 1 } },
      { kind: 'line', line: EXPECTED[1], origin: { file: 'f.json', record: 2 } },
    ]);
  });

  it('an invalid invoice is one reject listing all issues with their paths', async () => {
    const bad = {
      ...INVOICE,
      nir: '185077512345',
      lines: [INVOICE.lines[0], { ...INVOICE.lines[1], care_date: '2024-03-11', expense: 12.4 }, { act_code: 'X', care_date: '2024-13-01', quantity: 0, expense: '1.00' }],
    };
    const events = await collect(invoiceJsonCodec.decode(memoryInput('f.json', JSON.stringify(bad))));
    expect(events).toHaveLength(1);
    const [rejected] = rejectsOf(events);
    expect(rejected?.origin).toEqual({ file: 'f.json', record: 1 });
    expect(rejected?.issues.map((i) => i.path.join('.')).sort()).toEqual(['lines.1.care_date', 'lines.1.expense', 'lines.2.care_date', 'lines.2.quantity', 'nir']);
    expect(rejected?.issues.find((i) => i.path.join('.') === 'lines.1.care_date')?.message).toBe('care date 2024-03-11 is after the invoice date 2024-03-10');
  });

  it('a line that breaks an act-line rule (negative amount) rejects the invoice, named in invoice terms', async () => {
    const bad = { ...INVOICE, lines: [{ ...INVOICE.lines[0], expense: '-60.00' }] };
    const [rejected] = rejectsOf(await collect(invoiceJsonCodec.decode(memoryInput('f.json', JSON.stringify(bad)))));
    expect(rejected?.issues).toEqual([expect.objectContaining({ path: ['lines', 0, 'expense'], input: '-60.00' })]);
  });

  it('refuses a document over the size cap, and one that is not JSON', async () => {
    const small = createInvoiceJsonCodec({ maxBytes: 100 });
    await expect(collect(small.decode(memoryInput('f.json', JSON.stringify(INVOICE))))).rejects.toMatchObject({ code: 'INGEST_STRUCTURE', message: expect.stringContaining('over 100 bytes') });
    const err = await collect(invoiceJsonCodec.decode(memoryInput('f.json', '{"invoice_id": '))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect(err).toMatchObject({ code: 'INGEST_STRUCTURE', message: expect.stringContaining('f.json is not valid JSON') });
  });
});

const CSV_HEADER = 'invoice_id;amc_member_id;nir;rang;ps_id;ps_kind;invoice_date;act_code;care_date;quantity;expense;br;ro_rate;ro_amount;pf;franchise';
const ROW1 = `F-2024-0042;ADH000123;${NIR_A.nir};1;75123456700012;osteopath;2024-03-10;OST;2024-03-08;1;60.00;;;;;`;
const ROW2 = `F-2024-0042;ADH000123;${NIR_A.nir};1;75123456700012;osteopath;2024-03-10;PHA;2024-03-09;2;12.40;12.40;65;8.06;0.00;1.00`;

describe('invoice CSV codec', () => {
  it('reads the rows of one invoice into the same act lines as the JSON, record = CSV line', async () => {
    const events = await collect(invoiceCsvCodec.decode(memoryInput('f.csv', `${CSV_HEADER}\n${ROW1}\n${ROW2}\n`)));
    expect(events).toEqual([
      { kind: 'line', line: EXPECTED[0], origin: { file: 'f.csv', record: 2 } },
      { kind: 'line', line: EXPECTED[1], origin: { file: 'f.csv', record: 3 } },
    ]);
  });

  it('several invoices: a bad one is rejected whole at its first row, the others are read', async () => {
    const other = (row: string) => row.replace('F-2024-0042', 'F-2024-0043');
    const bad = other(ROW2).replace(';2024-03-09;', ';2024-03-32;');
    const events = await collect(invoiceCsvCodec.decode(memoryInput('f.csv', `${CSV_HEADER}\n${ROW1}\n${other(ROW1)}\n${bad}\n${ROW2.replace('F-2024-0042', 'F-2024-0044')}\n`)));
    expect(linesOf(events).map((l) => l.decompteId)).toEqual(['F-2024-0042', 'F-2024-0044']);
    const [rejected] = rejectsOf(events);
    expect(rejected?.origin).toEqual({ file: 'f.csv', record: 3 });
    expect(rejected?.issues).toEqual([expect.objectContaining({ path: ['lines', 1, 'care_date'], input: '2024-03-32', message: expect.stringContaining('(CSV line 4)') })]);
    expect(rejected?.raw?.split('\n')).toHaveLength(2);
  });

  it('invoice columns that differ between rows of one invoice are issues', async () => {
    const events = await collect(invoiceCsvCodec.decode(memoryInput('f.csv', `${CSV_HEADER}\n${ROW1}\n${ROW2.replace(';2024-03-10;', ';2024-03-11;')}\n`)));
    expect(rejectsOf(events)[0]?.issues).toEqual([expect.objectContaining({ code: 'inconsistent', path: ['invoice_date'], message: "line 3 says invoice_date 2024-03-11, the invoice's first row (line 2) says 2024-03-10" })]);
  });

  it('rows of one invoice that are not consecutive are rejected', async () => {
    const other = ROW1.replace('F-2024-0042', 'F-2024-0043');
    const events = await collect(invoiceCsvCodec.decode(memoryInput('f.csv', `${CSV_HEADER}\n${ROW1}\n${other}\n${ROW2}\n`)));
    expect(rejectsOf(events)).toMatchObject([{ origin: { record: 4 }, issues: [{ code: 'not_consecutive' }] }]);
  });

  it('the paper-décompte columns may be left out of the header; unknown columns refuse the file', async () => {
    const header = CSV_HEADER.split(';').slice(0, 11).join(';');
    const events = await collect(invoiceCsvCodec.decode(memoryInput('f.csv', `${header}\n${ROW1.split(';').slice(0, 11).join(';')}\n`)));
    expect(linesOf(events)).toEqual([EXPECTED[0]]);
    await expect(collect(invoiceCsvCodec.decode(memoryInput('f.csv', `${CSV_HEADER};colour\n`)))).rejects.toMatchObject({ code: 'INGEST_CSV_HEADER', context: { unknown: ['colour'] } });
  });
});
