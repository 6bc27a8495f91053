import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZipLimits } from '../../src/config.js';
import { encodeCsv } from '../../src/ingest/csv/index.js';
import { consultation } from './codec-support.js';
import { patchDeclaredSize, patchName, readAll, tempDir, zipBuffer } from './zip-support.js';

/**
 * Hostile drops: every one is refused with a clear error, fast, without stalling or crashing, and
 * the good entries beside it still go through. Limits are lowered so that bombs stay small: a
 * 20 MB run of zeros deflates to ~20 KB (ratio ~1000:1).
 */
const GOOD_CSV = [...encodeCsv([consultation()])].join('');
const MB = 1024 * 1024;
const LIMITS: ZipLimits = { maxEntryBytes: 4 * MB, maxTotalBytes: 6 * MB, maxEntries: 10, maxRatio: 200 };
const ZEROS = Buffer.alloc(20 * MB);

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => dir.remove());

const summary = (parts: Awaited<ReturnType<typeof readAll>>) => parts.map((p) => [p.entry ?? null, p.error?.code ?? p.events.length]);

describe('zip slip', () => {
  it('refuses entries whose path escapes (.., absolute, drive letter, backslash) and reads the others', async () => {
    // yazl refuses to write such names: write look-alikes of the same length, then patch the bytes.
    let zip = await zipBuffer([
      { name: 'xx/evil.csv', data: GOOD_CSV },
      { name: 'Xabs.csv', data: GOOD_CSV },
      { name: 'CXwin.csv', data: GOOD_CSV },
      { name: 'aXX.csv', data: GOOD_CSV },
      { name: 'ok.csv', data: GOOD_CSV },
      { name: 'deepX/xx/yy.csv', data: GOOD_CSV },
    ]);
    zip = patchName(zip, 'xx/evil.csv', '../evil.csv');
    zip = patchName(zip, 'Xabs.csv', '/abs.csv');
    zip = patchName(zip, 'CXwin.csv', 'C:win.csv');
    zip = patchName(zip, 'aXX.csv', 'a\\..csv');
    zip = patchName(zip, 'deepX/xx/yy.csv', 'deep/../../.csv');
    const parts = await readAll(await dir.write('slip.zip', zip), { limits: LIMITS });
    expect(summary(parts)).toEqual([
      ['../evil.csv', 'INGEST_ZIP_SLIP'],
      ['/abs.csv', 'INGEST_ZIP_SLIP'],
      ['C:win.csv', 'INGEST_ZIP_SLIP'],
      ['a\\..csv', 'INGEST_ZIP_SLIP'],
      ['ok.csv', 1],
      ['deep/../../.csv', 'INGEST_ZIP_SLIP'],
    ]);
    expect(parts[0]!.error?.message).toBe('slip.zip!../evil.csv: the entry path escapes the archive (a ".." segment); refused (zip slip)');
  });
});

