import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCsv } from '../../src/ingest/csv/index.js';
import { encodeXml } from '../../src/ingest/xml/index.js';
import { encodeNoemie } from '../../src/ingest/noemie/index.js';
import { linesOf } from './codec-support.js';
import { consultation, NIR_B } from './codec-support.js';
import { readAll, tempDir, zipBuffer } from './zip-support.js';

const META = { emitter: 'CPAM DE PARIS', amcNumber: '0123456789', fileId: 'F-2024-001', createdOn: '2024-03-12' };
const INVOICE_JSON = JSON.stringify({
  invoice_id: 'F-1',
  amc_member_id: 'ADH000123',
  nir: '1850775123456',
  rang: 1,
  ps_id: '75123456700012',
  ps_kind: 'osteopath',
  invoice_date: '2024-03-10',
  lines: [{ act_code: 'OST', care_date: '2024-03-08', quantity: 1, expense: '60.00' }],
});
const INVOICE_CSV = 'invoice_id;amc_member_id;nir;rang;ps_id;ps_kind;invoice_date;act_code;care_date;quantity;expense\nF-2;ADH000123;1850775123456;1;75123456700012;osteopath;2024-03-10;OST;2024-03-08;1;60.00\n';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => dir.remove());

describe('ZIP drops', () => {
  it('decodes every entry with the codec its extension and header name, skipping directories and __MACOSX', async () => {
    const a = [consultation(), consultation({ lineNo: 2, actCode: 'C' })];
    const b = [consultation({ decompteId: 'D2', ...NIR_B, rang: 2 })];
    const c = [consultation({ decompteId: 'D3', operation: 'A' })];
    const zip = await zipBuffer([
      { name: 'caisse/' , dir: true },
      { name: 'caisse/a.csv', data: [...encodeCsv(a)].join('') },
      { name: 'caisse/b.XML', data: [...encodeXml(b)].join('') },
      { name: 'c.noemie', data: Buffer.concat([...encodeNoemie(c, META)]) },
      { name: '__MACOSX/caisse/._a.csv', data: 'mac junk' },
      { name: 'uploads/f.json', data: INVOICE_JSON, store: true },
      { name: 'uploads/f.csv', data: INVOICE_CSV },
    ]);
    const path = await dir.write('drop.zip', zip);
    const parts = await readAll(path, { name: 'CPAM75_20240312.zip' });
    expect(parts.map((p) => [p.file, p.entry, p.format, p.error?.code, p.events.length])).toEqual([
      ['CPAM75_20240312.zip', 'caisse/a.csv', 'csv', undefined, 2],
      ['CPAM75_20240312.zip', 'caisse/b.XML', 'xml', undefined, 1],
      ['CPAM75_20240312.zip', 'c.noemie', 'noemie', undefined, 1],
      ['CPAM75_20240312.zip', 'uploads/f.json', 'invoice-json', undefined, 1],
      ['CPAM75_20240312.zip', 'uploads/f.csv', 'invoice-csv', undefined, 1],
    ]);
    expect(linesOf(parts[0]!.events)).toEqual(a);
    expect(linesOf(parts[1]!.events)).toEqual(b);
    expect(linesOf(parts[2]!.events)).toEqual(c);
    expect(parts[0]!.events[0]).toMatchObject({ origin: { file: 'CPAM75_20240312.zip', entry: 'caisse/a.csv', record: 2 } });
  });

  it('an entry that is refused does not stop the next ones', async () => {
    const zip = await zipBuffer([
      { name: 'a.csv', data: [...encodeCsv([consultation()])].join('') },
      { name: 'notes.txt', data: 'hello' },
      { name: 'b.csv', data: '%PDF-1.4 not a csv' },
      { name: 'c.csv', data: [...encodeCsv([consultation({ decompteId: 'D9' })])].join('') },
    ]);
    const parts = await readAll(await dir.write('mixed.zip', zip));
    expect(parts.map((p) => [p.entry, p.format, p.error?.code ?? p.events.length])).toEqual([
      ['a.csv', 'csv', 1],
      ['notes.txt', 'unknown', 'INGEST_UNKNOWN_FORMAT'],
      ['b.csv', 'csv', 'INGEST_FORMAT_MISMATCH'],
      ['c.csv', 'csv', 1],
    ]);
    expect(parts[2]!.error?.message).toBe('mixed.zip!b.csv is not a CSV décompte or invoice file: it starts with "%PDF-1.4 not a csv"');
  });

  it('two entries with the same name are both read (nothing hidden behind a name)', async () => {
    const zip = await zipBuffer([
      { name: 'a.csv', data: [...encodeCsv([consultation()])].join('') },
      { name: 'a.csv', data: [...encodeCsv([consultation({ decompteId: 'D2' })])].join('') },
    ]);
    const parts = await readAll(await dir.write('twins.zip', zip));
    expect(parts.map((p) => [p.entry, linesOf(p.events).map((l) => l.decompteId)])).toEqual([
      ['a.csv', ['D000000001']],
      ['a.csv', ['D2']],
    ]);
  });

  it('an empty archive yields no part', async () => {
    const parts = await readAll(await dir.write('empty.zip', await zipBuffer([])));
    expect(parts).toEqual([]);
  });
});
