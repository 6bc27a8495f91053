import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TRUSTED } from '../../src/bus/bus.js';
import { prepare, setVerifyTrusted } from '../../src/bus/codec.js';
import { partitionFor, TOPICS } from '../../src/bus/topics.js';
import { LineMessageSchema, type LineMessage } from '../../src/bus/messages.js';
import { embeddedBusPerTest } from '../support/embedded-bus.js';
import { readAll } from './bus-suite.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * The produce rule (src/bus/bus.ts ProduceOptions, README "The bus"): zod at the edges. A caller
 * outside the stages is checked; a stage producing what it built from checked data says `trusted`
 * and skips the schema pass, except under NOEMIE_BUS_VERIFY=1 (the test suite), where its values
 * are checked and must be the schema's output. Both paths write the same bytes.
 */
const tmp = embeddedBusPerTest('noemie-bus-trusted-');
const open = (sub: string) => tmp.open({ sub });
afterEach(() => setVerifyTrusted(undefined));

const nir = NIRS[0];
/** a line as the CSV codec gives it: the schema's output (its key order, no other field) */
const canonical = (lineNo: number): LineMessage => LineMessageSchema.parse(lineMessage(nir, 1, lineNo));
const bad = (): LineMessage => {
  const m = canonical(2);
  m.line.expense = '30.5'; // Money needs two decimals
  return m;
};
/** the log without its timestamps, which differ between two appends */
const logText = async (bus: string, topic: string, p: number) => (await readFile(join(tmp.dir, bus, topic, `${p}.log`), 'utf8')).replace(/"t":\d+/g, '"t":0');

describe('produce: zod at the edges, not on every internal hop', () => {
  for (const verify of [false, true]) {
    it(`an external producer's invalid message is refused with the clear error and nothing is written (NOEMIE_BUS_VERIFY=${verify ? 1 : 0})`, async () => {
      setVerifyTrusted(verify);
      const bus = await open('a');
      const call = bus.produce('decompte-lines', [{ value: canonical(1) }, { value: bad() }]);
      await expect(call).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE', context: { topic: 'decompte-lines', index: 1 } });
      await expect(call).rejects.toThrow(/produce on decompte-lines: message does not match the topic schema: line\.expense/);
      expect((await bus.endOffsets('decompte-lines')).every((e) => e.high === 0)).toBe(true);
    });
  }

  it('a trusted call is not parsed by zod in production, and writes the same bytes as a checked call', async () => {
    setVerifyTrusted(false);
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    const checked = await open('checked');
    const trusted = await open('trusted');
    const values = [1, 2, 3].map((n) => ({ value: canonical(n), key: 'A1' }));
    await checked.produce('decompte-lines', values);
    expect(parse).toHaveBeenCalledTimes(3);
    await trusted.produce('decompte-lines', values, TRUSTED);
    expect(parse).toHaveBeenCalledTimes(3); // none more
    const p = partitionFor('A1');
    expect(await logText('trusted', 'decompte-lines', p)).toBe(await logText('checked', 'decompte-lines', p));
    // and consumers get the same records from both
    const [a, b] = await Promise.all([readAll(checked.readRange('decompte-lines', p, { from: 0 })), readAll(trusted.readRange('decompte-lines', p, { from: 0 }))]);
    expect(b.flat().map(({ timestamp, ...r }) => r)).toEqual(a.flat().map(({ timestamp, ...r }) => r));
  });

  it('a trusted call writes the JSON text it is given (the ingest spool) without serialising again', () => {
    setVerifyTrusted(false);
    const value = canonical(1);
    const stringify = vi.spyOn(JSON, 'stringify');
    const [m] = prepare('decompte-lines', [{ value, key: 'A1', json: '{"given":true}' }], TRUSTED);
    expect(m?.value).toBe('{"given":true}'); // production trusts it: the verify mode below is what checks it
    expect(stringify).not.toHaveBeenCalled();
    // a checked call ignores it: it writes the schema's output
    const [c] = prepare('decompte-lines', [{ value, key: 'A1', json: '{"given":true}' }]);
    expect(JSON.parse(c!.value)).toEqual(value);
  });

  it('a message given as its JSON text alone (the ingest spool): written as given when trusted, parsed and checked when not', async () => {
    setVerifyTrusted(false);
    const value = canonical(1);
    const headers = { file: value.origin.file, record: value.origin.record, lineKey: 'noemie-011751234:D0001:1' };
    const text = { json: JSON.stringify(value), key: 'A1', headers };
    const parse = vi.spyOn(JSON, 'parse');
    const [t] = prepare('decompte-lines', [text], TRUSTED);
    expect(parse).not.toHaveBeenCalled(); // nothing parsed back
    parse.mockRestore();
    // the same record as the value would give, headers derived from it included
    const [v] = prepare('decompte-lines', [{ value, key: 'A1' }], TRUSTED);
    expect(t).toEqual(v);
    // unchecked: parsed, checked and the schema's output written, as for a value
    expect(prepare('decompte-lines', [text])).toEqual([v]);
    expect(() => prepare('decompte-lines', [{ ...text, json: JSON.stringify(bad()) }])).toThrow(/line\.expense/);
    // key and headers are required: nothing would give them
    expect(() => prepare('decompte-lines', [{ json: text.json, key: 'A1' } as unknown as typeof text], TRUSTED)).toThrow(/has no value/);
    // and the embedded bus writes the same log bytes for both
    const a = await open('text');
    const b = await open('value');
    await a.produce('decompte-lines', [text], TRUSTED);
    await b.produce('decompte-lines', [{ value, key: 'A1' }], TRUSTED);
    expect(await logText('text', 'decompte-lines', partitionFor('A1'))).toBe(await logText('value', 'decompte-lines', partitionFor('A1')));
  });

  describe('NOEMIE_BUS_VERIFY=1 (the test suite): trusted values are checked too', () => {
    it('checks a trusted message given as text: its value, and that its headers include those the value derives', () => {
      setVerifyTrusted(true);
      const value = canonical(1);
      const headers = { file: value.origin.file, record: value.origin.record, lineKey: 'noemie-011751234:D0001:1' };
      expect(prepare('decompte-lines', [{ json: JSON.stringify(value), key: 'A1', headers }], TRUSTED)).toHaveLength(1);
      expect(() => prepare('decompte-lines', [{ json: JSON.stringify(bad()), key: 'A1', headers }], TRUSTED)).toThrow(/line\.expense/);
      expect(() => prepare('decompte-lines', [{ json: JSON.stringify(value), key: 'A1', headers: { file: headers.file, record: headers.record } }], TRUSTED)).toThrow(/trusted message 0 lacks headers its value derives/);
      // given over derived, as for a value: the same bytes as the value path
      const over = { ...headers, record: 3 };
      expect(prepare('decompte-lines', [{ json: JSON.stringify(value), key: 'A1', headers: over }], TRUSTED)).toEqual(prepare('decompte-lines', [{ value, key: 'A1', headers: over }], TRUSTED));
    });


    it('refuses a trusted value its schema refuses', () => {
      setVerifyTrusted(true);
      expect(() => prepare('decompte-lines', [{ value: bad() }], TRUSTED)).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ index: 0 }) }));
    });

    it('refuses a trusted value with a field the schema would drop (a checked call strips it: production would have published it)', () => {
      setVerifyTrusted(true);
      const leaky = { ...canonical(1), internal: 'not for the topic' } as LineMessage;
      expect(() => prepare('decompte-lines', [{ value: leaky }], TRUSTED)).toThrow(/trusted message 0 is not what its schema gives/);
      // the same value from an external producer is accepted, stripped, as always
      const [m] = prepare('decompte-lines', [{ value: leaky }]);
      expect(m?.value).not.toContain('internal');
    });

    it('refuses JSON text that is not the JSON of the value', () => {
      setVerifyTrusted(true);
      const value = canonical(1);
      expect(() => prepare('decompte-lines', [{ value, json: JSON.stringify(canonical(2)) }], TRUSTED)).toThrow(/trusted message 0 is not what its schema gives/);
      const [m] = prepare('decompte-lines', [{ value, json: JSON.stringify(value) }], TRUSTED);
      expect(m?.value).toBe(JSON.stringify(value));
    });

    it('accepts a trusted value whose keys come in another order, written as given (the same data)', () => {
      setVerifyTrusted(true);
      const { origin, line, ...rest } = canonical(1);
      const reordered = { origin, ...rest, line } as LineMessage;
      const [m] = prepare('decompte-lines', [{ value: reordered }], TRUSTED);
      expect(m?.value).toBe(JSON.stringify(reordered));
      expect(JSON.parse(m!.value)).toEqual(canonical(1));
    });
  });
});

