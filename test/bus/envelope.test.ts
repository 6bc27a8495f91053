import { describe, expect, it } from 'vitest';
import { encodeRecords, parseStored, scan, storedRaw, type Envelope } from '../../src/bus/embedded/envelope.js';
import type { AppendEntry } from '../../src/bus/embedded/partition-log.js';

/**
 * The stored line's envelope written and read without JSON (src/bus/embedded/envelope.ts): the bytes
 * written are exactly the template the log always wrote (`{"o":…,"t":…,"k":JSON,"h":JSON,"v":` + value
 * + `}\n`), and a line reads as JSON.parse reads it, whether the scan reads its envelope or gives it
 * up to JSON.parse.
 */
const template = (entries: readonly AppendEntry[], base: number, t: number) =>
  Buffer.concat(
    entries.map((e, i) =>
      Buffer.concat([Buffer.from(`{"o":${base + i},"t":${t},"k":${JSON.stringify(e.key)},"h":${JSON.stringify(e.headers)},"v":`), typeof e.value === 'string' ? Buffer.from(e.value) : Buffer.from(e.value), Buffer.from('}\n')]),
    ),
  );

const nullProto = Object.assign(Object.create(null) as Record<string, string>, { 'line-key': 'x' });
const entries: AppendEntry[] = [
  { key: 'ADH0001540', headers: { 'source-file': 'drop.csv', record: '7', 'line-key': 'noemie-011331001:101000000004:1' }, value: '{"a":1,"f":"G = 100% × BR 20.43 − 12.26"}' },
  { key: '2160299127189-1#C#TPC10100000013', headers: {}, value: Buffer.from('{"value":[3,1,null]}') },
  { key: 'quote " and back\\slash', headers: { 'source-file': 'tab\there', 'source-entry': 'é€😀' }, value: '"just a string"' },
  { key: 'ctrl \u0001 \u001f del \u007f', headers: { record: '12', '1': 'integer-like name first', zz: 'other name' }, value: '12' },
  { key: 'accents éàü and a lone surrogate \ud800', headers: { 'line-key': 'lone \udc00' }, value: 'null' },
  { key: '', headers: nullProto, value: '[]' },
  { key: 'odd', headers: { n: 5, u: undefined, s: 'kept' } as unknown as Record<string, string>, value: '{}' },
];

describe('envelope: encodeRecords', () => {
  it('writes the bytes of the JSON template, and the byte position of each record', () => {
    for (const [base, t] of [
      [0, 1796655991670],
      [9, 0],
      [2 ** 40, 2 ** 52],
    ] as const) {
      const positions = Buffer.alloc(entries.length * 8);
      const out = encodeRecords(entries, base, t, 1000, positions);
      const expected = template(entries, base, t);
      expect(out.toString('latin1')).toBe(expected.toString('latin1'));
      let at = 1000;
      for (let i = 0; i < entries.length; i++) {
        expect(positions.readUInt32BE(i * 8) * 2 ** 32 + positions.readUInt32BE(i * 8 + 4)).toBe(at);
        at += expected.indexOf(10, at - 1000) + 1 - (at - 1000);
      }
    }
  });

  it('an append larger than the scratch buffer is written whole', () => {
    const big = Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, headers: { 'line-key': `l${i}` }, value: `"${'x'.repeat(1000)}é"` }));
    const out = encodeRecords(big, 0, 1, 0, Buffer.alloc(600 * 8));
    expect(out.equals(template(big, 0, 1))).toBe(true);
  });
});

/** what the log always did: JSON.parse of the whole line, checked */
function whole(line: string): unknown {
  try {
    const r = JSON.parse(line) as Record<string, unknown> | null;
    return r && Number.isInteger(r.o) && typeof r.t === 'number' && typeof r.k === 'string' && typeof r.h === 'object' && r.h !== null && 'v' in r ? r : null;
  } catch {
    return null;
  }
}