describe('zip bomb', () => {
  it('an entry declaring more than maxEntryBytes is refused before inflating', async () => {
    const zip = await zipBuffer([{ name: 'bomb.csv', data: ZEROS }, { name: 'ok.csv', data: GOOD_CSV }]);
    expect(zip.length).toBeLessThan(100_000);
    const parts = await readAll(await dir.write('bomb.zip', zip), { limits: { ...LIMITS, maxTotalBytes: 100 * MB } });
    expect(summary(parts)).toEqual([
      ['bomb.csv', 'INGEST_ZIP_BOMB'],
      ['ok.csv', 1],
    ]);
    expect(parts[0]!.error?.message).toContain(`declares ${20 * MB} bytes inflated, over the ${4 * MB} allowed`);
  });

  it('a compression ratio over maxRatio is refused even under the size limits', async () => {
    const zip = await zipBuffer([{ name: 'bomb.csv', data: ZEROS }]);
    const parts = await readAll(await dir.write('ratio.zip', zip), { limits: { ...LIMITS, maxEntryBytes: 64 * MB, maxTotalBytes: 64 * MB } });
    expect(parts[0]!.error).toMatchObject({ code: 'INGEST_ZIP_BOMB', message: expect.stringContaining('compression ratio over 200:1') });
  });

  it('declared sizes that lie are caught on the bytes really inflated', async () => {
    // Streamed entry: flag bit 3 (data descriptor), so node-stream-zip checks neither CRC nor size.
    let zip = await zipBuffer([{ name: 'liar.csv', data: Buffer.concat([Buffer.from(GOOD_CSV), ZEROS]), stream: true }, { name: 'ok.csv', data: GOOD_CSV }]);
    zip = patchDeclaredSize(zip, 'liar.csv', 1000);
    const parts = await readAll(await dir.write('liar.zip', zip), { limits: LIMITS });
    expect(summary(parts)).toEqual([
      ['liar.csv', 'INGEST_ZIP_BOMB'],
      ['ok.csv', 1],
    ]);
    expect(parts[0]!.error?.message).toMatch(/liar\.csv (inflates past 4194304 bytes|inflates over 200 times)/);
  });

  it('an archive declaring more than maxTotalBytes, or holding more than maxEntries, is refused whole', async () => {
    const big = Buffer.alloc(4 * MB - 1, 'a');
    const total = await zipBuffer([{ name: 'a.csv', data: big, store: true }, { name: 'b.csv', data: big, store: true }]);
    const parts = await readAll(await dir.write('total.zip', total), { limits: LIMITS });
    expect(parts).toEqual([{ file: 'total.zip', format: 'zip', events: [], error: { code: 'INGEST_ZIP_BOMB', message: `total.zip declares ${2 * (4 * MB - 1)} bytes inflated, over the ${6 * MB} allowed for a drop` } }]);

    const many = await zipBuffer(Array.from({ length: 11 }, (_, i) => ({ name: `${i}.csv`, data: GOOD_CSV })));
    const refused = await readAll(await dir.write('many.zip', many), { limits: LIMITS });
    expect(refused).toMatchObject([{ format: 'zip', error: { code: 'INGEST_ZIP_BOMB', message: 'many.zip holds 11 entries, more than the 10 allowed' } }]);
  });

  it('the archive total is enforced on real bytes too: entries after the limit are refused', async () => {
    // Two streamed entries of 3.5 MB of CSV-looking text each, declared as 1000 bytes.
    const filler = Buffer.from(GOOD_CSV + `${'x'.repeat(99)}\n`.repeat(35_000));
    let zip = await zipBuffer([{ name: 'a.csv', data: filler, stream: true }, { name: 'b.csv', data: filler, stream: true }]);
    zip = patchDeclaredSize(patchDeclaredSize(zip, 'a.csv', 1000), 'b.csv', 1000);
    const parts = await readAll(await dir.write('real-total.zip', zip), { limits: { ...LIMITS, maxRatio: 100_000 } });
    // a.csv: 3.5 MB < 4 MB per entry, read to its end (its 35 000 filler lines are rejected rows),
    // then refused because it inflated to more than the 1000 bytes declared; its bytes still count:
    // b.csv crosses 6 MB in total
    expect(parts[0]!.error).toMatchObject({ code: 'INGEST_ZIP_CORRUPT', message: expect.stringContaining(`real-total.zip!a.csv inflates to ${filler.length} bytes where the archive declares 1000`) });
    expect(parts[1]!.error).toMatchObject({ code: 'INGEST_ZIP_BOMB', message: expect.stringContaining('takes the archive past 6291456 inflated bytes') });
  });

  it('a ZIP inside the ZIP is refused', async () => {
    const inner = await zipBuffer([{ name: 'a.csv', data: GOOD_CSV }]);
    const zip = await zipBuffer([{ name: 'inner.zip', data: inner }, { name: 'ok.csv', data: GOOD_CSV }]);
    const parts = await readAll(await dir.write('nested.zip', zip), { limits: LIMITS });
    expect(summary(parts)).toEqual([
      ['inner.zip', 'INGEST_UNKNOWN_FORMAT'],
      ['ok.csv', 1],
    ]);
  });
});

describe('corrupt archives', () => {
  it('a truncated archive (no central directory) is refused whole: INGEST_ZIP_CORRUPT', async () => {
    const zip = await zipBuffer([{ name: 'a.csv', data: GOOD_CSV }]);
    const parts = await readAll(await dir.write('cut.zip', zip.subarray(0, 60)));
    expect(parts).toMatchObject([{ file: 'cut.zip', format: 'zip', error: { code: 'INGEST_ZIP_CORRUPT', message: expect.stringContaining('cut.zip is not a readable ZIP archive') } }]);
  });

  it('damaged entry data fails that entry only: INGEST_ZIP_CORRUPT', async () => {
    const zip = Buffer.from(await zipBuffer([{ name: 'a.csv', data: GOOD_CSV.repeat(50) }, { name: 'b.csv', data: GOOD_CSV }]));
    // The deflated data of a.csv starts after its 30-byte local header and 5-byte name.
    for (let i = 35 + 20; i < 35 + 60; i += 1) zip[i] = 0xff - (zip[i] ?? 0);
    const parts = await readAll(await dir.write('damaged.zip', zip));
    expect(summary(parts)).toEqual([
      ['a.csv', 'INGEST_ZIP_CORRUPT'],
      ['b.csv', 1],
    ]);
  });

  it('a .zip that is not a ZIP → INGEST_FORMAT_MISMATCH', async () => {
    const parts = await readAll(await dir.write('fake.zip', GOOD_CSV));
    expect(parts).toMatchObject([{ format: 'zip', error: { code: 'INGEST_FORMAT_MISMATCH', message: 'fake.zip is not a ZIP archive: it starts with "decompte_id;line_no;oper"…' } }]);
  });
});

describe('XML entity expansion in a drop', () => {
  it('a billion-laughs XML entry is refused, the next entry is read', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><decomptes><decompte id="&b;"/></decomptes>`;
    const zip = await zipBuffer([{ name: 'lol.xml', data: laughs }, { name: 'ok.csv', data: GOOD_CSV }]);
    const parts = await readAll(await dir.write('lol.zip', zip));
    expect(summary(parts)).toEqual([
      ['lol.xml', 'INGEST_XML_DOCTYPE'],
      ['ok.csv', 1],
    ]);
  });
});
