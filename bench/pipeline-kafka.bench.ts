import { randomUUID } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Bus } from '../src/bus/bus.js';
import { installGzipCodec } from '../src/bus/kafka/gzip-codec.js';
import { openKafkaBus, type KafkaBusOptions } from '../src/bus/kafka/kafka-bus.js';
import { TOPIC_NAMES, type TopicName } from '../src/bus/topics.js';
import { busPartitions, readEnv } from '../src/config.js';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../src/heap-growth.js';
import { ingestDrop } from '../src/ingest/ingest-drop.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import { BusIngestSink } from '../src/pipeline/bus-sink.js';
import { LIQUIDATION_GROUP, LINE_TOPICS } from '../src/pipeline/keys.js';
import { LiquidationService } from '../src/pipeline/liquidation-service.js';
import { referencePaths } from '../src/pipeline/reference.js';
import { startTestBroker, type TestBrokerOptions } from '../test/support/kafka-mock.js';
import { estimate, fits, measureDrop, mib, MOCK_PARTITION_BYTES, suggestPartitions, type Compression } from './mock-capacity.js';
import { prepareDrop, root, runChild } from './support.js';

/**
 * End-to-end pipeline benchmark on a Kafka-protocol broker over loopback TCP (librdkafka's mock
 * cluster, started here through the test harness: kcat's, or with --partitions the one of
 * test/support/mock-broker/mock-broker.c with every topic made up front; or the cluster named by
 * KAFKA_BROKERS), beside a baseline measured in the same run: bare kafkajs producing and then
 * consuming the same number of messages of the same size and content, with the same compression.
 * The ratio of the two is the figure: both pay the same broker, loopback and kafkajs client, so it
 * is the cost of the pipeline itself.
 *
 * The drop is bench/pipeline.bench.ts's (same generator call, same directory, so it is shared).
 * Each measurement runs in a fresh child process (peak RSS = its `maxRSS`, worker threads
 * included) against a fresh broker (the mock keeps everything in memory; a fresh one per
 * measurement keeps the first run's data from weighing on the second). With KAFKA_BROKERS, each
 * measurement gets its own topic prefix instead.
 *
 * The mock keeps at most 5 MiB per partition (bench/mock-capacity.ts): the drop is sized against
 * it before the run (refused, with the --partitions to use, when it would not fit), and after the
 * run every partition of the line and settlement topics must still start at offset 0, and hold
 * every line and every settlement published, or the run fails.
 *
 *   npm run bench:pipeline-kafka -- [--lines 20000] [--workers 2] [--dir <dir>] [--batch 500]
 *     [--partitions N (NOEMIE_PARTITIONS, default 4)] [--compression none|gzip (KAFKA_COMPRESSION)]
 *     [--plan: print the sizing and the smallest --partitions that fits, run nothing]
 *     [--force: run even when the sizing says it will not fit (the check after the run still applies)]
 *     [--profile <dir>: the pipeline child runs under `node --cpu-prof` into <dir> (every thread)]
 *     [--mem-trace <file>: the pipeline child appends its memory every 250 ms to <file> (NDJSON, `memoryTrace`)]
 *     [--node-flags "<flags>": node/V8 flags of the pipeline child, e.g. "--trace-gc" (every thread's GCs, one isolate address each)]
 *     [--child-stdout <file>: what the pipeline child printed (the --trace-gc lines) appended to <file>]
 *     [--worker-heap MiB, --worker-young MiB, --partitions-at-once N, --max-batch N: the liquidation service's workerHeapMb, partitionsAtOnce, maxBatch]
 *     [--heap-growing-percent N: the pipeline child's V8 heap growth (default as `noemie run`: src/heap-growth.ts; 0: V8's own rule)]
 */
