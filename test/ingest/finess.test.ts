import { describe, expect, it } from 'vitest';
import { csvCodec } from '../../src/ingest/csv/index.js';
import { encodeCsv } from '../../src/ingest/csv/encode.js';
import { encodeNoemie, formatRecord } from '../../src/ingest/noemie/index.js';
import { encodeXml, xmlCodec } from '../../src/ingest/xml/index.js';
import { collect, consultation, linesOf, memoryInput, rejectsOf } from './codec-support.js';
import { DEFAULT_LINE, decodeAll, fileOf, inputOf, lines, rec, rejects } from './noemie-support.js';

/**
 * The optional `finess` of an act line (issue 10): the FINESS of the establishment when the care
 * was given during a stay, in the three décompte encodings. Absent = as before the field existed;
 * a bad value rejects the record on its field, naming file, record and field; the rest goes on.
 */

describe('NOEMIE-style 255: finess at positions 135-143, "@" at 144; records without it ("@" at 135) stay valid', () => {
  const file = (...acts: string[]) => {
    const decompte = [rec.decompte(), rec.beneficiary(), rec.professional(), ...acts];
    // 2 × 21.00 of RO on two lines = 4200 cents; records: 000, 100, 103, 120, the acts, 990, 999
    return fileOf([rec.header(), ...decompte, rec.control(acts.length, `${2100 * acts.length}P`.padStart(17, '0')), rec.trailer(decompte.length + 3, 1, `${2100 * acts.length}P`.padStart(19, '0'))]);
  };

  it('given a 255 with a FINESS and an old 255 without the field, when decoded, then the first carries it and the second has none', async () => {
    const withFiness = rec.act({ finess: '750300360' });
    expect(withFiness.indexOf('@')).toBe(143); // position 144, 1-based
    expect(rec.act().indexOf('@')).toBe(134); // position 135: the layout before the field
    const { events, error } = await decodeAll(inputOf(file(withFiness, rec.act({ line_no: '2' }))));
    expect(error).toBeUndefined();
    expect(rejects(events)).toEqual([]);
    expect(lines(events)).toEqual([{ ...DEFAULT_LINE, finess: '750300360' }, { ...DEFAULT_LINE, lineNo: 2 }]);
    expect('finess' in lines(events)[1]!).toBe(false);
  });

  it('a Corsican FINESS (2A) reads; spaces in the field mean none', async () => {
    const blank = `${formatRecord('255', { line_no: '2', act_code: 'G', care_start: '20240301', care_end: '20240301', quantity: '1', coefficient: '10000', expense: '3000P', br: '3000P', ro_rate: '7000', ro_amount: '2100P', pf: '200P', franchise: '0P', pathway: 'I', tp: '00', accident: 'N' }).slice(0, 134)}${' '.repeat(9)}@`.padEnd(256, ' ');
    const { events } = await decodeAll(inputOf(file(rec.act({ finess: '2A0000014' }), blank)));
    expect(lines(events).map((l) => l.finess)).toEqual(['2A0000014', undefined]);
  });

  it('given a bad FINESS, when decoded, then that 255 is rejected on finess with file and record, and the next line goes on', async () => {
    const { events } = await decodeAll(inputOf(file(rec.act({ finess: '75030036X' }), rec.act({ line_no: '2' })), 'cpam.noemie'));
    // records: 1 000, 2 100, 3 103, 4 120, 5 the bad 255, 6 the good one
    expect(rejects(events)).toEqual([expect.objectContaining({ origin: { file: 'cpam.noemie', record: 5 }, issues: [expect.objectContaining({ path: ['finess'], input: '75030036X' })] })]);
    expect(lines(events).map((l) => l.lineNo)).toEqual([2]);
  });

  it('the encoder writes the field only for lines that have it: files without FINESS are what they were', () => {
    const meta = { emitter: 'CPAM', amcNumber: '0123456789', fileId: 'F1', createdOn: '2024-03-06' };
    const text = Buffer.concat([...encodeNoemie([DEFAULT_LINE, { ...DEFAULT_LINE, lineNo: 2, finess: '750300360' }], meta)]).toString('latin1').split('\n');
    const acts = text.filter((r) => r.startsWith('255'));
    expect(acts[0]).toBe(rec.act());
    expect(acts[1]!.slice(134, 144)).toBe('750300360@');
  });
});

describe('CSV: optional column finess', () => {
  const REQUIRED = [...encodeCsv([])][0]!.trimEnd();

  it('given a file with the finess column, when decoded, then a filled cell is the line finess, an empty one none', async () => {
    const text = [...encodeCsv([consultation({ finess: '750300360' }), consultation({ lineNo: 2 })], { optionalColumns: ['finess'] })].join('');
    expect(text.split('\n')[0]).toBe(`${REQUIRED};finess`);
    const events = await collect(csvCodec.decode(memoryInput('d.csv', text)));
    expect(linesOf(events)).toEqual([consultation({ finess: '750300360' }), consultation({ lineNo: 2 })]);
  });

  it('a file without the column reads as before (no finess on any line)', async () => {
    const events = await collect(csvCodec.decode(memoryInput('d.csv', [...encodeCsv([consultation()])].join(''))));
    expect(linesOf(events)).toEqual([consultation()]);
  });

  it('given a bad FINESS, then that row is rejected on finess with file and line, the next row goes on', async () => {
    const text = [...encodeCsv([consultation({ finess: '750300360' }), consultation({ lineNo: 2, finess: '750300360' })], { optionalColumns: ['finess'] })].join('').replace(';750300360\n', ';7503003\n');
    const events = await collect(csvCodec.decode(memoryInput('d.csv', text)));
    expect(rejectsOf(events)).toEqual([expect.objectContaining({ origin: { file: 'd.csv', record: 2 }, issues: [expect.objectContaining({ path: ['finess'], input: '7503003' })] })]);
    expect(linesOf(events).map((l) => l.lineNo)).toEqual([2]);
  });
});

describe('XML: optional attribute finess on <line>', () => {
  it('given a line with finess and one without, when decoded, then the first carries it', async () => {
    const text = [...encodeXml([consultation({ finess: '2B0000020' }), consultation({ lineNo: 2 })])].join('');
    expect(text).toContain('finess="2B0000020"');
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', text)));
    expect(linesOf(events)).toEqual([consultation({ finess: '2B0000020' }), consultation({ lineNo: 2 })]);
  });

  it('given a bad FINESS, then that <line> is rejected on [line, finess] with file and record, the next line goes on', async () => {
    const text = [...encodeXml([consultation({ finess: '750300360' }), consultation({ lineNo: 2 })])].join('').replace('finess="750300360"', 'finess="2C0000020"');
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', text)));
    expect(rejectsOf(events)).toEqual([expect.objectContaining({ origin: expect.objectContaining({ file: 'd.xml', record: 1 }), issues: [expect.objectContaining({ path: ['line', 'finess'], input: '2C0000020' })] })]);
    expect(linesOf(events).map((l) => l.lineNo)).toEqual([2]);
  });
});
