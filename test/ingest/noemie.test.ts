import { describe, expect, it } from 'vitest';
import { IngestError } from '../../src/ingest/types.js';
import { readNoemieHeader } from '../../src/ingest/noemie/index.js';
import { DEFAULT_LINE, KEY_B, NIR_B, decodeAll, fileOf, inputOf, lines, rec, rejects } from './noemie-support.js';

/** A well-formed one-décompte file around the given 255 records (all with the default RO 21.00). */
function oneDecompte(acts: string[], roTotal = `${2100 * acts.length}P`): Buffer {
  // records: 000, 100, 103, 120, acts…, 990, 999 → 6 + acts
  return fileOf([rec.header(), rec.decompte(), rec.beneficiary(), rec.professional(), ...acts, rec.control(acts.length, roTotal), rec.trailer(6 + acts.length, 1, roTotal)]);
}

describe('noemieCodec: well-formed files', () => {
  it('decodes a 255 into the ActLine of its 100/103/120, with the record number as origin', async () => {
    const { events, error } = await decodeAll(inputOf(oneDecompte([rec.act()])));
    expect(error).toBeUndefined();
    expect(events).toEqual([{ kind: 'line', line: DEFAULT_LINE, origin: { file: 'drop.noemie', record: 5 } }]);
  });

  it('reads the fixed decimals and signs: coefficient 0000015000 = 1.5, rate 06500 = 65, N = negative', async () => {
    // pf "150N" → −1.50 is odd in real life but proves the sign is read; RO stays 21.00 so the totals hold
    const act = rec.act({ coefficient: '15000', ro_rate: '6500', pf: '150N', side: 'R', quantity: '3' });
    const [line] = lines((await decodeAll(inputOf(oneDecompte([act])))).events);
    expect(line).toMatchObject({ coefficient: '1.5', roRate: '65', pf: '-1.50', side: 'R', quantity: 3 });
  });

  it('applies a new 103 / 120 inside a décompte to the 255s after it only', async () => {
    const file = fileOf([
      rec.header(),
      rec.decompte(),
      rec.beneficiary(),
      rec.professional(),
      rec.act({ line_no: '1' }),
      rec.beneficiary({ nir: NIR_B, nir_key: KEY_B, rang: '2', birth_date: '', amc_member_id: 'ADH000124' }),
      rec.professional({ ps_id: '750000001', ps_specialty: '', ps_dptm: 'N' }),
      rec.act({ line_no: '2' }),
      rec.control(2, '4200P'),
      rec.trailer(10, 1, '4200P'),
    ]);
    const got = lines((await decodeAll(inputOf(file))).events);
    expect(got).toEqual([
      DEFAULT_LINE,
      { ...DEFAULT_LINE, lineNo: 2, nir: NIR_B, nirKey: KEY_B, rang: 2, birthDate: null, amcMemberId: 'ADH000124', psId: '750000001', psSpecialty: null, psDptm: false },
    ]);
  });

  it('accepts \\r\\n line ends', async () => {
    const file = fileOf([rec.header(), rec.decompte(), rec.beneficiary(), rec.professional(), rec.act(), rec.control(1, '2100P'), rec.trailer(7, 1, '2100P')], '\r\n');
    expect(lines((await decodeAll(inputOf(file))).events)).toEqual([DEFAULT_LINE]);
  });

  it('decodes Latin-1: byte 0xE9 in the émetteur reads as é', async () => {
    const file = oneDecompte([rec.act()]);
    // emitter starts at position 4 (0-based offset 3): "S\xE9cu..." written as raw bytes
    const bytes = Buffer.from(file);
    bytes.write('S', 3, 'latin1');
    bytes[4] = 0xe9;
    bytes.write('cu', 5, 'latin1');
    const header = await readNoemieHeader(inputOf(bytes));
    expect(header?.emitter).toBe('Sécu DE PARIS');
  });

  it('labels origins with the ZIP entry when there is one', async () => {
    const input = { ...inputOf(oneDecompte([rec.act()]), 'drop.zip'), entry: 'a/b.noemie' };
    const [e] = (await decodeAll(input)).events;
    expect(e).toMatchObject({ origin: { file: 'drop.zip', entry: 'a/b.noemie', record: 5 } });
  });
});

