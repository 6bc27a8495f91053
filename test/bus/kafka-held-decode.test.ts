import type { Consumer, ConsumerRunConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import type { BusRecord, ConsumeOptions } from '../../src/bus/bus.js';
import { KafkaSubscription } from '../../src/bus/kafka/subscription.js';
import { lineRoutingOf } from '../../src/pipeline/line-routing.js';
import { TOPICS } from '../../src/bus/topics.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * The Kafka subscription holds what it gathers across fetches as kafkajs handed it, and decodes a
 * record (JSON, zod, then the consumer's slim function) only when it goes to the handler
 * (src/bus/kafka/subscription.ts `Held`). kafkajs is replaced by an object following its consumer
 * contract (run → eachBatch payloads), driven by the test as kafkajs's fetch loop would.
 */
type Line = BusRecord<'decompte-lines'>['value'];

function harness(options: Partial<ConsumeOptions<'decompte-lines'>> & Pick<ConsumeOptions<'decompte-lines'>, 'handler'>) {
  let eachBatch!: (p: EachBatchPayload) => Promise<void>;
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: () => undefined,
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (config: ConsumerRunConfig) => void (eachBatch = config.eachBatch!),
    seek: () => undefined,
    disconnect: async () => undefined,
  } as unknown as Consumer;
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const sub = new KafkaSubscription(
    { kafka, sessionTimeout: 3_000, nameOf: (t) => `p.${t}`, topicOf: (n) => n.slice(2) as 'decompte-lines', logger: undefined },
    { groupId: 'g', topics: ['decompte-lines'], maxBatch: 4, ...options },
  );
  const commits: string[] = [];
  const message = (offset: number, value: unknown = lineMessage(NIRS[0], 1, offset + 1)): KafkaMessage =>
    ({ offset: String(offset), key: Buffer.from(`${NIRS[0]}-1`), value: Buffer.from(JSON.stringify(value)), headers: { 'source-file': Buffer.from('d.csv'), record: Buffer.from(String(offset + 1)) }, timestamp: '1700000000000', attributes: 0 }) as KafkaMessage;
  /** one fetch's batch of `messages`, the partition's high watermark being `highWatermark` */
  const deliver = (messages: KafkaMessage[], highWatermark: number) =>
    eachBatch({
      batch: { topic: 'p.decompte-lines', partition: 1, highWatermark: String(highWatermark), messages, lastOffset: () => messages[messages.length - 1]!.offset },
      resolveOffset: () => undefined,
      commitOffsetsIfNecessary: async (o: { topics: { partitions: { offset: string }[] }[] }) => void commits.push(o.topics[0]!.partitions[0]!.offset),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
  return { sub, commits, message, deliver };
}

describe('kafka subscription: records held as kafkajs handed them', () => {
  it('decodes a held record only when it goes to the handler, checked by the topic schema, with its headers', async () => {
    const handled: BusRecord<'decompte-lines'>[][] = [];
    const { sub, commits, message, deliver } = harness({ handler: async (b) => void handled.push(b.records as BusRecord<'decompte-lines'>[]) });
    await sub.start();
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    try {
      await deliver([message(0), message(1)], 10);
      await deliver([message(2)], 10);
      // held (3 of maxBatch 4, the partition not read to its end): nothing decoded yet
      expect(parse).toHaveBeenCalledTimes(0);
      expect(handled).toEqual([]);
      await deliver([message(3), message(4)], 10);
      expect(parse).toHaveBeenCalledTimes(4);
      expect(handled.map((b) => b.map((r) => r.offset))).toEqual([[0, 1, 2, 3]]);
      expect(handled[0]![2]).toMatchObject({ topic: 'decompte-lines', partition: 1, offset: 2, key: `${NIRS[0]}-1`, value: lineMessage(NIRS[0], 1, 3), headers: { file: 'd.csv', record: 3 }, timestamp: 1_700_000_000_000 });
      expect(commits).toEqual(['4']);
    } finally {
      parse.mockRestore();
      await sub.stop();
    }
  });

  it("hands each value as the consumer's slim function returns it, after the schema check", async () => {
    const got: unknown[] = [];
    const slim = (v: Line) => ({ id: `${v.line.decompteId}:${v.line.lineNo}` }) as unknown as Line;
    const { sub, message, deliver } = harness({ slim: { 'decompte-lines': slim }, handler: async (b) => void got.push(...b.records.map((r) => r.value)) });
    await sub.start();
    const values = [0, 1].map((i) => lineMessage(NIRS[0], 1, i + 1));
    await deliver([message(0, values[0]), message(1, values[1])], 2);
    expect(got).toEqual(values.map((v) => ({ id: `${v.line.decompteId}:${v.line.lineNo}` })));
    await sub.stop();
  });

  it('ends the subscription on a held record that fails its schema: nothing of its batch handled or committed, the batch before it committed', async () => {
    const handled: number[][] = [];
    const { sub, commits, message, deliver } = harness({ handler: async (b) => void handled.push(b.records.map((r) => r.offset)) });
    await sub.start();
    const bad = { ...lineMessage(NIRS[0], 1, 6), origin: { file: 'd.csv', record: 0 } };
    await deliver([0, 1, 2, 3].map((o) => message(o)), 8);
    await deliver([message(4), message(5, bad), message(6), message(7)], 8);
    expect(handled).toEqual([[0, 1, 2, 3]]);
    expect(commits).toEqual(['4']);
    await expect(sub.done).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ topic: 'decompte-lines', partition: 1, offset: '5' }) });
    // a kafkajs fetch after the failure hands nothing more
    await deliver([message(8)], 9);
    expect(handled).toEqual([[0, 1, 2, 3]]);
    expect(commits).toEqual(['4']);
  });

  it('hands the raw topics as their JSON, unchecked, to a consumer that checks them itself (checksRaw): value from its reader, headers checked', async () => {
    const handled: BusRecord<'decompte-lines'>[] = [];
    const { sub, message, deliver } = harness({ raw: { 'decompte-lines': lineRoutingOf }, checksRaw: true, handler: async (b) => void handled.push(...(b.records as BusRecord<'decompte-lines'>[])) });
    await sub.start();
    const parse = vi.spyOn(TOPICS['decompte-lines'].schema, 'safeParse');
    try {
      const sent = [message(0), message(1)];
      await deliver(sent, 2);
      expect(parse).toHaveBeenCalledTimes(0);
      expect(handled.map((r) => r.offset)).toEqual([0, 1]);
      const line = lineMessage(NIRS[0], 1, 2).line;
      expect(handled[1]).toMatchObject({ topic: 'decompte-lines', partition: 1, offset: 1, key: `${NIRS[0]}-1`, headers: { file: 'd.csv', record: 2 }, timestamp: 1_700_000_000_000, unchecked: true });
      expect(handled[1]!.value).toEqual({ line: { nir: line.nir, rang: line.rang, amcMemberId: line.amcMemberId } });
      // the bytes kafkajs handed, not a copy
      expect(handled[1]!.json).toBe(sent[1]!.value);
    } finally {
      parse.mockRestore();
      await sub.stop();
    }
  });

  it('parses and checks a raw record whose reader fails, as for any consumer: one that passes comes whole, a bad one ends the subscription', async () => {
    const handled: BusRecord<'decompte-lines'>[][] = [];
    const { sub, commits, message, deliver } = harness({ raw: { 'decompte-lines': lineRoutingOf }, checksRaw: true, handler: async (b) => void handled.push(b.records as BusRecord<'decompte-lines'>[]) });
    await sub.start();
    // valid, but its fields in an order and spacing the byte scan does not read: its reader parses it (slow path), so it stays raw
    const spaced = { ...message(0), value: Buffer.from(JSON.stringify(lineMessage(NIRS[0], 1, 1), null, 1)) } as KafkaMessage;
    await deliver([spaced, message(1)], 2);
    expect(handled[0]!.map((r) => r.unchecked)).toEqual([true, true]);
    expect(handled[0]!.map((r) => r.json)).toEqual([spaced.value, expect.anything()]);
    // not JSON: the reader throws, the bus's own check ends the subscription
    const notJson = { ...message(2), value: Buffer.from('{"line":') } as KafkaMessage;
    await deliver([notJson, message(3)], 4);
    expect(handled).toHaveLength(1);
    expect(commits).toEqual(['2']);
    await expect(sub.done).rejects.toMatchObject({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ topic: 'decompte-lines', partition: 1, offset: '2' }) });
  });

  it('hands raw topics parsed and checked to a consumer that does not check them itself', async () => {
    const handled: BusRecord<'decompte-lines'>[] = [];
    const { sub, message, deliver } = harness({ raw: { 'decompte-lines': lineRoutingOf }, handler: async (b) => void handled.push(...(b.records as BusRecord<'decompte-lines'>[])) });
    await sub.start();
    await deliver([message(0)], 1);
    expect(handled[0]!.value).toEqual(lineMessage(NIRS[0], 1, 1));
    expect(handled[0]!.json).toBeUndefined();
    expect(handled[0]!.unchecked).toBeUndefined();
    await sub.stop();
  });

  it('a valid record its reader cannot read comes whole and checked, its JSON made again from the schema output', async () => {
    const handled: BusRecord<'decompte-lines'>[] = [];
    const reader = (json: string | Uint8Array) => {
      if (Buffer.from(json as Uint8Array).includes('"lineNo":2,')) throw new Error('not for me');
      return lineRoutingOf(json);
    };
    const { sub, message, deliver } = harness({ raw: { 'decompte-lines': reader }, checksRaw: true, handler: async (b) => void handled.push(...(b.records as BusRecord<'decompte-lines'>[])) });
    await sub.start();
    await deliver([message(0), message(1)], 2);
    expect(handled.map((r) => r.unchecked)).toEqual([true, undefined]);
    expect(handled[1]!.value).toEqual(lineMessage(NIRS[0], 1, 2));
    expect(handled[1]!.json).toBe(JSON.stringify(handled[1]!.value));
    await sub.stop();
  });
});
