import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TRUSTED } from '../src/bus/bus.js';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import type { TopicName } from '../src/bus/index.js';
import { partitionFor } from '../src/bus/topics.js';
import { readDrop } from '../src/ingest/index.js';
import type { LineEvent } from '../src/ingest/sink.js';
import { BusIngestSink } from '../src/pipeline/bus-sink.js';
import { prepareDrop, tpSettlement } from './support.js';

/**
 * What the embedded bus costs the thread of `noemie run --once` per record, on its two busiest
 * paths, each end to end in this one thread (no workers: the process's CPU is that thread's, plus
 * the few fs calls libuv's threads make):
 *   lines        a generated CSV drop's line events (read into memory first, not counted) through
 *                the ingest sink (spool written and read back, produce calls of 4 096) to
 *                `decompte-lines`, and a group consuming them as they are appended (the
 *                liquidation's place: the in-memory tail, each value parsed);
 *   settlements  N settlements given as their JSON text (what the liquidation's workers hand back),
 *                produced `trusted` in calls of 4 096 on one partition each, a group consuming them
 *                (the reconciliation's place);
 *   partitionFor a key's partition, for keys seen once and for keys seen again.
 * fsync off (this measures CPU, not the disk). CPU µs per record, the mean and the best of
 * `--rounds` (a round that holds a major GC costs the paths ≈ 5 µs more per record: the best alone
 * says which rounds were lucky); run it with two builds one after the other to compare them
 * (bench/README.md "Session 13 — bus").
 *
 *   npm run bench:bus-path -- [--lines 50000] [--settlements 50000] [--rounds 3] [--dir <dir>]
 */
const { values } = parseArgs({ options: { lines: { type: 'string' }, settlements: { type: 'string' }, rounds: { type: 'string' }, dir: { type: 'string' } } });
const LINES = Number(values.lines ?? 50_000);
const SETTLEMENTS = Number(values.settlements ?? 50_000);
const ROUNDS = Number(values.rounds ?? 3);
const CALL = 4_096;

const cpuMicros = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

/** Consumes `topic` with a group until `n` records were handed over; resolves with the subscription stopped. */
async function consumer(bus: Awaited<ReturnType<typeof openEmbeddedBus>>, topic: TopicName, n: number): Promise<{ done: Promise<number> }> {
  let got = 0;
  let checksum = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const sub = await bus.consume({
    groupId: `bench-${topic}`,
    topics: [topic],
    maxBatch: CALL,
    handler: async (batch) => {
      // touch each value, as a consumer does
      for (const r of batch.records) checksum += (r.value as object) ? 1 : 0;
      got += batch.records.length;
      if (got >= n) finish();
    },
  });
  return {
    done: finished.then(async () => {
      await sub.stop();
      return checksum;
    }),
  };
}

async function linesRound(events: LineEvent[], dir: string): Promise<number> {
  const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: false });
  try {
    const c0 = process.cpuUsage();
    const c = await consumer(bus, 'decompte-lines', events.length);
    const sink = new BusIngestSink(bus, { spoolDir: join(dir, 'spool'), batch: CALL });
    await sink.beginPart({ file: 'drop.csv', format: 'csv' });
    for (const ev of events) await sink.line(ev);
    await sink.commitPart({ file: 'drop.csv', format: 'csv', records: events.length, accepted: events.length, rejected: 0, decomptes: 0, expense: '0.00', roAmount: '0.00' });
    await sink.close();
    await c.done;
    return cpuMicros(c0) / events.length;
  } finally {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function settlementsRound(texts: { json: string; key: string; lineKey: string }[], dir: string): Promise<number> {
  const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: false });
  try {
    const c0 = process.cpuUsage();
    const c = await consumer(bus, 'settlements', texts.length);
    for (let i = 0; i < texts.length; i += CALL) {
      const call = texts.slice(i, i + CALL);
      await bus.produce('settlements', call.map((t) => ({ json: t.json, key: t.key, headers: { lineKey: t.lineKey }, partition: partitionFor(call[0]!.key) })), TRUSTED);
    }
    await c.done;
    return cpuMicros(c0) / texts.length;
  } finally {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function partitionRound(keys: string[]): number {
  // fresh string objects (as producers make them: no hash cached in the string)
  const fresh = keys.map((k) => ` ${k}`.slice(1));
  const c0 = process.cpuUsage();
  let sum = 0;
  for (const k of fresh) sum += partitionFor(k, 16);
  const us = cpuMicros(c0) / fresh.length;
  return sum >= 0 ? us : -1;
}

async function main(): Promise<void> {
  const { drop } = await prepareDrop(LINES, values.dir);
  const events: LineEvent[] = [];
  for await (const part of readDrop(drop)) for await (const ev of part.events) if (ev.kind === 'line' && events.length < LINES) events.push(ev);
  const texts = Array.from({ length: SETTLEMENTS }, (_, i) => {
    const adherentId = `A${String(i % 20_000).padStart(7, '0')}`;
    const s = tpSettlement({ lineKey: `noemie-bench:D${i}:1`, beneficiary: { nir: `1${String(i % 50_000).padStart(12, '0')}`, rang: 1 }, adherentId });
    return { json: JSON.stringify(s), key: adherentId, lineKey: s.lineKey };
  });
  const distinct = Array.from({ length: 100_000 }, (_, i) => `1${String(850_000_000_000 + i * 7919).padStart(12, '0')}-${(i % 3) + 1}`);
  const repeated = Array.from({ length: 100_000 }, (_, i) => distinct[i % 20_000]!);
  const rounds = new Map<string, number[]>();
  const keep = (name: string, us: number) => rounds.set(name, [...(rounds.get(name) ?? []), us]);
  for (let round = 0; round < ROUNDS; round++) {
    keep('lines: sink → bus → group', await linesRound(events, mkdtempSync(join(tmpdir(), 'noemie-bench-bus-path-'))));
    keep('settlements: text → bus → group', await settlementsRound(texts, mkdtempSync(join(tmpdir(), 'noemie-bench-bus-path-'))));
    keep('partitionFor, 100 000 distinct keys', partitionRound(distinct));
    keep('partitionFor, 20 000 keys × 5', partitionRound(repeated));
  }
  console.log(`${events.length} lines, ${texts.length} settlements, ${ROUNDS} rounds; CPU µs per record (this process, fsync off), mean and best:`);
  for (const [name, us] of rounds) console.log(`  ${name.padEnd(40)} ${(us.reduce((a, b) => a + b, 0) / us.length).toFixed(2).padStart(7)} ${Math.min(...us).toFixed(2).padStart(7)}`);
}

await main();