const { values } = parseArgs({
  options: {
    lines: { type: 'string' }, workers: { type: 'string' }, dir: { type: 'string' }, batch: { type: 'string' },
    child: { type: 'string' }, drop: { type: 'string' }, ref: { type: 'string' }, brokers: { type: 'string' }, prefix: { type: 'string' },
    count: { type: 'string' }, 'key-bytes': { type: 'string' }, keys: { type: 'string' }, pool: { type: 'string' },
    partitions: { type: 'string' }, compression: { type: 'string' }, plan: { type: 'boolean' }, force: { type: 'boolean' }, profile: { type: 'string' },
    'mem-trace': { type: 'string' }, 'node-flags': { type: 'string' }, 'worker-heap': { type: 'string' }, 'worker-young': { type: 'string' }, 'partitions-at-once': { type: 'string' }, 'max-batch': { type: 'string' },
    'child-stdout': { type: 'string' }, 'heap-growing-percent': { type: 'string' },
  },
});

const mb = (kb: number) => Math.round(kb / 1024);
/** user + system CPU of the whole process (every thread) between two `process.cpuUsage()` readings */
const cpuSeconds = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1e6;

/**
 * CPU seconds of this process's main thread so far (Linux: /proc/self/task/<pid>/stat, utime + stime
 * in clock ticks of 1/100 s), or NaN elsewhere: beside `process.cpuUsage()` (every thread: V8's GC
 * and compiler threads, libuv's pool, the pool workers) it says how much of the process's CPU is
 * the main thread's, the one the Kafka client, the decoding and the service's batches share.
 */
function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const env = readEnv();
const isMock = () => !env.KAFKA_BROKERS;
const compressionOf = (v: string | undefined): Compression => {
  const c = v ?? env.KAFKA_COMPRESSION;
  if (c !== 'none' && c !== 'gzip') throw new Error(`--compression: none or gzip, not ${c}`);
  return c;
};

/** As the integration tests: the mock needs a ≥ 3 s session and answers ListOffsets-by-time wrongly. */
function busOptions(brokers: string[], topicPrefix: string, compression: Compression): KafkaBusOptions {
  return {
    brokers, clientId: 'noemie-bench', ssl: false, sessionTimeout: isMock() ? 3_000 : 6_000, topicPrefix, compression,
    timestampLookup: !isMock(), retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  };
}

/** Messages written to a topic (Σ end offsets) and dropped from its head (Σ low watermarks). */
interface Kept {
  produced: number;
  evicted: number;
}

async function keptOn(bus: Bus, topic: TopicName): Promise<Kept> {
  const ends = await bus.endOffsets(topic);
  return { produced: ends.reduce((n, p) => n + p.high, 0), evicted: ends.reduce((n, p) => n + p.low, 0) };
}

/**
 * --mem-trace <file>: one NDJSON line every 250 ms of the pipeline child's memory — the process's
 * resident set split as the kernel counts it (/proc/self/status: anonymous, file-backed), the main
 * thread's V8 heap, and what lives outside it (Buffers, native allocations; the workers' heaps are
 * the anonymous memory none of these explain) — with the phase and the service's progress.
 */
function memoryTrace(file: string, progress: () => object): () => void {
  const t0 = performance.now();
  const kb = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  const sample = () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = process.memoryUsage();
    const line = {
      t: Math.round(performance.now() - t0), rssMb: mb(kb(status, 'VmRSS')), anonMb: mb(kb(status, 'RssAnon')), fileMb: mb(kb(status, 'RssFile')),
      heapUsedMb: Math.round(m.heapUsed / 2 ** 20), heapTotalMb: Math.round(m.heapTotal / 2 ** 20), externalMb: Math.round(m.external / 2 ** 20), arrayBuffersMb: Math.round(m.arrayBuffers / 2 ** 20),
      ...progress(),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  const timer = setInterval(sample, 250);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
  };
}