describe('noemieCodec: control totals refuse the whole file', () => {
  async function refused(file: Buffer) {
    const { events, error } = await decodeAll(inputOf(file, 'caisse.noemie'));
    expect(events).toEqual([]); // nothing yielded before the error
    expect(error).toBeInstanceOf(IngestError);
    return error as IngestError;
  }

  it('990 line count off by one', async () => {
    const acts = [rec.act({ line_no: '1' }), rec.act({ line_no: '2' })];
    // 2 act lines × 21.00 = 42.00 but the 990 (record 7) declares 3 lines
    const e = await refused(fileOf([rec.header(), rec.decompte(), rec.beneficiary(), rec.professional(), ...acts, rec.control(3, '4200P'), rec.trailer(8, 1, '4200P')]));
    expect(e.code).toBe('INGEST_CONTROL_TOTALS');
    expect(e.context).toMatchObject({ file: 'caisse.noemie', record: 7, expected: { lines: 3, roTotal: '42.00' }, found: { lines: 2, roTotal: '42.00' } });
    expect(e.message).toContain('caisse.noemie record 7');
    expect(e.message).toContain('expects 3 act lines');
  });

  it('990 RO sum off by one cent', async () => {
    const e = await refused(oneDecompte([rec.act(), rec.act({ line_no: '2' })], '4201P'));
    expect(e.context).toMatchObject({ record: 7, expected: { roTotal: '42.01' }, found: { roTotal: '42.00' } });
  });

  it('990 sign: N where the sum is positive', async () => {
    const e = await refused(oneDecompte([rec.act()], '2100N'));
    expect(e.context).toMatchObject({ expected: { roTotal: '-21.00' }, found: { roTotal: '21.00' } });
  });

  it('999 record count, décompte count and total', async () => {
    const base = [rec.header(), rec.decompte(), rec.beneficiary(), rec.professional(), rec.act(), rec.control(1, '2100P')];
    // 7 records, 1 décompte, 21.00
    const byRecords = await refused(fileOf([...base, rec.trailer(8, 1, '2100P')]));
    expect(byRecords.context).toMatchObject({ record: 7, expected: { records: 8 }, found: { records: 7 } });
    const byDecomptes = await refused(fileOf([...base, rec.trailer(7, 2, '2100P')]));
    expect(byDecomptes.context).toMatchObject({ expected: { decomptes: 2 }, found: { decomptes: 1 } });
    const byTotal = await refused(fileOf([...base, rec.trailer(7, 1, '2000P')]));
    expect(byTotal.code).toBe('INGEST_CONTROL_TOTALS');
    expect(byTotal.message).toMatch(/999 trailer expects 7 records, 1 décomptes and RO total 20\.00, found 7 records, 1 décomptes and RO total 21\.00/);
  });

  it('an unreadable ro_amount makes the control unverifiable', async () => {
    const e = await refused(oneDecompte([rec.act({ ro_amount: '21,00P' })]));
    expect(e.code).toBe('INGEST_CONTROL_TOTALS');
    expect(e.context).toMatchObject({ record: 5, field: 'ro_amount' });
  });

  it('an unreadable 990 refuses the file', async () => {
    const bad990 = rec.control(1, '2100P').replace('@', ' ');
    const e = await refused(fileOf([rec.header(), rec.decompte(), rec.beneficiary(), rec.professional(), rec.act(), bad990, rec.trailer(7, 1, '2100P')]));
    expect(e.code).toBe('INGEST_CONTROL_TOTALS');
    expect(e.context).toMatchObject({ record: 6 });
  });
});

