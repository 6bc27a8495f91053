import { describe, expect, it } from 'vitest';
import { JsonFields, textAt } from '../../src/bus/json-fields.js';

/**
 * JsonFields (src/bus/json-fields.ts): a few top-level fields of a JSON object read from its bytes,
 * each equal to what JSON.parse gives for that field; a field of the same name nested or inside a
 * string is never taken; anything the scan does not read gives null (the caller parses whole).
 */
const bytes = (s: string) => new TextEncoder().encode(s);
const WANTED = ['a', 'version', 'name', 'n', 'obj', 'list', 'flag', 'none'] as const;
const fields = new JsonFields(WANTED);
const parsedPick = (json: string) => {
  const whole = JSON.parse(json) as Record<string, unknown>;
  return WANTED.map((k) => whole[k]);
};

describe('JsonFields: top-level fields from the bytes', () => {
  it('reads each wanted field as JSON.parse gives it, whatever the order and the other fields', () => {
    const docs: object[] = [
      { a: 'x', version: 3, name: 'ADH0001', n: -1.5e3, flag: true, none: null, obj: { a: 'nested', version: 9 }, list: [1, 'two', { name: 'three' }] },
      { other: { a: 'not me', deeper: [{ version: 99 }] }, version: 12, a: '', name: 'é€😀', list: [], obj: {} },
      { reason: 'a "version":7 inside a string, and braces } ] { [', version: 0, a: 'back\\slash', name: 'quote "q" and \n newline' },
      { parts: [{ contract: 'C', formula: 'min(220% × 30.00 − 21.00, 40.00 − 21.00) = 19.00', a: 'part' }], counters: [{ key: 'k', before: '1', after: '2' }], a: 'top', flag: false },
      { version: 1234567890123456, n: 0.1, name: '\\"', a: 'x\\' },
      {},
      { 'odd key': 1, '': 2, a: 'after odd keys' },
    ];
    for (const d of docs) {
      const json = JSON.stringify(d);
      expect(fields.read(bytes(json))).toEqual(parsedPick(json));
    }
  });

  it('a view inside a larger buffer (the bus log read buffer) reads only its own bytes', () => {
    const json = JSON.stringify({ a: 'mine', version: 2 });
    const padded = bytes(`{"a":"before"}${json}{"a":"after"}`);
    const at = '{"a":"before"}'.length;
    expect(fields.read(padded.subarray(at, at + bytes(json).length))).toEqual(parsedPick(json));
  });

  it('absent fields are undefined; a field given twice: the last, as JSON.parse', () => {
    expect(fields.read(bytes('{"zzz":1}'))).toEqual(WANTED.map(() => undefined));
    expect(fields.read(bytes('{"a":"first","a":"second"}'))![0]).toBe('second');
  });

  it('what the scan does not read gives null: whitespace, a key with an escape, truncated or trailing bytes, not an object', () => {
    for (const s of ['{ "a":1}', '{"a": 1}', '{"b": 1,"a":2}', '{"b": "x,", "a":1}', '{"a\\u0062":1}', '{"a":"x', '{"a":[1,2}', '{"a":1}x', '[1]', '"a"', '', '{"a":}', '{"a":1,}', '{"a":tru}']) {
      expect(fields.read(bytes(s)), s).toBeNull();
    }
  });

  it('random objects: every wanted field equal to JSON.parse’s', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const chars = ['a', 'é', '"', '\\', '{', '}', '[', ']', ',', ':', '\n', '€', 'version', '"a":'];
    const str = () => Array.from({ length: Math.floor(rnd() * 6) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
    const value = (depth: number): unknown => {
      const r = rnd();
      if (r < 0.25) return str();
      if (r < 0.4) return Math.floor(rnd() * 1e6) * (rnd() < 0.5 ? 1 : -1) / (rnd() < 0.5 ? 1 : 100);
      if (r < 0.5) return rnd() < 0.5 ? null : rnd() < 0.5;
      if (depth > 2) return str();
      if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      return obj(depth + 1);
    };
    const obj = (depth: number) => {
      const o: Record<string, unknown> = {};
      // keys without escapes (a key holding one is read whole by the caller: the null case above)
      const keys = [...WANTED, 'x', 'y', str().replace(/["\\\n]/g, '')];
      for (let i = 0; i < 6; i++) o[keys[Math.floor(rnd() * keys.length)]!] = value(depth);
      return o;
    };
    for (let i = 0; i < 2000; i++) {
      const json = JSON.stringify(obj(0));
      expect(fields.read(bytes(json)), json).toEqual(parsedPick(json));
    }
  });
});

describe('textAt: the UTF-8 text of a byte range, short ASCII strings made once', () => {
  it('gives what Buffer.toString gives, on hits, misses and slots taken by another string', () => {
    const texts = ['', 'paid', 'ADH0001540', '2023-12-29', '8.17', 'é', 'Cé', '€😀', 'x'.repeat(24), 'y'.repeat(25), 'line "q"'];
    // 20 000 distinct short strings for 4 096 slots: every slot is taken over and over
    for (let i = 0; i < 20_000; i++) texts.push(`k${i.toString(36)}`);
    for (let round = 0; round < 3; round++) {
      for (const t of texts) {
        const b = Buffer.from(`[${t}]`);
        expect(textAt(b, 1, b.length - 1)).toBe(t);
        // a plain Uint8Array too
        const u = new TextEncoder().encode(`..${t}`);
        expect(textAt(u, 2, u.length)).toBe(t);
      }
    }
  });
});
