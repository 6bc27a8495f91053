import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nirKey, type ActLine } from '../../src/model/act-line.js';
import { NoemieEncodeError, encodeNoemie, formatRecord, readRecords } from '../../src/ingest/noemie/index.js';
import { DEFAULT_LINE, KEY_B, NIR_B, decodeAll, inputOf, lines, rec } from './noemie-support.js';

const META = { emitter: "CPAM DE L'HÉRAULT", amcNumber: '0123456789', fileId: 'F-2024-001', createdOn: '2024-03-06' };

function encode(ls: ActLine[], meta = META): Buffer {
  return Buffer.concat([...encodeNoemie(ls, meta)]);
}

async function entities(file: Buffer): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readRecords(inputOfStream(file))) out.push(r.entity ?? '?');
  return out;
}
function inputOfStream(file: Buffer) {
  return (async function* () {
    yield file;
  })();
}

describe('formatRecord: positions (read off schemas/noemie-layout.md by hand)', () => {
  it('255: line_no 4-7, act_code 8-20, expense 51-65, ro_rate 81-85, ro_amount 86-100, "@" at 135, spaces to 256', () => {
    const r = rec.act({ line_no: '12', act_code: 'ADC', ro_rate: '6500' });
    expect(r).toHaveLength(256);
    expect(r.slice(0, 3)).toBe('255');
    expect(r.slice(3, 7)).toBe('0012');
    expect(r.slice(7, 20)).toBe('ADC          ');
    expect(r.slice(40, 50)).toBe('0000010000'); // coefficient 1 with 4 implied decimals
    expect(r.slice(50, 65)).toBe('00000000003000P'); // 30.00 € = 3000 cents
    expect(r.slice(80, 85)).toBe('06500'); // 65 % with 2 implied decimals
    expect(r.slice(85, 100)).toBe('00000000002100P');
    expect(r.slice(130, 134)).toBe('I00N'); // pathway, tp, accident
    expect(r[134]).toBe('@');
    expect(r.slice(135)).toBe(' '.repeat(121));
  });

  it('refuses an unknown field name or a value wider than its field', () => {
    expect(() => formatRecord('103', { nirr: '1' })).toThrow(NoemieEncodeError);
    expect(() => formatRecord('103', { nir: '18507751234567' })).toThrow(/nir/);
  });
});