/** lines whose envelope is not our writer's shape: the scan gives them up to JSON.parse */
const envelopeOdd = [
  '{"o":1, "t":2,"k":"a","h":{},"v":1}',
  '{"t":2,"o":1,"k":"a","h":{},"v":1}',
  '{"o":1.0,"t":2,"k":"a","h":{},"v":1}',
  '{"o":01,"t":2,"k":"a","h":{},"v":1}',
  '{"o":1,"t":2.5,"k":"a","h":{},"v":1}',
  '{"o":1,"t":2,"k":"a","h":{"__proto__":"x"},"v":1}',
  '{"o":1,"t":2,"k":"a","h":{},"v":{"torn":',
  '{"o":1,"t":2,"k":"a","h":{},"v":}',
  '{"o":1,"t":2,"k":"a","h":{},"x":3,"v":1}',
  '{"o":1,"t":2,"k":"a\\u0041","h":{},"v":1}',
  '{"o":1,"t":2,"k":"a","h":{"record":7},"v":1}',
  '{"o":12345678901234567,"t":2,"k":"a","h":{},"v":1}',
  'not json',
  '',
];
/** our envelope, then something the value alone does not parse as: the whole line decides */
const valueOdd = ['{"o":1,"t":2,"k":"a","h":{},"v":1,"v":2}', '{"o":1,"t":2,"k":"a","h":{},"v": 7 }', '{"o":1,"t":2,"k":"a","h":{},"v":1,"x":3}', '{"o":1,"t":2,"k":"a","h":{},"v":1}}'];
const dup = '{"o":1,"t":2,"k":"a","h":{"record":"1","record":"2","line-key":"x"},"v":{"dup":true}}';
const text = (j: string | Uint8Array | undefined) => (typeof j === 'string' || j === undefined ? j : Buffer.from(j).toString('utf8'));

/** storedRaw as the log had it before the scan (6f172c6), the reference */
function rawBefore(bytes: Buffer): Record<string, unknown> | null {
  const at = bytes.indexOf(',"v":');
  if (at > 0 && bytes[bytes.length - 1] === 0x7d) {
    try {
      const r = JSON.parse(`${bytes.toString('utf8', 0, at)}}`) as Record<string, unknown> | null;
      if (r && Number.isInteger(r.o) && typeof r.t === 'number' && typeof r.k === 'string' && typeof r.h === 'object' && r.h !== null && !('v' in r)) {
        return { o: r.o, t: r.t, k: r.k, h: r.h, v: undefined, j: bytes.subarray(at + 5, bytes.length - 1) };
      }
    } catch {
      // below
    }
  }
  const w = whole(bytes.toString('utf8')) as Record<string, unknown> | null;
  return w && { ...w, v: undefined, j: JSON.stringify(w.v) };
}

const lines = [...template(entries, 3, 1796655991670).toString('utf8').split('\n').filter(Boolean), dup, ...envelopeOdd, ...valueOdd];

describe('envelope: reading a stored line', () => {
  it('parseStored reads every line as JSON.parse of the whole line does (null: damaged)', () => {
    for (const line of lines) {
      // inside a larger buffer: the line is read at its place
      const b = Buffer.from(`xx\n${line}\nyy`);
      expect(parseStored(b, 3, 3 + Buffer.byteLength(line)), line).toEqual(whole(line));
    }
  });

  it('storedRaw gives what the log always gave: the envelope before the first `,"v":` parsed, the value as its stored bytes', () => {
    for (const line of lines) {
      const b = Buffer.from(`xx\n${line}\nyy`);
      const raw = storedRaw(b, 3, 3 + Buffer.byteLength(line));
      const expected = rawBefore(Buffer.from(line));
      expect(raw && { ...raw, j: text(raw.j) }, line).toEqual(expected && { ...expected, j: text(expected.j as string | Uint8Array) });
    }
  });

  it('the scan reads what our writer writes, and gives up on any other shape', () => {
    const ours = template(entries.slice(0, 3), 3, 1796655991670);
    let at = 0;
    const seen: Envelope[] = [];
    for (let nl = ours.indexOf(10); nl !== -1; at = nl + 1, nl = ours.indexOf(10, at)) {
      const e = scan(ours, at, nl);
      // the first three entries' keys and headers: plain ones, and a key with escapes (read by JSON.parse)
      if (seen.length < 2 || e !== null) seen.push(e!);
    }
    expect(seen.slice(0, 2).map((e) => ({ o: e.o, k: e.k, h: e.h }))).toEqual([
      { o: 3, k: 'ADH0001540', h: { 'source-file': 'drop.csv', record: '7', 'line-key': 'noemie-011331001:101000000004:1' } },
      { o: 4, k: '2160299127189-1#C#TPC10100000013', h: {} },
    ]);
    expect(seen).toHaveLength(2);
    for (const odd of envelopeOdd) expect(scan(Buffer.from(odd), 0, Buffer.byteLength(odd)), odd).toBeNull();
    for (const odd of valueOdd) expect(scan(Buffer.from(odd), 0, Buffer.byteLength(odd)), odd).not.toBeNull();
    // duplicate header names: the later value in the earlier place, as JSON.parse
    expect(scan(Buffer.from(dup), 0, dup.length)?.h).toEqual({ record: '2', 'line-key': 'x' });
  });
});
