import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCsv } from '../../src/ingest/csv/index.js';
import { encodeXml } from '../../src/ingest/xml/index.js';
import { encodeNoemie } from '../../src/ingest/noemie/index.js';
import { readDrop } from '../../src/ingest/drop.js';
import { IngestError } from '../../src/ingest/types.js';
import { consultation, linesOf } from './codec-support.js';
import { readAll, tempDir } from './zip-support.js';

const META = { emitter: 'CPAM DE PARIS', amcNumber: '0123456789', fileId: 'F-2024-001', createdOn: '2024-03-12' };
const LINES = [consultation(), consultation({ lineNo: 2, actCode: 'C' })];
const CSV = [...encodeCsv(LINES)].join('');
const XML = [...encodeXml(LINES)].join('');
const NOEMIE = Buffer.concat([...encodeNoemie(LINES, META)]);
const INVOICE_CSV = 'invoice_id;amc_member_id;nir;rang;ps_id;ps_kind;invoice_date;act_code;care_date;quantity;expense\nF-2;ADH000123;1850775123456;1;75123456700012;osteopath;2024-03-10;OST;2024-03-08;1;60.00\n';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => dir.remove());

describe('readDrop: a single file', () => {
  it('dispatches by extension (any case) and gives the same lines for CSV, XML and NOEMIE', async () => {
    for (const [name, data, format] of [
      ['d.csv', CSV, 'csv'],
      ['d.XML', XML, 'xml'],
      ['d.noemie', NOEMIE, 'noemie'],
    ] as const) {
      const parts = await readAll(await dir.write(name, data));
      expect(parts.map((p) => [p.file, p.entry, p.format, p.error])).toEqual([[name, undefined, format, undefined]]);
      expect(linesOf(parts[0]!.events)).toEqual(LINES);
    }
  });

  it('tells décompte CSV from invoice CSV by the header', async () => {
    const parts = await readAll(await dir.write('upload.csv', INVOICE_CSV));
    expect(parts).toMatchObject([{ format: 'invoice-csv', events: [{ kind: 'line', line: { source: 'invoice', decompteId: 'F-2' } }] }]);
  });

  it('names the part as received when the path is a working copy', async () => {
    const parts = await readAll(await dir.write('tmp-123.csv', CSV), { name: 'CPAM75.csv' });
    expect(parts[0]?.file).toBe('CPAM75.csv');
    expect(parts[0]?.events.map((e) => (e.kind === 'line' ? e.origin : null))).toEqual([
      { file: 'CPAM75.csv', record: 2 },
      { file: 'CPAM75.csv', record: 3 },
    ]);
  });

  it('a part refused is still yielded; its events throw the IngestError when iterated', async () => {
    const gen = readDrop(await dir.write('notes.txt', 'hello'));
    const first = await gen.next();
    expect(first.done).toBe(false);
    const part = first.value!;
    expect(part.format).toBe('unknown');
    const err = await (async () => {
      for await (const e of part.events) void e;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect(err).toMatchObject({ code: 'INGEST_UNKNOWN_FORMAT', context: { file: 'notes.txt' } });
    expect((await gen.next()).done).toBe(true);
  });

  it('a missing file is an INGEST_IO error on its part', async () => {
    const parts = await readAll(dir.path('nowhere.csv'));
    expect(parts).toMatchObject([{ format: 'csv', error: { code: 'INGEST_IO', message: expect.stringContaining('nowhere.csv cannot be read') } }]);
  });
});

describe('readDrop: a file that is not what its extension says → INGEST_FORMAT_MISMATCH', () => {
  const cases: [string, string | Buffer, string][] = [
    ['a.csv', '%PDF-1.7\n', 'a.csv is not a CSV décompte or invoice file: it starts with "%PDF-1.7\\x0a"'],
    ['b.csv', 'nir;rang\n1;2\n', 'b.csv is not a CSV décompte or invoice file: it starts with "nir;rang\\x0a1;2\\x0a"'],
    ['c.noemie', CSV, 'c.noemie is not a NOEMIE décompte file: it starts with "decompte_id;line_no;oper"…'],
    ['d.xml', '{"a":1}', 'd.xml is not an XML décompte file: it starts with "{"a":1}"'],
    ['e.json', XML, 'e.json is not a JSON invoice: it starts with "<?xml version="1.0" enco"…'],
    ['f.csv', '', 'f.csv is not a CSV décompte or invoice file: it is empty'],
  ];
  for (const [name, data, message] of cases) {
    it(name, async () => {
      const parts = await readAll(await dir.write(name, data));
      expect(parts).toEqual([expect.objectContaining({ file: name, error: { code: 'INGEST_FORMAT_MISMATCH', message } })]);
    });
  }

  it('accepts a BOM and leading whitespace before XML and JSON', async () => {
    const parts = await readAll(await dir.write('g.xml', `\uFEFF\n  ${XML}`));
    expect(parts[0]?.error).toBeUndefined();
    expect(linesOf(parts[0]!.events)).toEqual(LINES);
    const json = await readAll(await dir.write('h.json', '\uFEFF \n{"invoice_id": "F-3"}'));
    // past the sniff, the invoice codec reports what is missing: the dispatch accepted the file
    expect(json[0]).toMatchObject({ format: 'invoice-json', events: [{ kind: 'reject' }] });
  });
});