describe('encodeNoemie', () => {
  // Two décomptes: D1 (3 lines: two for beneficiary A, one for B seen by another PS), D2 an annulation.
  const d1l1 = DEFAULT_LINE;
  const d1l2: ActLine = { ...DEFAULT_LINE, lineNo: 2, actCode: 'B', coefficient: '1.5', expense: '12.40', br: '12.40', roRate: '60', roAmount: '7.44', pf: '0.00' };
  const d1l3: ActLine = {
    ...DEFAULT_LINE,
    lineNo: 3,
    nir: NIR_B,
    nirKey: KEY_B,
    rang: 2,
    birthDate: null,
    amcMemberId: 'ADH000124',
    psId: '750000001',
    psSpecialty: null,
    psDptm: false,
    actCode: '2243339',
    side: 'L',
    careEnd: '2024-03-04',
    quantity: 2,
    expense: '150.00',
    br: '9.15',
    roRate: '60',
    roAmount: '5.49',
    pf: '0.00',
    tp: '15',
    pathway: 'U',
    accident: true,
  };
  const d2l1: ActLine = { ...DEFAULT_LINE, decompteId: 'D2', operation: 'A', roPaymentDate: null, caisse: '011751002' };

  it('writes 100/103/120 only when their fields change, and 990/999 with the totals', async () => {
    const file = encode([d1l1, d1l2, d1l3, d2l1]);
    expect(await entities(file)).toEqual(['000', '100', '103', '120', '255', '255', '103', '120', '255', '990', '100', '103', '120', '255', '990', '999']);
    const records = file.toString('latin1').split('\n');
    // D1 RO: 21.00 + 7.44 + 5.49 = 33.93 → 3393 cents over 3 lines; D2: 21.00
    expect(records[9]?.slice(3, 26)).toBe('000003' + '0000000000003393P');
    expect(records[14]?.slice(3, 26)).toBe('000001' + '0000000000002100P');
    // 16 records, 2 décomptes, 33.93 + 21.00 = 54.93
    expect(records[15]?.slice(3, 40)).toBe('0000000016' + '00000002' + '000000000000005493P');
  });

  it('round trip: decoding what it wrote gives the same ActLines', async () => {
    const input = [d1l1, d1l2, d1l3, d2l1];
    const { events, error } = await decodeAll(inputOf(encode(input)));
    expect(error).toBeUndefined();
    expect(lines(events)).toEqual(input);
  });

  it('writes Latin-1: É of the émetteur is the single byte 0xC9', () => {
    const file = encode([DEFAULT_LINE]);
    // "CPAM DE L'HÉRAULT" starts at position 4; É is its 12th character → byte offset 3 + 11
    expect(file[14]).toBe(0xc9);
    expect(file.subarray(3, 20).toString('latin1')).toBe("CPAM DE L'HÉRAULT");
  });

  it('streams in chunks of whole records', () => {
    const many = Array.from({ length: 600 }, (_, i) => ({ ...DEFAULT_LINE, lineNo: i + 1 }));
    const chunks = [...encodeNoemie(many, META)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length % 257).toBe(0); // 256 + "\n"
    // 000 + 100 + 103 + 120 + 600 × 255 + 990 + 999 = 606 records
    expect(Buffer.concat(chunks).length).toBe(606 * 257);
  });

  it.each([
    // 000, 100, 103, 120, 255: the 103 is record 3, the 255 record 5
    ['coefficient', 5, { coefficient: '1.23456' }, /coefficient.*at most 4 decimals/],
    ['ro_rate', 5, { roRate: '1000' }, /ro_rate/],
    ['act_code', 5, { actCode: 'G\n' }, /act_code.*ISO-8859-1/],
    ['amc_member_id', 3, { amcMemberId: 'ADH€1' }, /amc_member_id.*ISO-8859-1/],
  ])('refuses a value the layout cannot carry: %s', (field, record, change, message) => {
    const bad = { ...DEFAULT_LINE, ...change } as ActLine;
    let caught: unknown;
    try {
      encode([bad]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NoemieEncodeError);
    expect((caught as NoemieEncodeError).context).toMatchObject({ field, record });
    expect((caught as Error).message).toMatch(message);
  });

  it('property: any valid act lines survive encode → decode', async () => {
    const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));
    const money = fc.bigInt({ min: 0n, max: 99_999_999n }).map((c) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`);
    const date = fc.date({ min: new Date('1950-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    const line = fc.record({
      decompteId: fc.stringMatching(/^[A-Z0-9]{1,30}$/),
      lineNo: fc.integer({ min: 1, max: 9999 }),
      operation: fc.constantFrom('I', 'A'),
      caisse: fc.option(digits(9)),
      roPaymentDate: fc.option(date),
      nir: digits(13),
      rang: fc.integer({ min: 1, max: 9 }),
      birthDate: fc.option(date),
      amcMemberId: fc.stringMatching(/^[A-Za-z0-9éèàç-]{1,20}$/),
      psId: fc.stringMatching(/^[0-9A-Z]{1,20}$/),
      psSpecialty: fc.option(digits(2)),
      psDptm: fc.boolean(),
      actCode: fc.stringMatching(/^[A-Z0-9]{1,13}$/),
      side: fc.option(fc.constantFrom('R', 'L')),
      careStart: date,
      quantity: fc.integer({ min: 1, max: 999 }),
      coefficient: fc.constantFrom('1', '0.5', '1.5', '12.25', '100', '0'),
      expense: money,
      br: money,
      roRate: fc.constantFrom('0', '15', '30', '60', '65', '70', '80', '100'),
      roAmount: money,
      pf: money,
      franchise: money,
      pathway: fc.constantFrom('I', 'H', 'U'),
      tp: fc.constantFrom('00', '05', '15', '25'),
      accident: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 8 }), async (drafts) => {
        // valid lines: nobody is born after the care or the RO payment (ActLineSchema refuses it)
        const bornInTime = (d: (typeof drafts)[number]) => d.birthDate === null || (d.birthDate <= d.careStart && (d.roPaymentDate === null || d.birthDate <= d.roPaymentDate));
        const input = drafts.map((d) => ({ ...d, birthDate: bornInTime(d) ? d.birthDate : null, source: 'noemie', nirKey: nirKey(d.nir), careEnd: d.careStart }) as ActLine);
        const { events, error } = await decodeAll(inputOf(encode(input)));
        expect(error).toBeUndefined();
        expect(lines(events)).toEqual(input);
      }),
      { numRuns: 60 },
    );
  });
});
