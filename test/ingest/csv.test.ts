import { describe, expect, it } from 'vitest';
import { createCsvCodec, csvCodec } from '../../src/ingest/csv/index.js';
import { encodeCsv } from '../../src/ingest/csv/encode.js';
import { IngestError } from '../../src/ingest/types.js';
import { NIR_A, NIR_B, collect, consultation, linesOf, memoryInput, rejectsOf } from './codec-support.js';

const HEADER =
  'decompte_id;line_no;operation;caisse;ro_payment_date;nir;nir_key;rang;birth_date;amc_member_id;ps_id;ps_specialty;ps_dptm;act_code;side;care_start;care_end;quantity;coefficient;expense;br;ro_rate;ro_amount;pf;franchise;pathway;tp;accident';
// Columns as in HEADER; a consultation G 30.00 € reimbursed 70 % of 30.00 = 21.00, PF 2.00.
const GOOD = `D000000001;1;I;011751001;2024-03-12;${NIR_A.nir};${NIR_A.nirKey};1;1985-07-14;ADH000123;751234567;01;Y;G;;2024-03-04;2024-03-04;1;1;30.00;30.00;70;21.00;2.00;0.00;I;00;N`;

function csv(...rows: string[]): string {
  return `${[HEADER, ...rows].join('\n')}\n`;
}

describe('CSV décompte codec', () => {
  it('reads a valid row into an ActLine, origin = file and line number (header is line 1)', async () => {
    const events = await collect(csvCodec.decode(memoryInput('d.csv', csv(GOOD))));
    expect(events).toEqual([{ kind: 'line', line: consultation(), origin: { file: 'd.csv', record: 2 } }]);
  });

  it('accepts any column order, CRLF line ends, a BOM, empty lines, and splits across tiny chunks', async () => {
    const cols = HEADER.split(';');
    const vals = GOOD.split(';');
    const order = cols.map((_, i) => i).reverse();
    const text = `\uFEFF${order.map((i) => cols[i]).join(';')}\r\n\r\n${order.map((i) => vals[i]).join(';')}\r\n`;
    const events = await collect(csvCodec.decode(memoryInput('d.csv', text, { chunk: 7 })));
    // line 2 is empty, the row is line 3
    expect(events).toEqual([{ kind: 'line', line: consultation(), origin: { file: 'd.csv', record: 3 } }]);
  });

  it('normalises amounts and rates the way every encoding does ("12.3" → "12.30", "70.00" → "70")', async () => {
    const row = GOOD.replace(';30.00;30.00;70;21.00;', ';30.0;30;70.00;21.00;');
    const [event] = await collect(csvCodec.decode(memoryInput('d.csv', csv(row))));
    expect(event).toMatchObject({ kind: 'line', line: { expense: '30.00', br: '30.00', roRate: '70' } });
  });

  it('keeps UTF-8 accents intact, across a chunk boundary inside the character', async () => {
    // "ADHÉ01" — É is two bytes in UTF-8 (C3 89); chunks of 1 byte split it.
    const row = GOOD.replace('ADH000123', 'ADHÉ01');
    const [event] = await collect(csvCodec.decode(memoryInput('d.csv', csv(row), { chunk: 1 })));
    expect(event).toMatchObject({ kind: 'line', line: { amcMemberId: 'ADHÉ01' } });
  });

  it('rejects a Latin-1 row with a reason that says so, and goes on', async () => {
    const latin1 = Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.from(`${GOOD.replace('ADH000123', 'ADHÉ01')}\n`, 'latin1'), Buffer.from(`${GOOD}\n`)]);
    const events = await collect(csvCodec.decode(memoryInput('d.csv', latin1)));
    expect(rejectsOf(events)).toMatchObject([{ origin: { record: 2 }, issues: [{ code: 'invalid_encoding', message: expect.stringContaining('not valid UTF-8') }] }]);
    expect(linesOf(events)).toHaveLength(1);
  });

  it('reads quoted fields by RFC 4180 rules (csv-parse)', async () => {
    const row = GOOD.replace('ADH000123', '"ADH;""7"""');
    const [event] = await collect(csvCodec.decode(memoryInput('d.csv', csv(row))));
    expect(event).toMatchObject({ kind: 'line', line: { amcMemberId: 'ADH;"7"' } });
  });

  it('reads empty specialty and side as null, Y/N as booleans, coefficient 1.5', async () => {
    const row = GOOD.replace(';01;Y;G;;', ';;N;AMI;R;').replace(';1;1;30.00;', ';1;1.5;30.00;');
    const [event] = await collect(csvCodec.decode(memoryInput('d.csv', csv(row))));
    expect(event).toMatchObject({ kind: 'line', line: { psSpecialty: null, psDptm: false, actCode: 'AMI', side: 'R', coefficient: '1.5' } });
  });
});

