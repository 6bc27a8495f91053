import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { startTestBroker, testBusOptions, type TestBroker } from '../support/kafka-mock.js';
import { partitionFor } from '../../src/bus/topics.js';
import { defineBusSuite } from './bus-suite.js';
import { drainUntilSigterm, lineMessage, NIRS } from './fixtures.js';

// Against the mock broker every consumer-group join waits ~3 s (its session timeout), and the
// whole suite runs two files at once: the 30 s default is too short and, worse, a timed-out test
// keeps running (its cleanup lands in the next test). A real hang still fails, later.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/**
 * The same suite as the embedded bus, over TCP against librdkafka's mock cluster (kcat), or the
 * Kafka named by KAFKA_BROKERS. Each test gets its own topic prefix so tests never see each
 * other's messages on a shared broker.
 */
let broker: TestBroker;
let prefix = '';

beforeAll(async () => {
  broker = await startTestBroker();
}, 30_000);

afterAll(async () => {
  await broker?.stop();
});

const testKafkaOptions = (topicPrefix: string) => testBusOptions(broker, topicPrefix);

defineBusSuite('kafka', {
  fresh: async () => {
    prefix = `t${randomUUID().slice(0, 8)}.`;
  },
  open: () => openKafkaBus(testKafkaOptions(prefix)),
});

/**
 * What a broker outage can show on the mock: SIGSTOP keeps its data (a broker that stops
 * answering), a restart loses everything (the mock lives in kcat's memory) and comes back on new
 * ports. So these check reconnection and that nothing acknowledged is lost across a pause; that
 * committed data survives a real broker restart is Kafka's own guarantee, not tested here.
 * Skipped when KAFKA_BROKERS points at a cluster we cannot stop.
 */
describe('kafka: broker outages (mock broker only)', () => {
  let bus: Awaited<ReturnType<typeof openKafkaBus>> | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  const lineNosSeen = () => {
    const seen: number[] = [];
    const wait = async (n: number, timeoutMs: number) => {
      const until = Date.now() + timeoutMs;
      while (new Set(seen).size < n) {
        if (Date.now() > until) throw new Error(`saw ${JSON.stringify(seen)} after ${timeoutMs} ms, wanted ${n} distinct lines`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    return { seen, wait };
  };

  it('a broker that stops answering: produce waits for the acks, the consumer carries on, nothing is lost', async (ctx) => {
    if (broker.kind !== 'mock') ctx.skip();
    bus = await openKafkaBus(testKafkaOptions(`t${randomUUID().slice(0, 8)}.`));
    const { seen, wait } = lineNosSeen();
    const sub = await bus.consume({ groupId: 'g-pause', topics: ['decompte-lines'], handler: async (b) => void seen.push(...b.records.map((r) => r.value.line.lineNo)) });
    await bus.produce('decompte-lines', [1, 2].map((n) => ({ value: lineMessage(NIRS[0], 1, n) })));
    await wait(2, 15_000);

    await broker.pause();
    let acked = false;
    const during = bus.produce('decompte-lines', [{ value: lineMessage(NIRS[0], 1, 3) }]).then(() => (acked = true));
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      expect(acked).toBe(false); // acks = −1: not durable until the broker answers
    } finally {
      broker.resume(); // whatever happens above, the next tests need a broker that answers
    }
    await during;
    await wait(3, 15_000);
    // At-least-once: a retried request may deliver a line twice; each line, in order of first delivery.
    expect([...new Set(seen)]).toEqual([1, 2, 3]);
    await sub.stop();
  }, 40_000);

  it('a broker restarted (empty, on new ports): producer and consumer reconnect with backoff and carry on', async (ctx) => {
    if (broker.kind !== 'mock') ctx.skip();
    bus = await openKafkaBus(testKafkaOptions(`t${randomUUID().slice(0, 8)}.`));
    const { seen, wait } = lineNosSeen();
    const sub = await bus.consume({ groupId: 'g-restart', topics: ['decompte-lines'], handler: async (b) => void seen.push(...b.records.map((r) => r.value.line.lineNo)) });
    await bus.produce('decompte-lines', [1, 2].map((n) => ({ value: lineMessage(NIRS[1], 1, n) })));
    await wait(2, 15_000);

    await broker.restart();
    // The topic comes back by auto-creation with 4 partitions; the same key lands on the same partition.
    await bus.produce('decompte-lines', [3, 4].map((n) => ({ value: lineMessage(NIRS[1], 1, n) })));
    await wait(4, 30_000);
    expect([...new Set(seen)]).toEqual([1, 2, 3, 4]);
    const ends = await bus.endOffsets('decompte-lines');
    expect(ends.find((e) => e.partition === partitionFor(`${NIRS[1]}-1`))?.high).toBe(2); // only 3 and 4: the mock forgot 1 and 2
    await sub.stop();
  }, 60_000);
});

/**
 * KAFKA_COMPRESSION=gzip: record batches are compressed by the producer, stored so by the broker and
 * inflated by the consumer. 12 000 lines of one beneficiary (one partition) are ≈ 6.4 MiB of values
 * (12 000 × ≈ 560 B), over the mock's 5 MiB per partition: uncompressed, the mock drops the oldest
 * (the control, which shows the volume is big enough to tell); gzip'ed (~20× smaller: the lines
 * differ only in their numbers) every one is kept, and all are read back intact.
 */
describe('kafka: gzip compression', () => {
  const N = 12_000;
  const message = (i: number) => ({ ...lineMessage(NIRS[3], 1, (i % 9_999) + 1), origin: { file: `drop-${Math.floor(i / 9_999)}.csv`, record: i + 1 } });
  const produceAll = async (bus: Awaited<ReturnType<typeof openKafkaBus>>) => {
    for (let i = 0; i < N; i += 500) await bus.produce('decompte-lines', Array.from({ length: 500 }, (_, j) => ({ value: message(i + j) })));
  };
  const partition = () => partitionFor(`${NIRS[3]}-1`);

  it('control: uncompressed, 6.4 MiB in one partition lose their head on the mock', async (ctx) => {
    if (broker.kind !== 'mock') ctx.skip();
    const bus = await openKafkaBus({ ...testKafkaOptions(`t${randomUUID().slice(0, 8)}.`), compression: 'none' });
    try {
      await produceAll(bus);
      const ends = (await bus.endOffsets('decompte-lines')).find((e) => e.partition === partition());
      expect(ends?.high).toBe(N);
      expect(ends?.low).toBeGreaterThan(0);
    } finally {
      await bus.close();
    }
  }, 60_000);

  it('gzip: every message kept and consumed intact', async () => {
    const bus = await openKafkaBus({ ...testKafkaOptions(`t${randomUUID().slice(0, 8)}.`), compression: 'gzip' });
    try {
      await produceAll(bus);
      expect((await bus.endOffsets('decompte-lines')).find((e) => e.partition === partition())).toMatchObject({ low: 0, high: N });
      const records = new Map<number, unknown>();
      const sub = await bus.consume({ groupId: 'g-gzip', topics: ['decompte-lines'], handler: async (b) => void b.records.forEach((r) => records.set(r.value.origin.record, r.value)) });
      const until = Date.now() + 60_000;
      while (records.size < N && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await sub.stop();
      expect(records.size).toBe(N);
      for (const i of [0, 1, 9_998, 9_999, N - 1]) expect(records.get(i + 1)).toEqual(message(i));
    } finally {
      await bus.close();
    }
  }, 90_000);
});

describe('kafka: shutdown', () => {
  it('on SIGTERM a consumer process finishes the batch in flight, commits it and exits 0', async () => {
    const topicPrefix = `t${randomUUID().slice(0, 8)}.`;
    const bus = await openKafkaBus(testKafkaOptions(topicPrefix));
    const p = partitionFor(`${NIRS[2]}-1`);
    try {
      await bus.produce('decompte-lines', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ value: lineMessage(NIRS[2], 1, n) })));
      const target = `kafka://${broker.brokers().join(',')}/${topicPrefix}`;
      const { code, handled } = await drainUntilSigterm(target);
      expect(code).toBe(0);
      expect(handled.length).toBeGreaterThanOrEqual(2);
      expect(handled.length).toBeLessThan(5);
      // Committed = last handled offset + 1: the batch in flight at SIGTERM was committed.
      expect((await bus.committedOffsets('g-drain', 'decompte-lines')).find((c) => c.partition === p)?.offset).toBe(handled[handled.length - 1]! + 1);
    } finally {
      await bus.close();
    }
  }, 40_000);
});

