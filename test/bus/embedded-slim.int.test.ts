import { describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../src/bus/bus.js';
import type { EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { TOPICS } from '../../src/bus/topics.js';
import { embeddedBusPerTest } from '../support/embedded-bus.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * ConsumeOptions.slim: the embedded bus hands the handler what the consumer's function keeps of
 * each value of the topics it names — after the schema check for a record found on disk — and
 * the values of the other topics whole.
 */
const tmp = embeddedBusPerTest('noemie-bus-slim-');

const nir = NIRS[0];
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ value: lineMessage(nir, 1, i + 1) }));
type Line = BusRecord<'decompte-lines'>['value'];
const idOf = (v: Line) => `${v.line.decompteId}:${v.line.lineNo}`;
const slim = (v: Line) => ({ id: idOf(v) }) as unknown as Line;

async function consumeAll(bus: EmbeddedBus, groupId: string, expected: number, withSlim: boolean): Promise<unknown[]> {
  const got: unknown[] = [];
  const sub = await bus.consume({
    groupId,
    topics: ['decompte-lines'],
    ...(withSlim ? { slim: { 'decompte-lines': slim } } : {}),
    handler: async (b) => void got.push(...b.records.map((r) => r.value)),
  });
  for (let i = 0; i < 200 && got.length < expected; i++) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  return got;
}

describe('embedded bus: a consumer’s slim values', () => {
  it('hands each value as the topic’s slim function returns it, own records and records found on disk (checked first) alike', async () => {
    let bus = await tmp.open();
    const sent = messages(4).map((m) => m.value);
    await bus.produce('decompte-lines', messages(4));
    const keys = sent.map((v) => ({ id: idOf(v) }));
    expect(new Set(keys.map((k) => k.id)).size).toBe(4);
    expect(await consumeAll(bus, 'slim', 4, true)).toEqual(keys);
    expect(await consumeAll(bus, 'whole', 4, false)).toEqual(sent);
    await bus.close();
    // reopened: the records are not this process's own, checked with zod before the slim function
    bus = await tmp.open();
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    expect(await consumeAll(bus, 'slim-disk', 4, true)).toEqual(keys);
    expect(parse).toHaveBeenCalledTimes(4);
    parse.mockRestore();
  });
});