describe('CSV décompte codec: record-level rejections name the record and the field', () => {
  const cases: [string, string, string, unknown][] = [
    ['bad date', GOOD.replace(';2024-03-04;2024-03-04;', ';2024-02-30;2024-03-04;'), 'care_start', '2024-02-30'],
    ['bad NIR key', GOOD.replace(`;${NIR_A.nirKey};`, ';09;'), 'nir_key', '09'],
    ['bad amount', GOOD.replace(';30.00;30.00;', ';30,00;30.00;'), 'expense', '30,00'],
    ['bad enum value', GOOD.replace(';I;00;N', ';X;00;N'), 'pathway', 'X'],
    ['bad tiers payant', GOOD.replace(';I;00;N', ';I;10;N'), 'tp', '10'],
    ['bad flag', GOOD.replace(';01;Y;', ';01;O;'), 'ps_dptm', 'O'],
    ['missing value', GOOD.replace(';ADH000123;', ';;'), 'amc_member_id', ''],
  ];
  for (const [name, row, column, input] of cases) {
    it(`${name}: reject at line 3 names column ${column}, and the next row is read`, async () => {
      const events = await collect(csvCodec.decode(memoryInput('d.csv', csv(GOOD, row, GOOD))));
      expect(linesOf(events)).toHaveLength(2);
      const [rejected] = rejectsOf(events);
      expect(rejected?.origin).toEqual({ file: 'd.csv', record: 3 });
      expect(rejected?.raw).toBe(row);
      expect(rejected?.issues).toEqual([expect.objectContaining({ path: [column], input })]);
    });
  }

  it('lists all the issues of a row, not just the first', async () => {
    const row = GOOD.replace(`;${NIR_A.nirKey};`, ';09;').replace(';I;00;N', ';X;00;N').replace(';30.00;30.00;', ';abc;30.00;');
    const [rejected] = rejectsOf(await collect(csvCodec.decode(memoryInput('d.csv', csv(row)))));
    expect(rejected?.issues.map((i) => i.path[0]).sort()).toEqual(['expense', 'nir_key', 'pathway']);
  });

  it('a row with the wrong column count is rejected with both counts', async () => {
    const events = await collect(csvCodec.decode(memoryInput('d.csv', csv(GOOD.split(';').slice(0, 27).join(';'), GOOD))));
    expect(rejectsOf(events)).toMatchObject([{ origin: { record: 2 }, issues: [{ code: 'column_count', message: 'row has 27 fields, the header has 28' }] }]);
    expect(linesOf(events)).toHaveLength(1);
  });

  it('an unclosed quote rejects its own line only', async () => {
    const events = await collect(csvCodec.decode(memoryInput('d.csv', csv(GOOD.replace('ADH000123', '"ADH000123'), GOOD, GOOD))));
    expect(rejectsOf(events)).toMatchObject([{ origin: { record: 2 }, issues: [{ code: 'invalid_csv' }] }]);
    expect(linesOf(events)).toHaveLength(2);
  });

  it('an overlong line is rejected without being held, and the line numbers after it stay right', async () => {
    const codec = createCsvCodec({ maxLineBytes: 1000 });
    const long = 'x'.repeat(50_000);
    const events = await collect(codec.decode(memoryInput('d.csv', csv(GOOD, long, GOOD), { chunk: 4096 })));
    expect(events.map((e) => (e.kind === 'line' ? e.origin.record : e.rejected.origin.record))).toEqual([2, 3, 4]);
    expect(rejectsOf(events)).toMatchObject([{ issues: [{ code: 'too_long', message: 'line 3 is 50000 bytes long, more than the 1000 a row may hold' }] }]);
  });
});

describe('CSV décompte codec: header', () => {
  it('refuses the file when columns are missing or unknown, naming them all', async () => {
    const header = HEADER.replace('nir_key;', '').replace(';tp;', ';tiers;');
    const err = await collect(csvCodec.decode(memoryInput('d.csv', `${header}\n`))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect(err).toMatchObject({ code: 'INGEST_CSV_HEADER', context: { file: 'd.csv', missing: ['nir_key', 'tp'], unknown: ['tiers'] } });
    expect((err as Error).message).toContain('missing column(s) nir_key, tp; unknown column(s) tiers');
  });

  it('refuses an empty file', async () => {
    await expect(collect(csvCodec.decode(memoryInput('d.csv', '')))).rejects.toMatchObject({ code: 'INGEST_CSV_HEADER' });
  });
});

describe('encodeCsv', () => {
  it('writes the formats.md header and one row per line, read back identically', async () => {
    const lines = [consultation(), consultation({ lineNo: 2, operation: 'A', ...NIR_B, psSpecialty: null, side: 'L', coefficient: '1.5', accident: true })];
    const text = [...encodeCsv(lines)].join('');
    expect(text.split('\n')[0]).toBe(HEADER);
    expect(text.split('\n')[1]).toBe(GOOD);
    expect(linesOf(await collect(csvCodec.decode(memoryInput('d.csv', text))))).toEqual(lines);
  });
});