/**
 * Kafka's liveness is the session timeout; kafkajs heartbeats only between fetches or when the
 * handler calls heartbeat(). A pipeline handler can be slow for reasons of its own (a re-liquidation
 * request loads a family's whole ledger, a new grid version starts a worker pool, a loaded machine):
 * the member must not be evicted for it, which makes the broker hand the batch out again and the
 * work be done twice (found by `noemie run --once --kafka`: a request batch decided twice,
 * test/cli/run-reliquidation-kafka.int.test.ts).
 */
describe('kafka: a handler slower than the session timeout', () => {
  it('keeps its membership: each batch is handled once and committed', async () => {
    const bus = await openKafkaBus(testKafkaOptions(`t${randomUUID().slice(0, 8)}.`));
    try {
      const [nir] = NIRS;
      await bus.produce('decompte-lines', [1, 2, 3].map((i) => ({ value: lineMessage(nir, 1, i) })));
      const session = testKafkaOptions('').sessionTimeout;
      const seen: number[] = [];
      const sub = await bus.consume({
        groupId: 'g-slow',
        topics: ['decompte-lines'],
        maxBatch: 1,
        handler: async (b) => {
          for (const r of b.records) seen.push(r.offset);
          // twice the session timeout without calling heartbeat()
          await new Promise((r) => setTimeout(r, 2 * session));
        },
      });
      const until = Date.now() + 90_000;
      while (seen.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      // a redelivery would come within a session timeout or two of the eviction
      await new Promise((r) => setTimeout(r, 2 * session));
      await sub.stop();
      expect(seen).toEqual([0, 1, 2]);
      const partition = partitionFor(`${nir}-1`);
      expect((await bus.committedOffsets('g-slow', 'decompte-lines')).find((c) => c.partition === partition)?.offset).toBe(3);
    } finally {
      await bus.close();
    }
  }, 120_000);
});