describe('noemieCodec: structure', () => {
  it('a file not starting with a 000 is not a NOEMIE file', async () => {
    const csv = await decodeAll(inputOf(Buffer.from('decompte_id;line_no\nD1;1\n')));
    expect(csv.error).toMatchObject({ code: 'INGEST_FORMAT_MISMATCH', context: { record: 1 } });
    expect((csv.error as Error).message).toContain('not a NOEMIE file');
    const empty = await decodeAll(inputOf(Buffer.alloc(0)));
    expect(empty.error).toMatchObject({ code: 'INGEST_FORMAT_MISMATCH' });
  });

  it('a file written in UTF-8 is refused, with the hint', async () => {
    // "É" is two bytes in UTF-8: the 000 is 257 bytes long
    const utf8 = Buffer.from(`${rec.header({ emitter: "CPAM DE L'HÉRAULT" })}\n`, 'utf8');
    const { error } = await decodeAll(inputOf(utf8));
    expect(error).toMatchObject({ code: 'INGEST_FORMAT_MISMATCH' });
    expect((error as Error).message).toMatch(/257 characters.*looks UTF-8 encoded/);
  });

  it.each([
    ['a 255 before any 100', [rec.header(), rec.act(), rec.trailer(3, 0, '2100P')], 2],
    ['a 255 before any 103', [rec.header(), rec.decompte(), rec.professional(), rec.act(), rec.control(1, '2100P'), rec.trailer(6, 1, '2100P')], 4],
    ['a 100 inside an open décompte', [rec.header(), rec.decompte(), rec.decompte(), rec.control(0, '0P'), rec.trailer(5, 2, '0P')], 3],
    ['a 999 before the 990', [rec.header(), rec.decompte(), rec.trailer(3, 1, '0P')], 3],
    ['a record after the 999', [rec.header(), rec.trailer(2, 0, '0P'), rec.decompte()], 3],
    ['no 999 (truncated file)', [rec.header(), rec.decompte(), rec.control(0, '0P')], 3],
    ['a second 000', [rec.header(), rec.header(), rec.trailer(3, 0, '0P')], 2],
  ])('%s is INGEST_STRUCTURE, naming the record', async (_name, records, record) => {
    const { events, error } = await decodeAll(inputOf(fileOf(records)));
    expect(events).toEqual([]);
    expect(error).toMatchObject({ code: 'INGEST_STRUCTURE', context: { file: 'drop.noemie', record } });
  });
});