async function pipelineChild(drop: string, ref: string, brokers: string[], prefix: string, workers: number, batch: number, compression: Compression): Promise<object> {
  // The pipeline's process as `noemie run` sets it up (heap-growth.ts); --heap-growing-percent 0: V8's own rule.
  const growth = Number(values['heap-growing-percent'] ?? HEAP_GROWING_PERCENT);
  if (growth > 0) limitHeapGrowth(growth);
  let phase = 'start';
  let service: LiquidationService | undefined;
  const stopTrace = values['mem-trace'] ? memoryTrace(values['mem-trace'], () => ({ phase, lines: service?.stats.lines ?? 0, batches: service?.stats.batches ?? 0, ...(service ? { ledgers: service.ledgerStats } : {}) })) : () => undefined;
  const paths = referencePaths(ref);
  const { index } = await loadBeneficiaries(paths.beneficiariesFile);
  const bus = await openKafkaBus(busOptions(brokers, prefix, compression));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuSeconds();
  phase = 'ingest';
  const ingested = await ingestDrop(drop, { sink: new BusIngestSink(bus, { batch }) });
  const tIngested = performance.now();
  const cIngested = process.cpuUsage();
  const mIngested = mainThreadCpuSeconds();
  // Fail fast: a head dropped now is lines the service will never see. Outside both windows, as the baseline's own check.
  const truncated = (await bus.endOffsets('decompte-lines')).filter((p) => p.low > 0);
  if (truncated.length > 0) throw new Error(`the broker dropped the head of decompte-lines (${JSON.stringify(truncated)}): ${MOCK_LIMIT_TEXT}`);
  // The liquidation's window, as the baseline's consume window: from here the consumer side's
  // whole start (the service's pool, store, restore, its consumer's connect, subscribe and group join) to the last line.
  phase = 'liquidation';
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const m1 = mainThreadCpuSeconds();
  // The first batch's time: before it, the service loads the changelog and joins its group (≈ the session timeout on the mock).
  let firstAt = 0;
  // Done when the service has handled as many lines as were accepted (as the baseline counts what
  // it read), then confirmed by the group's lag: polling the lag all along cost the pipeline's
  // process 4 admin calls every 50 ms (≈ 18 requests each) that the baseline does not pay.
  let handledAll!: () => void;
  const handled = new Promise<void>((r) => (handledAll = r));
  service = await LiquidationService.start({
    bus, beneficiaries: index, reference: paths, workers,
    ...(values['worker-heap'] ? { workerHeapMb: Number(values['worker-heap']) } : {}),
    ...(values['worker-young'] ? { workerYoungMb: Number(values['worker-young']) } : {}),
    ...(values['partitions-at-once'] ? { partitionsAtOnce: Number(values['partitions-at-once']) } : {}),
    ...(values['max-batch'] ? { maxBatch: Number(values['max-batch']) } : {}),
    onBatch: (stats) => {
      firstAt ||= performance.now();
      if (stats.lines >= ingested.totals.accepted) handledAll();
    },
  });
  // start() returns once the service's consumer joined its group (kafkajs's run: join and sync first)
  const startedAt = performance.now();
  await Promise.race([handled, service.done]);
  for (;;) {
    const lag = await bus.lag(LIQUIDATION_GROUP, LINE_TOPICS);
    if (lag.every((l) => l.lag === 0)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const t2 = performance.now();
  const c2 = process.cpuUsage();
  const m2 = mainThreadCpuSeconds();
  stopTrace();
  await service.stop();
  // After the run, not just after ingest: settlements and the changelog grew meanwhile.
  const kept = { lines: await keptOn(bus, 'decompte-lines'), invoiceLines: await keptOn(bus, 'invoice-lines'), settlements: await keptOn(bus, 'settlements'), changelog: await keptOn(bus, 'counters-changelog') };
  await bus.close();
  return {
    lines: ingested.totals.accepted, ingestSeconds: (tIngested - t0) / 1000, liquidateSeconds: (t2 - t1) / 1000, startSeconds: (startedAt - t1) / 1000, joinSeconds: (firstAt - t1) / 1000, seconds: (tIngested - t0 + (t2 - t1)) / 1000,
    ingestCpuSeconds: cpuSeconds(c0, cIngested), liquidateCpuSeconds: cpuSeconds(c1, c2), cpuSeconds: cpuSeconds(c0, cIngested) + cpuSeconds(c1, c2),
    mainThreadCpuSeconds: { ingest: mIngested - m0, liquidation: m2 - m1 },
    settlements: kept.settlements.produced, kept, stats: service.stats, peakRssMb: mb(process.resourceUsage().maxRSS),
  };
}

/**
 * The baseline: what kafkajs and the broker cost alone. A plain producer (acks −1, not
 * idempotent, maxInFlightRequests 1, as the bus's; the same compression) sends `count` messages
 * in awaited batches of `batch` (as BusIngestSink does), keyed over `keys` keys of the drop's
 * average key size, with the values and headers of the drop's first lines as BusIngestSink wrote
 * them (`pool`, cycled: real content, so gzip compresses it as it does the pipeline's); then a
 * fresh consumer group reads them all (eachBatch, one offset commit per batch, as the service).
 * Produce then consume, as the pipeline ingests then liquidates. The windows are the pipeline's:
 * produce (= ingest) from the first send to the last ack; consume (= liquidation) from before the
 * consumer is made (connect, subscribe, group join: the pipeline's window holds its service's start)
 * to the last message read; the broker checks between the two are in neither.
 */
async function rawChild(brokers: string[], prefix: string, o: { count: number; keyBytes: number; keys: number; batch: number; pool: string; partitions: number; compression: Compression }): Promise<object> {
  // The bus's gzip codec (level and in-place calls, src/bus/kafka/gzip-codec.ts): the same compression work per byte as the pipeline.
  installGzipCodec();
  const kafka = new Kafka({ clientId: 'noemie-bench-raw', brokers, logLevel: logLevel.WARN, retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 } });
  const topic = `${prefix}raw-lines`;
  const admin = kafka.admin();
  await admin.connect();
  // A real Kafka: as many partitions as the pipeline's topics (the mock has it made already, or auto-creates 4).
  await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions }] }).catch(() => undefined);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true, idempotent: false, maxInFlightRequests: 1 });
  await producer.connect();
  const pool = readFileSync(o.pool, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { value: string; headers: Record<string, string> });
  const compression = o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  const keyOf = (i: number) => `${String(i % o.keys).padStart(o.keyBytes, '0')}`;
  let valueBytes = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuSeconds();
  for (let i = 0; i < o.count; i += o.batch) {
    const messages = [];
    for (let j = i; j < Math.min(o.count, i + o.batch); j += 1) {
      const m = pool[j % pool.length]!;
      valueBytes += m.value.length;
      messages.push({ key: keyOf(j), value: m.value, headers: m.headers });
    }
    await producer.send({ topic, acks: -1, compression, messages });
  }
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const m1 = mainThreadCpuSeconds();
  await producer.disconnect();
  const truncated = (await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.low) > 0);
  if (truncated.length > 0) throw new Error(`the broker dropped the head of ${topic} (${JSON.stringify(truncated)}): ${MOCK_LIMIT_TEXT}`);
  // The consume window, as the pipeline's liquidation window: from here the consumer's whole start
  // (creation, connect, subscribe, group join) to the last message.
  const t2 = performance.now();
  const c2 = process.cpuUsage();
  const m2 = mainThreadCpuSeconds();
  // The bus's consumer settings (src/bus/kafka/subscription.ts), so only the pipeline's own work differs.
  const sessionTimeout = isMock() ? 3_000 : 6_000;
  const consumer = kafka.consumer({
    groupId: `${prefix}raw-group`, sessionTimeout, heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 10)),
    rebalanceTimeout: Math.max(sessionTimeout, 10_000), maxWaitTimeInMs: Math.min(5_000, Math.floor(sessionTimeout / 6)), allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let firstAt = 0;
  await new Promise<void>((res, rej) => {
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch: b, resolveOffset, heartbeat }) => {
          if (firstAt === 0) firstAt = performance.now();
          for (const m of b.messages) resolveOffset(m.offset);
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
  const c3 = process.cpuUsage();
  const m3 = mainThreadCpuSeconds();
  await consumer.disconnect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const kept: Kept = { produced: ends.reduce((n, p) => n + Number(p.high), 0), evicted: ends.reduce((n, p) => n + Number(p.low), 0) };
  return {
    lines: seen, produceSeconds: (t1 - t0) / 1000, consumeSeconds: (t3 - t2) / 1000, joinSeconds: (firstAt - t2) / 1000, seconds: (t1 - t0 + (t3 - t2)) / 1000,
    produceCpuSeconds: cpuSeconds(c0, c1), consumeCpuSeconds: cpuSeconds(c2, c3), cpuSeconds: cpuSeconds(c0, c1) + cpuSeconds(c2, c3),
    mainThreadCpuSeconds: { produce: m1 - m0, consume: m3 - m2 },
    valueBytes: Math.round(valueBytes / Math.max(1, o.count)), kept, partitions: ends.length, peakRssMb: mb(process.resourceUsage().maxRSS),
  };
}