describe('embedded partition log bytes', () => {
  it('one NDJSON line per record, {"o","t","k","h","v"}, indexed by byte position (multi-byte keys and headers)', async () => {
    const bus = await open('bytes');
    const value = { key: 'compteur', value: 'é€', lineKey: 'noemie-x:D1:1', version: 1 };
    // the counters changelog on an explicit partition: keys and headers chosen with 2- and 3-byte characters
    await bus.produce('counters-changelog', [
      { value, key: 'Zoé', partition: 2 },
      { value: { key: 'k2', value: null }, key: 'k€y', partition: 2, headers: { file: 'relevé.csv', record: 7 } },
    ]);
    const log = await readFile(join(tmp.dir, 'bytes', 'counters-changelog', '2.log'));
    const t = /"t":(\d+)/.exec(log.toString('utf8'))![1];
    const first = `{"o":0,"t":${t},"k":"Zoé","h":{"line-key":"noemie-x:D1:1"},"v":{"key":"compteur","value":"é€","lineKey":"noemie-x:D1:1","version":1}}\n`;
    const second = `{"o":1,"t":${t},"k":"k€y","h":{"source-file":"relevé.csv","record":"7"},"v":{"key":"k2","value":null}}\n`;
    expect(log.toString('utf8')).toBe(first + second);
    const idx = await readFile(join(tmp.dir, 'bytes', 'counters-changelog', '2.idx'));
    // positions in BYTES: "é" is 2 bytes, "€" 3, so the second line starts past first.length
    expect(Buffer.byteLength(first)).toBe(first.length + 1 + 1 + 2);
    expect([idx.readUInt32BE(4), idx.readUInt32BE(12)]).toEqual([0, Buffer.byteLength(first)]);
    const [batch] = await readAll(bus.readRange('counters-changelog', 2, { from: 1 }));
    expect(batch?.[0]).toMatchObject({ offset: 1, key: 'k€y', headers: { file: 'relevé.csv', record: 7 }, value: { key: 'k2', value: null } });
  });
});

describe('partitionFor', () => {
  it('caches per key and still agrees with the Kafka partitioner past the cache bound', () => {
    const kafka = Partitioners.DefaultPartitioner();
    const metadata = Array.from({ length: 4 }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const expected = (key: string) => kafka({ topic: '', partitionMetadata: metadata, message: { key, value: null } });
    const keys = Array.from({ length: 60_000 }, (_, i) => `A${i}`); // more than the cache holds
    for (const key of keys) partitionFor(key, 4);
    for (const key of keys.filter((_, i) => i % 997 === 0)) {
      expect(partitionFor(key, 4)).toBe(expected(key));
      expect(partitionFor(key, 4)).toBe(expected(key)); // the cached answer
    }
  });
});
