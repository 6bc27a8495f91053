import { describe, expect, it } from 'vitest';
import { hashInputs } from '../../src/engine/index.js';
import type { ActLine } from '../../src/model/act-line.js';
import { decodeLineInput, encodeLineInput, LINE_FIELDS } from '../../src/pipeline/line-input.js';
import { handLine } from './liquidation-support.js';

describe('the input a line record keeps (line-input.ts)', () => {
  it('gives back exactly the line: same values, same lineHash (an annulation still recognises its original)', () => {
    const line = handLine();
    const input = encodeLineInput(line, '2025-03-12', [3, 17]);
    expect(input).toMatchObject({ at: '2025-03-12', n: [3, 17] });
    expect(input.line).toHaveLength(LINE_FIELDS.length);
    const back = decodeLineInput(JSON.parse(JSON.stringify(input)));
    expect(back).toEqual(line);
    expect(hashInputs(back)).toBe(hashInputs(line));
  });

  it('is smaller than the line as named JSON: values only, nirKey and operation derived', () => {
    const line = handLine();
    const compact = JSON.stringify(encodeLineInput(line, '2025-03-12', [3, 17]));
    expect(compact).not.toContain('"nirKey"');
    expect(compact).not.toContain(`"${line.nirKey}"`);
    expect(compact.length).toBeLessThan(JSON.stringify(line).length * 0.6);
  });

  it('keeps a field added to the act line later in a trailing object, without moving the others', () => {
    const line = { ...handLine(), finess: '750712184' } as ActLine & { finess: string };
    const input = encodeLineInput(line, '2025-03-12', [1, 0]);
    expect(input.line[LINE_FIELDS.length]).toEqual({ finess: '750712184' });
    expect(input.line.slice(0, LINE_FIELDS.length)).toEqual(encodeLineInput(handLine(), '2025-03-12', [1, 0]).line);
  });

  it('refuses a damaged input, naming the field', () => {
    const input = encodeLineInput(handLine(), '2025-03-12', [1, 0]);
    const damaged = { ...input, line: input.line.map((v, i) => (LINE_FIELDS[i] === 'careStart' ? '2025-13-40' : v)) };
    expect(() => decodeLineInput(damaged)).toThrow(/careStart/);
  });
});
