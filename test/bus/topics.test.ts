import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decode, fromWire, prepare, toWire } from '../../src/bus/codec.js';
import { BusError } from '../../src/bus/errors.js';
import { murmur2 } from '../../src/bus/murmur2.js';
import { partitionCount, partitionFor, TOPIC_NAMES, topicDef } from '../../src/bus/topics.js';
import { busPartitions, ConfigError } from '../../src/config.js';
import { lineMessage, NIRS } from './fixtures.js';

describe('partitionFor: the Kafka Java client partitioner, so both buses and any Kafka client agree', () => {
  it("puts every key where kafkajs's DefaultPartitioner does (murmur2.ts is not kafkajs's function): ASCII keys of every length, accents, other scripts, emoji", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const metadata = (n: number) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const alphabet = ['a', 'Z', '0', '9', '-', '#', ':', '~', ' ', 'é', 'ß', 'ÿ', 'Ω', 'ж', '中', '😀', '\u0001', '\u007f', '\u0080'];
    let seed = 12345;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const keys = ['', ...NIRS.map((n) => `${n}-1`), `${NIRS[0]}-1#L#noemie-011751234:D0001:3`, 'member:A000123', 'ps:10000000001'];
    for (let i = 0; i < 3000; i++) {
      const ascii = i % 3 !== 0;
      keys.push(Array.from({ length: i % 41 }, () => (ascii ? alphabet[Math.floor(random() * 9)]! : alphabet[Math.floor(random() * alphabet.length)]!)).join(''));
    }
    for (const n of [1, 4, 7, 16]) {
      const md = metadata(n);
      for (const key of keys) expect(partitionFor(key, n), `${JSON.stringify(key)} of ${n}`).toBe(kafkajs({ topic: 't', partitionMetadata: md, message: { key, value: null } }));
    }
    // the hash itself, signed as Java's: Kafka's UtilsTest vectors
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('abc')).toBe(479470107);
  });

  /**
   * Vectors of Apache Kafka's UtilsTest.testMurmur2 (clients/src/test/.../utils/UtilsTest.java):
   * murmur2(utf8 key) as a signed 32-bit int. Partition = (h & 0x7fffffff) mod n, by hand:
   *   "21"        −973932308  → 2^31 − 973932308 = 1173551340; mod 4 = 0, mod 7 = 3
   *   "foobar"    −790332482  → 1357151166; mod 4 = 2, mod 7 = 0
   *   "a-little-bit-long-string"   −985981536  → 1161502112; mod 4 = 0, mod 7 = 1
   *   "a-little-bit-longer-string" −1486304829 → 661178819;  mod 4 = 3, mod 7 = 0
   *   "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8" −58897971 → 2088585677; mod 4 = 1, mod 7 = 3
   *   "abc"       479470107 (positive, kept) → mod 4 = 3, mod 7 = 4
   */
  it.each([
    ['21', 0, 3],
    ['foobar', 2, 0],
    ['a-little-bit-long-string', 0, 1],
    ['a-little-bit-longer-string', 3, 0],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', 1, 3],
    ['abc', 3, 4],
  ])('%s → partition %i of 4, %i of 7', (key, of4, of7) => {
    expect(partitionFor(key)).toBe(of4);
    expect(partitionFor(key, 4)).toBe(of4);
    expect(partitionFor(key, 7)).toBe(of7);
  });

  /** The same vectors mod 16, by hand: 1173551340 − 16 × 73346958 = 12; 1357151166 − 16 × 84821947 = 14; 479470107 − 16 × 29966881 = 11. */
  it.each([
    ['21', 12],
    ['foobar', 14],
    ['abc', 11],
  ])('%s → partition %i of 16 (NOEMIE_PARTITIONS=16)', (key, of16) => {
    expect(partitionFor(key, 16)).toBe(of16);
  });

  it('with any other count, puts a key in range, always in the same place, and 16 refines 4 (same hash mod 16, then mod 4)', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `A${String(i).padStart(6, '0')}`);
    for (const n of [1, 3, 16, 64, 1024]) {
      const first = keys.map((k) => partitionFor(k, n));
      expect(first.every((p) => Number.isInteger(p) && p >= 0 && p < n)).toBe(true);
      expect(keys.map((k) => partitionFor(k, n))).toEqual(first);
      // 2 000 keys over 16 partitions: an even spread is 125 each; every partition is used
      if (n === 16) expect(new Set(first).size).toBe(16);
    }
    for (const k of keys) expect(partitionFor(k, 16) % 4).toBe(partitionFor(k, 4));
  });
});

describe('NOEMIE_PARTITIONS (busPartitions, src/config.ts)', () => {
  it('defaults to 4 and takes 1..1024', () => {
    expect(busPartitions({})).toBe(4);
    expect(busPartitions({ NOEMIE_PARTITIONS: '16' })).toBe(16);
    expect(busPartitions({ NOEMIE_PARTITIONS: '1' })).toBe(1);
    expect(busPartitions({ NOEMIE_PARTITIONS: '1024' })).toBe(1024);
  });

  it.each(['0', '1025', '2.5', 'sixteen', '-4'])('refuses %s, naming the variable', (value) => {
    expect(() => busPartitions({ NOEMIE_PARTITIONS: value })).toThrow(ConfigError);
    expect(() => busPartitions({ NOEMIE_PARTITIONS: value })).toThrow(new RegExp(`NOEMIE_PARTITIONS: .*received "${value}"`));
  });

  it('reads that variable alone: another bad one is not its business', () => {
    expect(busPartitions({ NOEMIE_LOG_LEVEL: 'loud', NOEMIE_PARTITIONS: '8' })).toBe(8);
  });
});

