import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../src/bus/bus.js';
import { decode, toWire } from '../../src/bus/codec.js';
import type { EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor, TOPICS } from '../../src/bus/topics.js';
import { embeddedBusPerTest } from '../support/embedded-bus.js';
import { readAll } from './bus-suite.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * The embedded bus checks a message with zod once, when it is produced: a record this process
 * appended is handed to consumers and readRange without a second schema pass; a record found on
 * disk when the bus was opened (another process, another version, a damaged file) is checked again.
 */
const tmp = embeddedBusPerTest('noemie-bus-own-');
const open = () => tmp.open();

const nir = NIRS[0];
const p = partitionFor(`${nir}-1`);
const messages = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ value: lineMessage(nir, 1, from + i) }));

async function consumeAll(bus: EmbeddedBus, groupId: string, expected: number): Promise<BusRecord<'decompte-lines'>[]> {
  const got: BusRecord<'decompte-lines'>[] = [];
  const sub = await bus.consume({ groupId, topics: ['decompte-lines'], handler: async (b) => void got.push(...(b.records as BusRecord<'decompte-lines'>[])) });
  for (let i = 0; i < 200 && got.length < expected; i++) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  return got;
}

describe('embedded bus: one schema check per message', () => {
  it('records produced by this process are checked when produced, not again when consumed or read', async () => {
    const bus = await open();
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    await bus.produce('decompte-lines', messages(1, 5));
    expect(parse).toHaveBeenCalledTimes(5); // produce
    const consumed = await consumeAll(bus, 'g', 5);
    const read = (await readAll(bus.readRange('decompte-lines', p, { from: 0 }))).flat();
    expect(parse).toHaveBeenCalledTimes(5); // and nothing more
    // what they deliver is what the checked path gives for the same stored record
    expect(consumed.map((r) => r.value.line.lineNo)).toEqual([1, 2, 3, 4, 5]);
    parse.mockRestore();
    for (const r of [...consumed, ...read]) {
      expect(r).toEqual(decode('decompte-lines', { partition: r.partition, offset: r.offset, key: r.key, value: JSON.parse(JSON.stringify(r.value)), headers: toWire(r.headers), timestamp: r.timestamp }));
    }
    expect(read[0]?.headers).toEqual({ file: 'drop-2025-03-10.csv', record: 2, lineKey: expect.any(String) });
  });

  it('records found on disk at open are checked again: a value changed on disk is refused, naming its offset', async () => {
    const first = await open();
    await first.produce('decompte-lines', messages(1, 3));
    await first.close();
    // the second record's NIR made invalid (a letter), same length: the index stays right, the JSON too
    const file = join(tmp.dir, 'decompte-lines', `${p}.log`);
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines[1]).toContain('"lineNo":2');
    lines[1] = lines[1]!.replace(`"nir":"${nir}"`, `"nir":"${nir.slice(0, 12)}X"`);
    await writeFile(file, lines.join('\n'));

    const bus = await open();
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    await expect(readAll(bus.readRange('decompte-lines', p, { from: 0 }))).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE', context: { partition: p, offset: '1' } });
    const sub = await bus.consume({ groupId: 'g', topics: ['decompte-lines'], handler: async () => undefined });
    await expect(sub.done).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE' });
    expect(parse).toHaveBeenCalled();

    // what this process appends after them is trusted: read from offset 3, no schema pass
    parse.mockClear();
    await bus.produce('decompte-lines', messages(4, 2));
    expect(parse).toHaveBeenCalledTimes(2);
    const tail = (await readAll(bus.readRange('decompte-lines', p, { from: 3 }))).flat();
    expect(tail.map((r) => r.value.line.lineNo)).toEqual([4, 5]);
    expect(parse).toHaveBeenCalledTimes(2);
  });
});
