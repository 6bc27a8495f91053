import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODECS } from '../../src/ingest/drop.js';
import { ingestDrop } from '../../src/ingest/ingest-drop.js';
import { NdjsonSink } from '../../src/ingest/sink.js';
import { crc32 } from '../../src/ingest/zip/crc32.js';
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

describe('ZIP entry integrity (CRC-32 and size)', () => {
  /** Local header of the entry named `name`: where its compressed bytes start, and how many (central directory). */
  function entryData(zip: Buffer, name: string): { start: number; size: number } {
    const cd = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
    for (let at = zip.indexOf(cd); at !== -1; at = zip.indexOf(cd, at + 1)) {
      const nameLength = zip.readUInt16LE(at + 28);
      if (zip.toString('latin1', at + 46, at + 46 + nameLength) !== name) continue;
      const local = zip.readUInt32LE(at + 42);
      expect(zip.readUInt16LE(local + 6) & 0x08, 'the entry uses a data descriptor').toBe(0x08);
      return { start: local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28), size: zip.readUInt32LE(at + 20) };
    }
    throw new Error(`no entry ${name}`);
  }

  it('crc32 gives the standard check value', () => {
    // the CRC-32/ISO-HDLC check value of "123456789" (every CRC catalogue lists it)
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('a bit flipped in a deflated entry with a data descriptor: the entry is refused, nothing of it published, the others go on', async () => {
    const csvOf = (decompteId: string, expense: string) => [...encodeCsv([consultation({ decompteId, expense, br: expense })])].join('');
    const b = csvOf('D2', '68.55');
    // stream: true is how src/generate writes its ZIPs (sizes unknown up front → flag bit 3)
    const zip = await zipBuffer([
      { name: 'a.csv', data: csvOf('D1', '30.00'), stream: true },
      { name: 'b.csv', data: b, stream: true },
      { name: 'c.csv', data: csvOf('D3', '25.00'), stream: true },
    ]);
    // Find a single bit whose flip still inflates, to the same length, with only digits changed in
    // the expense column: the silent damage of the audit (68.55 read as another amount).
    const { start, size } = entryData(zip, 'b.csv');
    const expenseColumn = b.split('\n')[0]!.split(';').indexOf('expense');
    let damaged: Buffer | undefined;
    for (let bit = 0; bit < size * 8 && !damaged; bit += 1) {
      const candidate = Buffer.from(zip);
      candidate[start + (bit >> 3)]! ^= 1 << (bit & 7);
      let out: string;
      try {
        out = inflateRawSync(candidate.subarray(start, start + size)).toString('utf8');
      } catch {
        continue;
      }
      const row = out.split('\n')[1]?.split(';') ?? [];
      if (out.length === b.length && /^\d+\.\d\d$/.test(row[expenseColumn] ?? '') && row[expenseColumn] !== '68.55') damaged = candidate;
    }
    expect(damaged, 'a flip that changes the amount exists').toBeDefined();

    const out = dir.path('crc-out');
    const sink = new NdjsonSink(out);
    const result = await ingestDrop(await dir.write('flipped.zip', damaged!), { sink });
    await sink.close();
    expect(result.parts.map((p) => [p.entry, p.error?.code ?? p.accepted])).toEqual([
      ['a.csv', 1],
      ['b.csv', 'INGEST_ZIP_CORRUPT'],
      ['c.csv', 1],
    ]);
    expect(result.parts[1]!.error!.message).toMatch(/^flipped\.zip!b\.csv has CRC-32 [0-9a-f]{8} where the archive declares [0-9a-f]{8}: the entry is damaged/);
    const published = (await readFile(join(out, 'lines.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { decompteId: string; expense: string });
    // a (30.00) and c (25.00) only: nothing of b, neither 68.55 nor the damaged amount
    expect(published.map((l) => [l.decompteId, l.expense])).toEqual([['D1', '30.00'], ['D3', '25.00']]);
    expect(result.totals.expense).toBe('55.00'); // 30.00 + 25.00
  });

  it('a stored entry with a data descriptor whose bytes were changed is refused too', async () => {
    const b = [...encodeCsv([consultation({ expense: '68.55', br: '68.55' })])].join('');
    const zip = await zipBuffer([{ name: 'b.csv', data: b, store: true, stream: true }]);
    const { start } = entryData(zip, 'b.csv');
    const at = start + b.indexOf('68.55');
    const damaged = Buffer.from(zip);
    damaged[at] = '9'.charCodeAt(0); // 68.55 → 98.55, same length
    const parts = await readAll(await dir.write('stored.zip', damaged));
    expect(parts.map((p) => [p.entry, p.error?.code])).toEqual([['b.csv', 'INGEST_ZIP_CORRUPT']]);
  });
});

describe('ZIP entry integrity when the codec stops reading early', () => {
  it('the entry is read through once more before its part ends: a damaged tail is still caught', async () => {
    const original = CODECS.csv;
    // a codec that takes the first chunk and stops: the integrity check at the stream's end never ran
    CODECS.csv = {
      format: 'csv',
      decode: async function* (input) {
        const stream = await input.open();
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          void chunk;
          break;
        }
        yield { kind: 'line', line: consultation(), origin: { file: input.file, ...(input.entry ? { entry: input.entry } : {}), record: 2 } };
      },
    };
    try {
      const good = 'decompte_id;x\n' + 'y'.repeat(200_000) + '\n';
      const zip = await zipBuffer([{ name: 'damaged.csv', data: good, store: true, stream: true }, { name: 'intact.csv', data: good, store: true, stream: true }]);
      const damaged = Buffer.from(zip);
      const at = damaged.indexOf('y'.repeat(100)) + 150_000; // far past the first chunk the codec reads
      damaged[at] = 'z'.charCodeAt(0);
      const parts = await readAll(await dir.write('early.zip', damaged));
      expect(parts.map((p) => [p.entry, p.error?.code ?? p.events.length])).toEqual([
        ['damaged.csv', 'INGEST_ZIP_CORRUPT'],
        ['intact.csv', 1],
      ]);
    } finally {
      CODECS.csv = original;
    }
  });
});