describe('topics', () => {
  it('declares the pipeline topics, NOEMIE_PARTITIONS partitions each (4 when unset), the changelogs compacted', () => {
    expect(TOPIC_NAMES).toEqual(expect.arrayContaining(['decompte-lines', 'invoice-lines', 'rejects', 'settlements', 'counters-changelog', 'tp-claims', 'reconciliation', 'payment-orders']));
    expect(partitionCount()).toBe(busPartitions());
    for (const t of TOPIC_NAMES) expect(topicDef(t).partitions).toBe(partitionCount());
    expect(topicDef('counters-changelog').compacted).toBe(true);
    expect(topicDef('decompte-lines').compacted).toBe(false);
  });

  it('keys a line by its beneficiary (NIR-rang) and carries file, record and lineKey in the headers', () => {
    const [m] = prepare('decompte-lines', [{ value: lineMessage(NIRS[0], 2, 7) }]);
    expect(m!.key).toBe('1850375123456-2');
    // record = lineNo + 1 in the fixture; lineKey = noemie-<caisse>:<décompte>:<line>
    expect(m!.headers).toEqual({ 'source-file': 'drop-2025-03-10.csv', record: '8', 'line-key': 'noemie-011751234:D0001:7' });
    expect(m!.partition).toBeUndefined();
  });

  it('lets the caller override key, headers and partition', () => {
    const [m] = prepare('decompte-lines', [{ value: lineMessage(NIRS[0], 1, 1), key: 'k', headers: { entry: 'a/b.csv' }, partition: 2 }]);
    expect(m).toMatchObject({ key: 'k', partition: 2, headers: { 'source-entry': 'a/b.csv', 'source-file': 'drop-2025-03-10.csv' } });
    expect(() => prepare('decompte-lines', [{ value: lineMessage(NIRS[0], 1, 1), partition: 4 }])).toThrow(/not in 0\.\.3/);
  });
});

describe('codec', () => {
  it('round-trips headers through their wire form', () => {
    const h = { file: 'x.zip', entry: 'a.csv', record: 12, lineKey: 'invoice:F1:1' };
    expect(toWire(h)).toEqual({ 'source-file': 'x.zip', 'source-entry': 'a.csv', record: '12', 'line-key': 'invoice:F1:1' });
    expect(fromWire(toWire(h))).toEqual(h);
    expect(fromWire({ record: Buffer.from('3') })).toEqual({ record: 3 });
  });

  it("decodes a consumed record's headers as the schema pass does (fromWire), or fails as it does, whatever the wire gives", () => {
    // decode checks plain headers without zod (codec.ts checkedHeaders): it must agree with fromWire's zod pass on every value.
    const texts = [undefined, '', 'x.zip', 'é.csv', '0', '1', '01', '12', '-1', '1.5', '1e3', ' 7', '9007199254740991', '9007199254740993', 'invoice:F1:1'];
    const forms = (t: string | undefined) => (t === undefined ? [undefined] : [t, Buffer.from(t), new Uint8Array(Buffer.from(t))]);
    const value = lineMessage(NIRS[0], 1, 1);
    let checked = 0;
    for (const file of texts) for (const record of texts) for (const lineKey of [undefined, '', 'invoice:F1:1']) {
      for (const f of forms(file)) for (const r of forms(record)) for (const k of forms(lineKey)) {
        const wire: Record<string, string | Uint8Array | undefined> = { other: 'kept out' };
        if (f !== undefined) wire['source-file'] = f;
        if (r !== undefined) wire.record = r;
        if (k !== undefined) wire['line-key'] = k;
        const raw = { partition: 2, offset: 7, key: 'k', value, headers: wire, timestamp: 0 };
        let expected: unknown;
        try {
          expected = fromWire(wire);
        } catch {
          expect(() => decode('decompte-lines', raw)).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ partition: 2, offset: '7' }) }));
          checked += 1;
          continue;
        }
        const headers = decode('decompte-lines', raw).headers;
        expect(headers).toStrictEqual(expected);
        expect(Object.keys(headers)).toEqual(Object.keys(expected as object));
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('names topic, partition and offset of a message that fails its schema, without its content', () => {
    const bad = { ...lineMessage(NIRS[0], 1, 1), origin: { file: 'f', record: 0 } };
    let err: unknown;
    try {
      decode('decompte-lines', { partition: 1, offset: 41, key: 'k', value: bad, headers: {}, timestamp: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: 'BUS_INVALID_MESSAGE', context: { topic: 'decompte-lines', partition: 1, offset: '41' } });
    expect((err as BusError).message).toContain('origin.record');
    expect(JSON.stringify((err as BusError).context)).not.toContain(NIRS[0]);
  });

  it('refuses to produce a value that is not its topic’s, naming the message', () => {
    expect(() => prepare('settlements', [{ value: lineMessage(NIRS[0], 1, 1) as never }])).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ index: 0 }) }));
  });
});
