import { randomUUID } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { openKafkaBus, type KafkaBusOptions } from '../src/bus/kafka/kafka-bus.js';
import { readDrop } from '../src/ingest/index.js';
import { ingestDrop } from '../src/ingest/ingest-drop.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import { BusIngestSink } from '../src/pipeline/bus-sink.js';
import { familyKeyOfLine, LIQUIDATION_GROUP, LINE_TOPICS } from '../src/pipeline/keys.js';
import { LiquidationService } from '../src/pipeline/liquidation-service.js';
import { referencePaths } from '../src/pipeline/reference.js';
import { startTestBroker } from '../test/support/kafka-mock.js';
import { prepareDrop, root, runChild } from './support.js';

/**
 * End-to-end pipeline benchmark on a Kafka-protocol broker over loopback TCP (librdkafka's mock
 * cluster served by kcat, started here through the test harness; or the cluster named by
 * KAFKA_BROKERS), beside a baseline measured in the same run: bare kafkajs producing and then
 * consuming the same number of messages of the same size. The ratio of the two is the figure:
 * both pay the same broker, loopback and kafkajs client, so it is the cost of the pipeline itself.
 *
 * The drop is bench/pipeline.bench.ts's (same generator call, same directory, so it is shared).
 * Each measurement runs in a fresh child process (peak RSS = its `maxRSS`, worker threads
 * included) against a fresh broker (the mock keeps everything in memory; a fresh one per
 * measurement keeps the first run's data from weighing on the second). With KAFKA_BROKERS, each
 * measurement gets its own topic prefix instead.
 *
 *   npm run bench:pipeline-kafka -- [--lines 20000] [--workers 2] [--dir <dir>] [--batch 500]
 */
const { values } = parseArgs({
  options: {
    lines: { type: 'string' }, workers: { type: 'string' }, dir: { type: 'string' }, batch: { type: 'string' },
    child: { type: 'string' }, drop: { type: 'string' }, ref: { type: 'string' }, brokers: { type: 'string' }, prefix: { type: 'string' },
    count: { type: 'string' }, 'value-bytes': { type: 'string' }, 'key-bytes': { type: 'string' }, 'header-bytes': { type: 'string' }, keys: { type: 'string' },
  },
});

const mb = (kb: number) => Math.round(kb / 1024);

/**
 * librdkafka's mock keeps at most 5 MiB (and 100 000 message sets) per partition and silently drops
 * the oldest beyond that (rdkafka_mock.c, `mpart->max_size`, not configurable): with 4 partitions
 * a topic holds ≈ 20 MiB, about 28 000 of these lines. The pipeline ingests the whole drop before
 * the service catches up, so a larger drop would lose its first lines; the bench refuses it.
 */
const MOCK_PARTITION_BYTES = 5 * 1024 * 1024;
const MOCK_LIMIT_TEXT = 'librdkafka\'s mock broker keeps at most 5 MiB per partition; run larger drops against a real Kafka (KAFKA_BROKERS)';
const isMock = () => !process.env.KAFKA_BROKERS;

/** As the integration tests: the mock needs a ≥ 3 s session and answers ListOffsets-by-time wrongly. */
function busOptions(brokers: string[], topicPrefix: string): KafkaBusOptions {
  return {
    brokers, clientId: 'noemie-bench', ssl: false, sessionTimeout: isMock() ? 3_000 : 6_000, topicPrefix,
    timestampLookup: !isMock(), retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  };
}