describe('noemieCodec: record-level rejects, the rest of the file goes on', () => {
  async function decodeWith(acts: string[]) {
    const { events, error } = await decodeAll(inputOf(oneDecompte(acts)));
    expect(error).toBeUndefined();
    return events;
  }

  it('a bad care date: record 5 rejected naming care_start, record 6 accepted', async () => {
    const events = await decodeWith([rec.act({ care_start: '20240231', care_end: '20240301' }), rec.act({ line_no: '2' })]);
    expect(rejects(events)).toEqual([
      {
        origin: { file: 'drop.noemie', record: 5 },
        issues: [expect.objectContaining({ path: ['care_start'], input: '2024-02-31', message: 'not a calendar date' })],
        raw: rec.act({ care_start: '20240231', care_end: '20240301' }).trimEnd(),
      },
    ]);
    expect(lines(events)).toEqual([{ ...DEFAULT_LINE, lineNo: 2 }]);
  });

  it('a bad expense amount is a bad_amount on expense; totals still hold since ro_amount reads', async () => {
    const events = await decodeWith([rec.act({ expense: '30O0P' }), rec.act({ line_no: '2', br: '3000X' })]);
    expect(rejects(events).map((r) => [r.origin.record, r.issues.map((i) => [i.code, i.path, i.input])])).toEqual([
      [5, [['bad_amount', ['expense'], '000000000030O0P']]],
      [6, [['bad_amount', ['br'], '00000000003000X']]],
    ]);
  });

  it('lists every issue of a record, not only the first', async () => {
    const events = await decodeWith([rec.act({ care_end: '2024030A', pathway: 'Z', tp: '99', accident: '?' })]);
    const [r] = rejects(events);
    // care_end fails twice in the model's date schema (pattern, then calendar), hence the Set
    expect([...new Set(r?.issues.map((i) => i.path[0]))].sort()).toEqual(['accident', 'care_end', 'pathway', 'tp']);
  });

  it('a bad NIR key on the 103 rejects its 255s with nir_key, naming the 103 record', async () => {
    const file = fileOf([
      rec.header(),
      rec.decompte(),
      rec.beneficiary({ nir_key: '07' }), // key of NIR_A is 08
      rec.professional(),
      rec.act(),
      rec.beneficiary(),
      rec.act({ line_no: '2' }),
      rec.control(2, '4200P'),
      rec.trailer(9, 1, '4200P'),
    ]);
    const { events } = await decodeAll(inputOf(file));
    const [r] = rejects(events);
    expect(r?.origin.record).toBe(5);
    expect(r?.issues).toEqual([expect.objectContaining({ path: ['nir_key'], input: '07', message: expect.stringContaining('(from the 103 record 3)') })]);
    expect(lines(events)).toEqual([{ ...DEFAULT_LINE, lineNo: 2 }]);
  });

  it('an unknown entity code is rejected and counted in the 999 record count', async () => {
    const file = fileOf([
      rec.header(),
      rec.decompte(),
      `105${rec.beneficiary().slice(3)}`,
      rec.beneficiary(),
      rec.professional(),
      rec.act(),
      rec.control(1, '2100P'),
      rec.trailer(8, 1, '2100P'),
    ]);
    const { events, error } = await decodeAll(inputOf(file));
    expect(error).toBeUndefined();
    expect(rejects(events)).toEqual([expect.objectContaining({ origin: { file: 'drop.noemie', record: 3 }, issues: [expect.objectContaining({ code: 'unknown_entity', input: '105' })] })]);
    expect(lines(events)).toEqual([DEFAULT_LINE]);
  });

  it('a malformed 103 is rejected, and so are the 255s that depend on it (not given the previous beneficiary)', async () => {
    const shifted = `${rec.beneficiary().slice(0, 20)} ${rec.beneficiary().slice(20, 255)}`; // a field pushed one position right
    const file = fileOf([
      rec.header(),
      rec.decompte(),
      rec.beneficiary({ nir: NIR_B, nir_key: KEY_B }),
      rec.professional(),
      shifted,
      rec.act(),
      rec.control(1, '2100P'),
      rec.trailer(8, 1, '2100P'),
    ]);
    const { events } = await decodeAll(inputOf(file));
    expect(lines(events)).toEqual([]);
    expect(rejects(events).map((r) => [r.origin.record, r.issues.map((i) => i.code)])).toEqual([
      [5, ['bad_terminator']],
      [6, ['context_rejected']],
    ]);
  });

  it('a record too long is rejected, its RO amount still counts, the file goes on', async () => {
    const long = `${rec.act()}EXTRA`;
    const events = await decodeWith([long, rec.act({ line_no: '2' })]);
    expect(rejects(events)).toEqual([
      expect.objectContaining({ origin: { file: 'drop.noemie', record: 5 }, issues: [expect.objectContaining({ code: 'record_too_long', input: 261 })] }),
    ]);
    expect(lines(events)).toEqual([{ ...DEFAULT_LINE, lineNo: 2 }]);
  });

  it('a non-space after the "@" is bad_padding (something wrote past the last field)', async () => {
    const act = rec.act();
    const events = await decodeWith([`${act.slice(0, 199)}X${act.slice(200)}`]);
    expect(rejects(events)[0]?.issues).toEqual([expect.objectContaining({ code: 'bad_padding', input: `${' '.repeat(64)}X` })]);
  });

  it('a record too short is rejected', async () => {
    const events = await decodeWith([rec.act().slice(0, 200)]);
    expect(rejects(events)[0]?.issues).toEqual([expect.objectContaining({ code: 'record_too_short', input: 200 })]);
  });
});
