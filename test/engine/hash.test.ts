import { describe, expect, it } from 'vitest';
import { canonicalJson, fnv1a64, hashInputs } from '../../src/engine/index.js';
import { OPT1, line, person, settleAll } from './helpers.js';

describe('inputHash', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"z":1}]},"b":1}');
    expect(hashInputs({ a: 1, b: 2 })).toBe(hashInputs({ b: 2, a: 1 }));
  });

  it('the first lane is standard 32-bit FNV-1a (published vectors: "" → 811c9dc5, "a" → e40c292c)', () => {
    expect(fnv1a64('').slice(0, 8)).toBe('811c9dc5');
    expect(fnv1a64('a').slice(0, 8)).toBe('e40c292c');
    expect(fnv1a64('foobar').slice(0, 8)).toBe('bf9cf968');
  });

  it('changes when what the decision read changes (counters before), not when it is replayed', () => {
    // session 1 reads count 0; session 2 (another line) reads count 1; replaying session 1 reads 0 again
    const s = (n: number) => line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: `H${n}`, psSpecialty: null, br: '0.00', expense: '60.00', roRate: '0', roAmount: '0.00' });
    const { settlements } = settleAll([s(1), s(2), s(1)], person({ contracts: [OPT1] }));
    const [h1, h2, h1again] = settlements.map((x) => x.inputHash);
    expect(h1).toMatch(/^fnv1a64:[0-9a-f]{16}$/);
    expect(h2).not.toBe(h1);
    // the replay of line 1 happens after line 2: its count before is 1 now, so the hash differs — honestly
    expect(h1again).not.toBe(h1);
  });
});