async function pipelineChild(drop: string, ref: string, brokers: string[], prefix: string, workers: number, batch: number): Promise<object> {
  const paths = referencePaths(ref);
  const { index } = await loadBeneficiaries(paths.beneficiariesFile);
  const bus = await openKafkaBus(busOptions(brokers, prefix));
  const t0 = performance.now();
  const ingested = await ingestDrop(drop, { sink: new BusIngestSink(bus, { batch }) });
  const t1 = performance.now();
  const truncated = (await bus.endOffsets('decompte-lines')).filter((p) => p.low > 0);
  if (truncated.length > 0) throw new Error(`the broker dropped the head of decompte-lines (${JSON.stringify(truncated)}): ${MOCK_LIMIT_TEXT}`);
  // The first batch's time: before it, the service loads the changelog and joins its group (≈ the session timeout on the mock).
  let firstAt = 0;
  const service = await LiquidationService.start({ bus, beneficiaries: index, reference: paths, workers, onBatch: () => void (firstAt ||= performance.now()) });
  for (;;) {
    const lag = await bus.lag(LIQUIDATION_GROUP, LINE_TOPICS);
    if (lag.every((l) => l.lag === 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const t2 = performance.now();
  await service.stop();
  const settlements = (await bus.endOffsets('settlements')).reduce((n, p) => n + p.high, 0);
  await bus.close();
  return {
    lines: ingested.totals.accepted, ingestSeconds: (t1 - t0) / 1000, liquidateSeconds: (t2 - t1) / 1000, joinSeconds: (firstAt - t1) / 1000, seconds: (t2 - t0) / 1000,
    settlements, stats: service.stats, peakRssMb: mb(process.resourceUsage().maxRSS),
  };
}

/**
 * The baseline: what kafkajs and the broker cost alone. A plain producer (acks −1, not
 * idempotent, maxInFlightRequests 1, as the bus's) sends `count` messages in awaited batches of
 * `batch` (as BusIngestSink does), keyed over `keys` keys, each with a value, a key and three
 * headers of the drop's average sizes; then a fresh consumer group reads them all (eachBatch,
 * one offset commit per batch, as the service). Produce then consume, as the pipeline ingests
 * then liquidates.
 */
async function rawChild(brokers: string[], prefix: string, o: { count: number; valueBytes: number; keyBytes: number; headerBytes: number; keys: number; batch: number }): Promise<object> {
  const kafka = new Kafka({ clientId: 'noemie-bench-raw', brokers, logLevel: logLevel.WARN, retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 } });
  const topic = `${prefix}raw-lines`;
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true, idempotent: false, maxInFlightRequests: 1 });
  await producer.connect();
  const value = 'x'.repeat(o.valueBytes);
  const hv = 'h'.repeat(Math.max(1, Math.round(o.headerBytes / 3)));
  const keyOf = (i: number) => `${String(i % o.keys).padStart(o.keyBytes, '0')}`;
  const t0 = performance.now();
  for (let i = 0; i < o.count; i += o.batch) {
    const messages = [];
    for (let j = i; j < Math.min(o.count, i + o.batch); j += 1) messages.push({ key: keyOf(j), value, headers: { source: hv, record: hv, lineKey: hv } });
    await producer.send({ topic, acks: -1, messages });
  }
  const t1 = performance.now();
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const truncated = (await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.low) > 0);
  await admin.disconnect();
  if (truncated.length > 0) throw new Error(`the broker dropped the head of ${topic} (${JSON.stringify(truncated)}): ${MOCK_LIMIT_TEXT}`);
  // The bus's consumer settings (src/bus/kafka/subscription.ts), so only the pipeline's own work differs.
  const sessionTimeout = isMock() ? 3_000 : 6_000;
  const consumer = kafka.consumer({
    groupId: `${prefix}raw-group`, sessionTimeout, heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 10)),
    rebalanceTimeout: Math.max(sessionTimeout, 10_000), maxWaitTimeInMs: Math.min(5_000, Math.floor(sessionTimeout / 6)), allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let bytes = 0;
  let firstAt = 0;
  const t2 = performance.now();
  await new Promise<void>((res, rej) => {
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch: b, resolveOffset, heartbeat }) => {
          if (firstAt === 0) firstAt = performance.now();
          for (const m of b.messages) {
            bytes += m.value?.length ?? 0;
            resolveOffset(m.offset);
          }
          seen += b.messages.length;
          const last = b.messages[b.messages.length - 1];
          if (last) await consumer.commitOffsets([{ topic: b.topic, partition: b.partition, offset: String(Number(last.offset) + 1) }]);
          await heartbeat();
          if (seen >= o.count) res();
        },
      })
      .catch(rej);
  });
  const t3 = performance.now();
  await consumer.disconnect();
  return {
    lines: seen, produceSeconds: (t1 - t0) / 1000, consumeSeconds: (t3 - t2) / 1000, joinSeconds: (firstAt - t2) / 1000, seconds: (t1 - t0 + (t3 - t2)) / 1000,
    valueBytes: Math.round(bytes / Math.max(1, seen)), peakRssMb: mb(process.resourceUsage().maxRSS),
  };
}

/** Average sizes of what BusIngestSink puts on the wire for this drop (value JSON, key, headers). */
async function messageSizes(drop: string): Promise<{ count: number; valueBytes: number; keyBytes: number; headerBytes: number; keys: number }> {
  let count = 0, value = 0, key = 0, header = 0;
  const keys = new Set<string>();
  for await (const part of readDrop(drop)) {
    for await (const ev of part.events) {
      if (ev.kind !== 'line') continue;
      count += 1;
      value += Buffer.byteLength(JSON.stringify({ line: ev.line, origin: { file: ev.origin.file, record: ev.origin.record } }));
      const k = familyKeyOfLine(ev.line);
      keys.add(k);
      key += k.length;
      header += ev.origin.file.length + String(ev.origin.record).length + 40;
    }
  }
  const avg = (n: number) => Math.max(1, Math.round(n / Math.max(1, count)));
  return { count, valueBytes: avg(value), keyBytes: avg(key), headerBytes: avg(header), keys: keys.size };
}


/** One measurement against a broker of its own (mock), or under a topic prefix of its own (external). */
async function withBroker<T>(run: (brokers: string[], prefix: string) => Promise<T>): Promise<T> {
  const broker = await startTestBroker();
  try {
    return await run(broker.brokers(), `b${randomUUID().slice(0, 8)}.`);
  } finally {
    await broker.stop();
  }
}

