import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { BusRecord } from '../../src/bus/bus.js';
import { setVerifyTrusted, textOfBytes } from '../../src/bus/codec.js';
import type { EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor, TOPICS } from '../../src/bus/topics.js';
import { embeddedBusPerTest } from '../support/embedded-bus.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * ConsumeOptions.raw: the embedded bus hands a record this process appended as its value's JSON
 * as stored (`json`, not parsed: from memory or from the log file alike) with the reader's value,
 * and a record found on disk checked by zod then whole, with its JSON made again.
 */
const tmp = embeddedBusPerTest('noemie-bus-raw-');

const nir = NIRS[0];
const p = partitionFor(`${nir}-1`);
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ value: lineMessage(nir, 1, i + 1) }));
type Line = BusRecord<'decompte-lines'>['value'];
/** a reader that reads the text itself, so the test sees what it was given */
const reader = (json: string | Uint8Array) => ({ read: textOfBytes(json) }) as unknown as Line;

/** A group that follows the topic from now on (so what is appended next is kept in memory for it); `all` waits for `expected` records. */
async function follow(bus: EmbeddedBus, groupId: string, raw: boolean): Promise<{ all: (expected: number) => Promise<BusRecord<'decompte-lines'>[]> }> {
  const got: BusRecord<'decompte-lines'>[] = [];
  const sub = await bus.consume({
    groupId,
    topics: ['decompte-lines'],
    ...(raw ? { raw: { 'decompte-lines': reader } } : {}),
    handler: async (b) => void got.push(...(b.records as BusRecord<'decompte-lines'>[])),
  });
  return {
    all: async (expected) => {
      for (let i = 0; i < 200 && got.length < expected; i++) await new Promise((r) => setTimeout(r, 10));
      await sub.stop();
      return got;
    },
  };
}

async function consumeAll(bus: EmbeddedBus, groupId: string, expected: number, raw: boolean): Promise<BusRecord<'decompte-lines'>[]> {
  return (await follow(bus, groupId, raw)).all(expected);
}

const jsonOf = (r: BusRecord<'decompte-lines'>) => textOfBytes(r.json!);

describe('embedded bus: a consumer’s raw values', () => {
  for (const [where, tailBytes] of [['memory (the tail)', undefined], ['the log file', 0]] as const) {
    it(`hands an own record’s JSON as stored, unparsed and unchecked, from ${where}`, async () => {
      setVerifyTrusted(false);
      onTestFinished(() => setVerifyTrusted(undefined));
      const bus = await tmp.open(tailBytes === undefined ? {} : { tailBytes });
      const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
      const json = vi.spyOn(JSON, 'parse');
      const rawGroup = await follow(bus, 'raw', true);
      const wholeGroup = await follow(bus, 'whole', false);
      // the bytes given by a trusted producer (the ingest sink's way) and a value serialised by produce
      const sent = messages(4).map((m) => m.value);
      const text = JSON.stringify(sent[0]);
      await bus.produce('decompte-lines', [{ json: new TextEncoder().encode(text), key: `${nir}-1`, headers: { file: 'drop-2025-03-10.csv', record: 2, lineKey: 'k1' } }], { trusted: true });
      await bus.produce('decompte-lines', messages(4).slice(1), { trusted: true });
      const raw = await rawGroup.all(4);
      expect(bus.tailStats().served).toBe(tailBytes === undefined ? 8 : 0);
      // Neither zod nor a parse of a value for the raw group (the file: each stored line's envelope
      // only); the whole group parses each value once. (NOEMIE_BUS_VERIFY, the suite's setting, is
      // off here: it would make produce parse and check the trusted values too.)
      const whole = await wholeGroup.all(4);
      expect(parse).not.toHaveBeenCalled();
      expect(json.mock.calls.filter((c) => String(c[0]).includes('"line"'))).toHaveLength(4);
      json.mockRestore();
      expect(raw.map(jsonOf)).toEqual(sent.map((v) => JSON.stringify(v)));
      expect(raw.map((r) => r.value)).toEqual(raw.map((r) => ({ read: jsonOf(r) })));
      // everything else is what a parsing consumer gets
      expect(whole.map((r) => r.json)).toEqual([undefined, undefined, undefined, undefined]);
      expect(whole.map((r) => JSON.parse(jsonOf(raw[whole.indexOf(r)]!)))).toEqual(whole.map((r) => r.value));
      expect(raw.map(({ json: _j, value: _v, ...rest }) => rest)).toEqual(whole.map(({ value: _v, ...rest }) => rest));
      expect(raw[0]!.headers).toEqual({ file: 'drop-2025-03-10.csv', record: 2, lineKey: 'k1' });
      expect(raw.map((r) => r.partition)).toEqual([p, p, p, p]);
    });
  }

  it('a record with a non-ASCII header read from the file keeps its header and its value’s bytes', async () => {
    const bus = await tmp.open({ tailBytes: 0 });
    const value = lineMessage(nir, 1, 1, 'décomptes-été.csv');
    await bus.produce('decompte-lines', [{ value }]);
    const [r] = await consumeAll(bus, 'raw', 1, true);
    expect(r!.headers.file).toBe('décomptes-été.csv');
    expect(JSON.parse(jsonOf(r!))).toEqual(value);
  });

  it('records found on disk at open are checked by zod and handed whole, with their JSON made again; a bad one is refused', async () => {
    const first = await tmp.open();
    await first.produce('decompte-lines', messages(3));
    await first.close();
    let bus = await tmp.open();
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    const got = await consumeAll(bus, 'disk', 3, true);
    expect(parse).toHaveBeenCalledTimes(3);
    parse.mockRestore();
    expect(got.map((r) => r.value)).toEqual(messages(3).map((m) => m.value));
    expect(got.map((r) => JSON.parse(jsonOf(r)))).toEqual(got.map((r) => r.value));
    await tmp.closeAll();
    // the second record's NIR made invalid on disk: refused as for any consumer
    const file = join(tmp.dir, 'decompte-lines', `${p}.log`);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace(`"nir":"${nir}"`, `"nir":"${nir.slice(0, 12)}X"`);
    await writeFile(file, lines.join('\n'));
    bus = await tmp.open();
    const sub = await bus.consume({ groupId: 'bad', topics: ['decompte-lines'], raw: { 'decompte-lines': reader }, handler: async () => undefined });
    await expect(sub.done).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE' });
  });
});
