import { describe, expect, it } from 'vitest';
import { lineTuple, linePieceOfTuple, RECORD_FIELDS } from '../../src/pipeline/line-piece.js';

/**
 * The positional form of a ledger's line piece (src/pipeline/line-piece.ts): what is read back is
 * the record written — same fields, same values, each object's fields in the same order (texts made
 * of a record read back, e.g. `JSON.stringify(consumed)`, must be the same) — and no field name is
 * written for the shapes the engine makes.
 */
const LINE = 'noemie-011331001:101000000805:1';

const initial = {
  version: 1,
  operation: 'I',
  status: 'paid',
  payee: 'ps:313700179',
  expense: '30.00',
  roAmount: '5.40',
  amcAmount: '24.60',
  restToPay: '0.00',
  parts: [
    { contract: 'CCN-HLA-OPT1', amount: '24.60', rule: 'optique.classe_a' },
    { contract: 'CCN-HLA-BASE', amount: '0.00' },
    { contract: 'CCN-HLA-BASE', amount: '-7.95', rule: 'soins.generalistes', formula: 'reverses version 1: −7.95' },
  ],
  consumed: [{ key: 'CCN-HLA-BASE|2140192120769-1|dentaire|count|2024', amount: '1' }],
  renewals: [
    { key: 'renewal|1091134374256-2|optique|frame', entry: { date: '2024-01-05', units: 1, lineKey: LINE } },
    { key: 'renewal|1091134374256-2|optique|lens', entry: { date: '2024-01-05', units: 2, lineKey: 'another:line:2' } },
  ],
  inputHash: 'fnv1a64:311214cd57b0a5bc',
  lineHash: 'fnv1a64:e5c830bd36acbc4b',
  recordIds: ['a82a8691054e019c:1:1385'],
  input: { at: '2026-12-06', n: [1, 306], line: ['noemie', '101000000805', 1, '011331001', null, false, { extra: 'x' }] },
};

const annulation = {
  version: 2,
  operation: 'A',
  status: 'paid',
  payee: 'member',
  expense: '-26.50',
  roAmount: '-18.55',
  amcAmount: '-7.95',
  restToPay: '0.00',
  parts: [],
  consumed: [],
  renewals: [],
  inputHash: 'fnv1a64:6e9f7dda4919582a',
  reversed: 'fnv1a64:a667ffb1cd916e59',
  seen: ['fnv1a64:76246d717a11f0f3'],
  recordIds: ['a:1:837', 'a:1:876'],
  cause: { kind: 'membership', at: '2026-12-06' },
};

const roundTrip = (record: object | null, undo: object | null) => linePieceOfTuple(LINE, JSON.parse(JSON.stringify(lineTuple(LINE, 3, record, undo))) as unknown[]);

describe('line piece, positional', () => {
  it('reads back the records written, byte for byte as JSON, with no field name or own lineKey in the text', () => {
    // (the cause is an object of its own, kept as it is: left out of this text)
    const text = JSON.stringify(lineTuple(LINE, 3, { ...annulation, cause: undefined }, initial));
    for (const name of [...RECORD_FIELDS, 'contract', 'amount', 'rule', 'formula', 'entry', 'date', 'units', 'lineKey', 'at', '"n"', '"line"']) expect(text).not.toContain(`"${name.replaceAll('"', '')}":`);
    expect(text).not.toContain(LINE);
    // the renewal of another line keeps its lineKey
    expect(text).toContain('another:line:2');
    const back = roundTrip(annulation, initial);
    expect([back.v, back.piece, back.line, back.seq]).toEqual([4, 'line', LINE, 3]);
    expect(JSON.stringify(back.record)).toBe(JSON.stringify(annulation));
    expect(JSON.stringify(back.undo)).toBe(JSON.stringify(initial));
    expect(roundTrip(null, initial).record).toBeNull();
    expect(roundTrip(initial, null).undo).toBeNull();
  });

  it('keeps fields and elements it has no place for as they are', () => {
    const odd = {
      ...initial,
      // a part with slices, a consumption with its fields in another order, an input of another shape
      parts: [{ contract: 'C', amount: '1.00', rule: 'r', slices: [{ from: '2024-01-01', amount: '1.00' }] }, { amount: '2.00', contract: 'D' }],
      consumed: [{ amount: '1', key: 'k' }],
      input: { at: '2026-12-06', n: [1, 2], line: [], more: true },
      // a field the list does not name, and a named one set to null (the tuple's null means absent)
      later: { x: 1 },
      payee: null,
      lineHash: undefined,
    };
    const back = roundTrip(odd, null).record!;
    const { lineHash: _dropped, ...expected } = odd;
    expect(back).toEqual(expected);
    expect(Object.hasOwn(back, 'lineHash')).toBe(false);
    expect(JSON.stringify(back.parts)).toBe(JSON.stringify(odd.parts));
    expect(JSON.stringify(back.consumed)).toBe(JSON.stringify(odd.consumed));
  });

  it("writes a stamp (a worker's record ids and input) as ledgers.ts stampLines would have put it in the record", () => {
    const { recordIds: _r, input: _i, ...bare } = initial;
    const stamp = { recordIds: ['a:1:9', 'a:1:10'], input: { at: '2026-12-07', n: [2, 5] as [number, number], line: ['noemie'] } };
    expect(JSON.stringify(lineTuple(LINE, 3, bare, null, stamp))).toBe(JSON.stringify(lineTuple(LINE, 3, { ...bare, ...stamp }, null)));
    // no record ids in the stamp: the record's own are kept; an A record takes no input
    const { recordIds: _a, ...bareA } = annulation;
    expect(roundTrip(null, null).record).toBeNull();
    const a = linePieceOfTuple(LINE, JSON.parse(JSON.stringify(lineTuple(LINE, 3, bareA, null, stamp))) as unknown[]).record!;
    expect([a.recordIds, a.input]).toEqual([stamp.recordIds, undefined]);
    const kept = linePieceOfTuple(LINE, JSON.parse(JSON.stringify(lineTuple(LINE, 3, initial, null, { recordIds: [] }))) as unknown[]).record!;
    expect(JSON.stringify(kept)).toBe(JSON.stringify(initial));
    // the stamped object is not changed
    expect(Object.hasOwn(bare, 'recordIds')).toBe(false);
  });

  it('refuses what is not a line tuple', () => {
    expect(() => linePieceOfTuple(LINE, [4, 1, null])).toThrow(/not a line piece tuple/);
    expect(() => linePieceOfTuple(LINE, [3, 1, null, null])).toThrow(/not a line piece tuple/);
    expect(() => linePieceOfTuple(LINE, [4, 1, { version: 1 }, null])).toThrow(/not an array/);
    expect(() => linePieceOfTuple(LINE, [4, 1, [1, 'I', ...new Array(16).fill(null), 'x'], null])).toThrow(/other than an object/);
  });
});