async function main(): Promise<void> {
  const batch = Number(values.batch ?? 500);
  if (values.child === 'pipeline') {
    return void console.log(JSON.stringify(await pipelineChild(values.drop!, values.ref!, values.brokers!.split(','), values.prefix!, Number(values.workers ?? 2), batch)));
  }
  if (values.child === 'raw') {
    const o = { count: Number(values.count), valueBytes: Number(values['value-bytes']), keyBytes: Number(values['key-bytes']), headerBytes: Number(values['header-bytes']), keys: Number(values.keys), batch };
    return void console.log(JSON.stringify(await rawChild(values.brokers!.split(','), values.prefix!, o)));
  }
  const lines = Number(values.lines ?? 20_000);
  const workers = Number(values.workers ?? 2);
  const { dir, ref, drop } = await prepareDrop(lines, values.dir);
  // A private reference directory: bench:pipeline may run beside this one and copy its own member file.
  const home = mkdtempSync(join(dir, 'kafka-'));
  try {
    const myRef = join(home, 'reference');
    cpSync(ref, myRef, { recursive: true });
    cpSync(join(ref, `beneficiaries-${lines}.csv`), join(myRef, 'beneficiaries.csv'));
    const sizes = await messageSizes(drop);
    // Record on the wire ≈ value + key + headers + ~70 B of framing; 4 partitions, keys spread evenly.
    const perPartition = (sizes.count * (sizes.valueBytes + sizes.keyBytes + sizes.headerBytes + 70)) / 4;
    if (isMock() && perPartition > 0.9 * MOCK_PARTITION_BYTES) {
      throw new Error(`${lines} lines need ≈ ${(perPartition / 1024 / 1024).toFixed(1)} MiB per partition of decompte-lines: ${MOCK_LIMIT_TEXT}`);
    }
    const raw = await withBroker((brokers, prefix) =>
      runChild(import.meta.url, ['--child', 'raw', '--brokers', brokers.join(','), '--prefix', prefix, '--batch', String(batch), '--count', String(sizes.count),
        '--value-bytes', String(sizes.valueBytes), '--key-bytes', String(sizes.keyBytes), '--header-bytes', String(sizes.headerBytes), '--keys', String(sizes.keys)]),
    );
    const pipe = await withBroker((brokers, prefix) =>
      runChild(import.meta.url, ['--child', 'pipeline', '--drop', drop, '--ref', myRef, '--brokers', brokers.join(','), '--prefix', prefix, '--workers', String(workers), '--batch', String(batch)]),
    );
    const rows = [
      { run: 'raw kafkajs produce + consume', lines: raw.lines!, seconds: raw.seconds!, peakRssMb: raw.peakRssMb! },
      { run: `pipeline on Kafka: ingest → liquidation (${workers} w)`, lines: pipe.lines!, seconds: pipe.seconds!, peakRssMb: pipe.peakRssMb! },
    ];
    for (const r of rows) console.log(`${r.run.padEnd(52)} ${String(r.lines).padStart(9)} lines ${r.seconds.toFixed(2).padStart(8)} s ${String(Math.round(r.lines / r.seconds)).padStart(8)} lines/s  peak RSS ${r.peakRssMb} MB`);
    console.log(`  raw: ${sizes.valueBytes} B values, produce ${raw.produceSeconds!.toFixed(2)} s, consume ${raw.consumeSeconds!.toFixed(2)} s (of which group join → first batch ${raw.joinSeconds!.toFixed(2)} s)`);
    console.log(`  pipeline: ingest ${pipe.ingestSeconds!.toFixed(2)} s, liquidation ${pipe.liquidateSeconds!.toFixed(2)} s (of which start + join → first batch done ${pipe.joinSeconds!.toFixed(2)} s); ${pipe.settlements} settlements on the topic`);
    const ratio = (pipe.lines! / pipe.seconds!) / (raw.lines! / raw.seconds!);
    console.log(`  pipeline / raw lines/s: ${ratio.toFixed(3)}; peak RSS pipeline / raw: ${(pipe.peakRssMb! / raw.peakRssMb!).toFixed(2)}`);
    mkdirSync(join(root, 'bench', 'out'), { recursive: true });
    const report = {
      date: new Date().toISOString(), node: process.version, broker: isMock() ? 'librdkafka mock (kcat), 3 brokers, loopback' : 'KAFKA_BROKERS',
      lines, workers, batch, messageSizes: sizes, raw, pipeline: pipe, ratio,
    };
    writeFileSync(join(root, 'bench', 'out', `pipeline-kafka-${lines}.json`), `${JSON.stringify(report, null, 2)}\n`);
    appendFileSync(join(dir, 'history-kafka.ndjson'), `${JSON.stringify(report)}\n`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
