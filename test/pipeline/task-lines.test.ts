import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { ActLine } from '../../src/model/act-line.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { LineRequest } from '../../src/pipeline/liquidate-lines.js';
import { packRequests, unpackRequests } from '../../src/pipeline/task-lines.js';
import { handLine } from './liquidation-support.js';

/**
 * A pool task's lines cross the thread boundary packed (values without their names): what the
 * worker rebuilds must be the requests the service had — same values, same keys in the same order,
 * `undefined` fields kept — through a real structured clone.
 */
const person = { nir: '185037512345678', rang: 1, adherentId: 'ADH1', birthDate: '1985-03-12' } as unknown as Beneficiary;

function requests(): LineRequest[] {
  const base = handLine();
  const other: ActLine = { ...base, lineNo: 2, side: 'L', expense: '12.30' };
  // another key order (a line built elsewhere), and a field set to undefined
  const reordered = Object.fromEntries(Object.entries({ ...base, lineNo: 3 }).reverse()) as unknown as ActLine;
  const withUndefined = { ...base, lineNo: 4, psSpecialty: undefined } as unknown as ActLine;
  return [
    { line: base, beneficiary: person, asOf: '2026-12-06' },
    { line: other, beneficiary: person, asOf: '2026-12-06' },
    { line: reordered, beneficiary: null, asOf: '2026-12-05' },
    { line: withUndefined, beneficiary: person, asOf: '2026-12-06' },
    { line: { ...base, lineNo: 5 }, beneficiary: person, asOf: '2026-12-06' },
  ];
}

describe('pool task lines, packed', () => {
  it('come back through a structured clone as the same requests, keys in the same order, undefined fields kept', () => {
    const given = requests();
    const packed = packRequests(given);
    // three key orders: the line's, the reversed one, then the line's again
    expect(packed.shapes).toHaveLength(3);
    const back = unpackRequests(deserialize(serialize(packed)) as ReturnType<typeof packRequests>);
    expect(back).toStrictEqual(given);
    back.forEach((r, i) => {
      expect(Object.keys(r.line)).toEqual(Object.keys(given[i]!.line));
      expect(JSON.stringify(r)).toBe(JSON.stringify(given[i]));
    });
    expect('psSpecialty' in back[3]!.line).toBe(true);
    // the beneficiary shared by several lines is one object after the clone (copied once)
    expect(back[0]!.beneficiary).toBe(back[1]!.beneficiary);
  });

  it('weighs less than the requests as objects', () => {
    const many: LineRequest[] = Array.from({ length: 256 }, (_, i) => ({ line: { ...handLine(), lineNo: i + 1 }, beneficiary: person, asOf: '2026-12-06' }));
    expect(serialize(packRequests(many)).length).toBeLessThan(0.7 * serialize(many).length);
  });

  it('refuses a request asking for a new version (a re-liquidation task is sent as it is)', () => {
    expect(() => packRequests([{ line: handLine(), beneficiary: person, asOf: '2026-12-06', newVersion: true }])).toThrow(/newVersion/);
  });
});