/**
 * One measurement against a broker of its own (mock: `topics` made up front with `partitions` when
 * set, and the mock's peak memory read before it stops), or under a topic prefix of its own (external).
 */
async function withBroker<T>(topics: (prefix: string) => string[], partitions: number | undefined, run: (brokers: string[], prefix: string) => Promise<T>): Promise<{ result: T; mockPeakMb: number | null }> {
  const prefix = `b${randomUUID().slice(0, 8)}.`;
  const options: TestBrokerOptions = partitions === undefined ? {} : { partitions, topics: topics(prefix) };
  const broker = await startTestBroker(options);
  try {
    const result = await run(broker.brokers(), prefix);
    const pid = broker.pid();
    const hwm = pid === undefined ? null : /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { result, mockPeakMb: hwm ? mb(Number(hwm)) : null };
  } finally {
    await broker.stop();
  }
}

/** Whether a run kept everything it wrote: null, or what the broker dropped or lacks. */
function lost(what: string, kept: Kept, expected: number): string | null {
  if (kept.evicted > 0) return `${what}: the broker dropped the first ${kept.evicted} of ${kept.produced} messages`;
  if (kept.produced !== expected) return `${what}: ${kept.produced} messages on the topic, ${expected} expected`;
  return null;
}

const MOCK_LIMIT_TEXT = 'librdkafka\'s mock broker keeps at most 5 MiB per partition: raise --partitions, add --compression gzip, or use a real Kafka (KAFKA_BROKERS)';

