import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { partitionCount, partitionFor, TOPIC_NAMES } from '../../src/bus/topics.js';
import { startTestBroker, testBusOptions, type TestBroker } from '../support/kafka-mock.js';
import { lineMessage } from './fixtures.js';

/**
 * NOEMIE_PARTITIONS=16 end to end. The count is read once per process, on first use; vitest runs
 * each test file in a fresh module graph, so setting the variable before anything asks for it gives
 * this file a pipeline of 16 partitions, as a process started with it would have.
 */
vi.stubEnv('NOEMIE_PARTITIONS', '16');
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const prefix = `p${randomUUID().slice(0, 8)}.`;
let broker: TestBroker;

beforeAll(async () => {
  // KAFKA_BROKERS set: that cluster, where the bus itself creates the topics with 16 partitions.
  broker = await startTestBroker({ partitions: 16, topics: TOPIC_NAMES.map((t) => prefix + t) });
}, 60_000);

afterAll(async () => {
  await broker?.stop();
});

const options = (topicPrefix: string) => testBusOptions(broker, topicPrefix);

/** 64 beneficiaries (13-digit NIRs; actLine computes their keys). */
const nirs = Array.from({ length: 64 }, (_, i) => `1850375${String(100_000 + i).padStart(6, '0')}`);

describe('NOEMIE_PARTITIONS=16 on Kafka (librdkafka mock with topics made up front by mock-broker.c)', () => {
  it('the bus opens on 16-partition topics, puts each key where partitionFor(key, 16) says and a group reads them all', async () => {
    expect(partitionCount()).toBe(16);
    const bus = await openKafkaBus(options(prefix));
    try {
      await bus.produce('decompte-lines', nirs.map((nir, i) => ({ value: lineMessage(nir, 1, i + 1) })));
      const ends = await bus.endOffsets('decompte-lines');
      expect(ends.map((e) => e.partition)).toEqual(Array.from({ length: 16 }, (_, p) => p));
      // 64 keys over 16 partitions: what each partition must hold, from the partitioner at 16
      const expected = new Array<number>(16).fill(0);
      for (const nir of nirs) expected[partitionFor(`${nir}-1`, 16)]! += 1;
      expect(ends.map((e) => e.high)).toEqual(expected);
      expect(expected.filter((n, p) => p >= 4 && n > 0).length).toBeGreaterThan(0); // beyond the 4 of the default

      const seen: { partition: number; key: string; lineNo: number }[] = [];
      const sub = await bus.consume({ groupId: 'g-16', topics: ['decompte-lines'], handler: async (b) => void seen.push(...b.records.map((r) => ({ partition: r.partition, key: r.key, lineNo: r.value.line.lineNo }))) });
      const until = Date.now() + 60_000;
      while (seen.length < nirs.length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await sub.stop();
      expect(seen.map((s) => s.lineNo).sort((a, b) => a - b)).toEqual(nirs.map((_, i) => i + 1));
      for (const s of seen) expect(s.partition).toBe(partitionFor(s.key, 16));
      expect(new Set(seen.map((s) => s.partition)).size).toBe(expected.filter((n) => n > 0).length);
    } finally {
      await bus.close();
    }
  });

  it('refuses topics of another count (auto-created with 4 by the mock), naming NOEMIE_PARTITIONS', async (ctx) => {
    if (broker.kind !== 'mock') ctx.skip();
    await expect(openKafkaBus(options(`q${randomUUID().slice(0, 8)}.`))).rejects.toMatchObject({
      code: 'BUS_PARTITION_MISMATCH',
      message: expect.stringMatching(/has 4 partitions, the pipeline expects 16 \(NOEMIE_PARTITIONS=16\).*set NOEMIE_PARTITIONS=4/),
    });
  });
});

describe('NOEMIE_PARTITIONS=16 on the embedded bus', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a bus directory written by a process with the default 4 partitions', async () => {
    dir = await mkdtemp(join(tmpdir(), 'noemie-bus-16-'));
    // A writer with NOEMIE_PARTITIONS unset (bus-child.ts produces until killed).
    const { NOEMIE_PARTITIONS: _drop, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'bus-child.ts'), 'write', dir], { stdio: ['ignore', 'pipe', 'inherit'], env });
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (c: string) => c.includes('acked') && resolve());
      child.once('exit', (code) => reject(new Error(`bus-child exited ${code} before writing`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(JSON.parse(await readFile(join(dir, 'decompte-lines', 'topic.json'), 'utf8'))).toEqual({ partitions: 4 });

    const bus = await openEmbeddedBus({ dir });
    try {
      await expect(bus.produce('decompte-lines', [{ value: lineMessage(nirs[0]!, 1, 1) }])).rejects.toMatchObject({
        code: 'BUS_PARTITION_MISMATCH',
        message: expect.stringMatching(/says 4 partitions, the pipeline expects 16 \(NOEMIE_PARTITIONS=16\).*set NOEMIE_PARTITIONS=4/),
      });
    } finally {
      await bus.close();
    }
  });
});