async function main(): Promise<void> {
  const batch = Number(values.batch ?? 500);
  const compression = compressionOf(values.compression);
  if (values.child === 'pipeline') {
    return void console.log(JSON.stringify(await pipelineChild(values.drop!, values.ref!, values.brokers!.split(','), values.prefix!, Number(values.workers ?? 2), batch, compression)));
  }
  if (values.child === 'raw') {
    const o = { count: Number(values.count), keyBytes: Number(values['key-bytes']), keys: Number(values.keys), batch, pool: values.pool!, partitions: Number(values.partitions), compression };
    return void console.log(JSON.stringify(await rawChild(values.brokers!.split(','), values.prefix!, o)));
  }
  const lines = Number(values.lines ?? 20_000);
  const workers = Number(values.workers ?? 2);
  // --partitions: the children's NOEMIE_PARTITIONS (runChild passes the environment on), and the C mock.
  const partitions = values.partitions === undefined ? busPartitions() : busPartitions({ NOEMIE_PARTITIONS: values.partitions });
  process.env.NOEMIE_PARTITIONS = String(partitions);
  // kcat's mock auto-creates 4 partitions: any other count needs its topics made up front.
  const mockPartitions = values.partitions !== undefined || partitions !== 4 ? partitions : undefined;
  const { dir, ref, drop } = await prepareDrop(lines, values.dir);
  // A private reference directory: bench:pipeline may run beside this one and copy its own member file.
  const home = mkdtempSync(join(dir, 'kafka-'));
  try {
    const myRef = join(home, 'reference');
    cpSync(ref, myRef, { recursive: true });
    cpSync(join(ref, `beneficiaries-${lines}.csv`), join(myRef, 'beneficiaries.csv'));
    const sizes = await measureDrop(drop, myRef, { batch, compression });
    const est = estimate(sizes, partitions, batch);
    console.log(
      `  sizing (${partitions} partitions, ${compression}): fullest partition of decompte-lines ≈ ${mib(est.lines.maxPartitionBytes)} MiB (${est.lines.maxPartitionLines} lines), ` +
        `of settlements ≈ ${mib(est.settlements.maxPartitionBytes)} MiB, of the mock's ${mib(MOCK_PARTITION_BYTES)} (≤ 90 % taken as fitting); stored/wire ${sizes.lineRatio(partitions).toFixed(3)} lines, ` +
        `${sizes.settlementRatio.toFixed(3)} settlements (a settlement ≈ ${sizes.settlementPerLine.toFixed(2)} × its line)`,
    );
    if (values.plan || (isMock() && !fits(est) && !values.force)) {
      const n = suggestPartitions(sizes, batch, values.plan ? 1 : partitions);
      if (values.plan) return void console.log(`  plan: the smallest --partitions that fits the mock with ${compression}: ${n ?? 'none up to 1024'}`);
      throw new Error(
        `${lines} lines would not fit the mock broker with ${partitions} partitions${compression === 'none' ? ' uncompressed' : ''} (it keeps 5 MiB per partition and drops the oldest): ` +
          (n === null ? 'not even with 1024 partitions' : `run with --partitions ${n}`) + (compression === 'none' ? ' or add --compression gzip' : '') + ', or use a real Kafka (KAFKA_BROKERS)',
      );
    }
    const pool = join(home, 'raw-pool.ndjson');
    writeFileSync(pool, sizes.sample.map((m) => JSON.stringify({ value: m.value, headers: m.headers })).join('\n'));
    const raw = await withBroker((prefix) => [`${prefix}raw-lines`], mockPartitions, (brokers, prefix) =>
      runChild(import.meta.url, ['--child', 'raw', '--brokers', brokers.join(','), '--prefix', prefix, '--batch', String(batch), '--count', String(sizes.count),
        '--key-bytes', String(sizes.keyBytes), '--keys', String(sizes.keys), '--pool', pool, '--partitions', String(partitions), '--compression', compression]),
    );
    const pipe = await withBroker((prefix) => TOPIC_NAMES.map((t) => prefix + t), mockPartitions, (brokers, prefix) =>
      runChild(import.meta.url, ['--child', 'pipeline', '--drop', drop, '--ref', myRef, '--brokers', brokers.join(','), '--prefix', prefix, '--workers', String(workers), '--batch', String(batch), '--compression', compression, ...(values['mem-trace'] ? ['--mem-trace', values['mem-trace']] : []),
        ...(['worker-heap', 'worker-young', 'partitions-at-once', 'max-batch', 'heap-growing-percent'] as const).flatMap((o) => (values[o] ? [`--${o}`, values[o]] : []))],
        [...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []), ...(values['node-flags']?.split(' ').filter(Boolean) ?? [])], values['child-stdout']),
    );
    const r = raw.result as Record<string, number> & { kept: Kept; mainThreadCpuSeconds: Record<string, number> };
    const p = pipe.result as Record<string, number> & { kept: Record<'lines' | 'invoiceLines' | 'settlements' | 'changelog', Kept>; stats: Record<string, number>; mainThreadCpuSeconds: Record<string, number> };
    const mainOf = (x: { mainThreadCpuSeconds: Record<string, number> }) => Object.values(x.mainThreadCpuSeconds).map((v) => v.toFixed(2)).join(' + ');
    const lineKept = { produced: p.kept.lines.produced + p.kept.invoiceLines.produced, evicted: p.kept.lines.evicted + p.kept.invoiceLines.evicted };
    const losses = [
      lost('raw-lines', r.kept, sizes.count),
      lost('decompte-lines + invoice-lines', lineKept, p.lines!),
      lost('settlements', p.kept.settlements, p.stats.published!),
      p.stats.lines! < p.lines! ? `the service consumed ${p.stats.lines} of ${p.lines} lines` : null,
      r.lines! < sizes.count ? `the raw consumer read ${r.lines} of ${sizes.count} messages` : null,
    ].filter((l) => l !== null);
    const rows = [
      { run: 'raw kafkajs produce + consume', lines: r.lines!, seconds: r.seconds!, peakRssMb: r.peakRssMb! },
      { run: `pipeline on Kafka: ingest → liquidation (${workers} w)`, lines: p.lines!, seconds: p.seconds!, peakRssMb: p.peakRssMb! },
    ];
    for (const row of rows) console.log(`${row.run.padEnd(52)} ${String(row.lines).padStart(9)} lines ${row.seconds.toFixed(2).padStart(8)} s ${String(Math.round(row.lines / row.seconds)).padStart(8)} lines/s  peak RSS ${row.peakRssMb} MB`);
    const ratio = (p.lines! / p.seconds!) / (r.lines! / r.seconds!);
    console.log(`  pipeline / raw lines/s: ${ratio.toFixed(3)}; peak RSS pipeline / raw: ${(p.peakRssMb! / r.peakRssMb!).toFixed(2)}`);
    console.log(`  raw: ${r.valueBytes} B values, ${r.partitions} partitions, ${compression}, produce ${r.produceSeconds!.toFixed(2)} s, consume ${r.consumeSeconds!.toFixed(2)} s (of which consumer start + group join → first batch ${r.joinSeconds!.toFixed(2)} s); CPU ${r.cpuSeconds!.toFixed(2)} s (produce ${r.produceCpuSeconds!.toFixed(2)}, consume ${r.consumeCpuSeconds!.toFixed(2)}; main thread ${mainOf(r)})`);
    console.log(`  pipeline: ingest ${p.ingestSeconds!.toFixed(2)} s, liquidation ${p.liquidateSeconds!.toFixed(2)} s (of which service start + group join ${p.startSeconds!.toFixed(2)} s, → first batch done ${p.joinSeconds!.toFixed(2)} s); ${p.settlements} settlements on the topic; CPU ${p.cpuSeconds!.toFixed(2)} s (ingest ${p.ingestCpuSeconds!.toFixed(2)}, liquidation ${p.liquidateCpuSeconds!.toFixed(2)}; main thread ${mainOf(p)}), ${p.stats.batches} service batches`);
    console.log(`  pipeline / raw CPU s: ${(p.cpuSeconds! / r.cpuSeconds!).toFixed(2)}`);
    if (losses.length > 0) throw new Error(`not a valid run, not recorded:\n  ${losses.join('\n  ')}\n${MOCK_LIMIT_TEXT}`);
    console.log(`  kept by the broker, from offset 0: raw-lines ${r.kept.produced}, lines ${lineKept.produced}, settlements ${p.kept.settlements.produced} (= lines read and settlements published)`);
    if (p.kept.changelog.evicted > 0) {
      // Not a failure of this run (the service reads the changelog only when it starts), but a restart would miss ledger pieces.
      console.log(`  warning: the mock dropped the first ${p.kept.changelog.evicted} of ${p.kept.changelog.produced} counters-changelog pieces (it does not compact): a restarted service could not rebuild its ledgers from it`);
    } else console.log(`  counters-changelog: ${p.kept.changelog.produced} pieces, all kept`);
    if (raw.mockPeakMb !== null) console.log(`  mock broker peak RSS: raw ${raw.mockPeakMb} MB, pipeline ${pipe.mockPeakMb} MB`);
    mkdirSync(join(root, 'bench', 'out'), { recursive: true });
    const { families: _f, sample: _s, lineRatio: _l, ...measured } = sizes;
    const report = {
      date: new Date().toISOString(), node: process.version,
      broker: isMock() ? `librdkafka mock (${mockPartitions === undefined ? 'kcat' : 'mock-broker.c'}), 3 brokers, loopback` : 'KAFKA_BROKERS',
      lines, workers, batch, partitions, compression, messageSizes: { ...measured, lineRatio: sizes.lineRatio(partitions) }, estimate: est,
      raw: r, pipeline: p, mockPeakMb: { raw: raw.mockPeakMb, pipeline: pipe.mockPeakMb }, ratio,
    };
    writeFileSync(join(root, 'bench', 'out', `pipeline-kafka-${lines}.json`), `${JSON.stringify(report, null, 2)}\n`);
    appendFileSync(join(dir, 'history-kafka.ndjson'), `${JSON.stringify(report)}\n`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
