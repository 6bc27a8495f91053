import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import type { BusRecord, TopicName } from '../src/bus/index.js';
import type { Settlement } from '../src/model/settlement.js';
import { root, tpSettlement } from './support.js';

/**
 * The embedded bus alone (fsync on): how many fsyncs a produce call and a consumed batch cost, and
 * what the schema checks cost, in one run; wall seconds and this process's CPU seconds (user +
 * system: the machine is shared, wall moves with the load, CPU much less).
 *   produce   N settlements in calls of `--batch` messages, checked by zod (a caller outside the
 *             stages): fdatasync / fsync calls counted (every FileHandle of the process), per call
 *             and per message;
 *   trusted   the same N produced `trusted` (what the stages do: no zod pass; src/bus/codec.ts) to
 *             a second bus;
 *   consume   the same N consumed by a group with a no-op handler, twice: in the process that
 *             produced them (records it appended: no second zod pass) and after the bus is closed
 *             and opened again (records found on disk at open: checked with zod, as before).
 *
 *   npm run bench:bus -- [--messages 200000] [--batch 500] [--dir <dir>]
 */
/** CPU seconds of this process (all threads) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

const { values } = parseArgs({ options: { messages: { type: 'string' }, batch: { type: 'string' }, dir: { type: 'string' } } });
const N = Number(values.messages ?? 200_000);
const BATCH = Number(values.batch ?? 500);

function settlementOf(i: number): Settlement {
  return tpSettlement({ lineKey: `noemie-bench:D${i}:1`, beneficiary: { nir: `1${String(i % 50_000).padStart(12, '0')}`, rang: 1 }, adherentId: `A${i % 20_000}` });
}

/** Counts fdatasync and fsync calls of every FileHandle of this process. */
async function countSyncs(dir: string): Promise<{ datasync: number; sync: number }> {
  const counts = { datasync: 0, sync: 0 };
  const fh = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(fh) as { datasync: () => Promise<void>; sync: () => Promise<void> };
  await fh.close();
  const { datasync, sync } = proto;
  proto.datasync = function (this: unknown) {
    counts.datasync += 1;
    return datasync.call(this);
  };
  proto.sync = function (this: unknown) {
    counts.sync += 1;
    return sync.call(this);
  };
  return counts;
}

async function consumeAll(dir: string, groupId: string): Promise<{ seconds: number; cpu: number; batches: number }> {
  const bus = await openEmbeddedBus({ dir });
  let got = 0;
  let batches = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = await bus.consume({
    groupId,
    topics: ['settlements'] as TopicName[],
    handler: async (b) => {
      got += (b.records as BusRecord<'settlements'>[]).length;
      batches += 1;
      if (got >= N) done();
    },
  });
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince(c0);
  await sub.stop();
  await bus.close();
  return { seconds, cpu, batches };
}

async function main(): Promise<void> {
  const base = values.dir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'noemie-bench-bus-'));
  try {
    const counts = await countSyncs(dir);
    const busDir = join(dir, 'bus');
    const bus = await openEmbeddedBus({ dir: busDir });
    const values = Array.from({ length: N }, (_, i) => ({ value: settlementOf(i) }));
    const s0 = { ...counts };
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    let calls = 0;
    for (let i = 0; i < N; i += BATCH) {
      await bus.produce('settlements', values.slice(i, i + BATCH));
      calls += 1;
    }
    const produceSeconds = (performance.now() - t0) / 1000;
    const produceCpu = cpuSince(c0);
    const produceSyncs = { datasync: counts.datasync - s0.datasync, sync: counts.sync - s0.sync };

    // the same values produced trusted (the stages' path), to a second bus
    const trustedBus = await openEmbeddedBus({ dir: join(dir, 'bus-trusted') });
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let i = 0; i < N; i += BATCH) await trustedBus.produce('settlements', values.slice(i, i + BATCH), { trusted: true });
    const trustedSeconds = (performance.now() - t0) / 1000;
    const trustedCpu = cpuSince(c0);
    await trustedBus.close();

    // consumed in the producing process: its own records
    let got = 0;
    let batches = 0;
    const s1 = { ...counts };
    t0 = performance.now();
    c0 = process.cpuUsage();
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const sub = await bus.consume({
      groupId: 'own',
      topics: ['settlements'],
      handler: async (b) => {
        got += b.records.length;
        batches += 1;
        if (got >= N) done();
      },
    });
    await all;
    const ownSeconds = (performance.now() - t0) / 1000;
    const ownCpu = cpuSince(c0);
    const consumeSyncs = { datasync: counts.datasync - s1.datasync, sync: counts.sync - s1.sync };
    await sub.stop();
    await bus.close();

    // the same records after a reopen: found on disk, checked with zod
    const reopened = await consumeAll(busDir, 'reopened');
    const row = {
      messages: N,
      batch: BATCH,
      produce: { seconds: produceSeconds, cpu: produceCpu, calls, ...produceSyncs, syncsPerCall: (produceSyncs.datasync + produceSyncs.sync) / calls, syncsPerMessage: (produceSyncs.datasync + produceSyncs.sync) / N },
      produceTrusted: { seconds: trustedSeconds, cpu: trustedCpu },
      consumeOwn: { seconds: ownSeconds, cpu: ownCpu, perSecond: Math.round(N / ownSeconds), batches, ...consumeSyncs, syncsPerBatch: (consumeSyncs.datasync + consumeSyncs.sync) / batches },
      consumeChecked: { seconds: reopened.seconds, cpu: reopened.cpu, perSecond: Math.round(N / reopened.seconds), batches: reopened.batches },
    };
    console.log(
      `produce ${N} settlements in ${calls} calls of ${BATCH} (zod): ${produceSeconds.toFixed(2)} s, ${produceCpu.toFixed(2)} CPU s, ${produceSyncs.datasync} fdatasync + ${produceSyncs.sync} fsync (${row.produce.syncsPerCall.toFixed(2)} per call, ${row.produce.syncsPerMessage.toFixed(4)} per message)\n` +
        `produce the same, trusted (no zod):   ${trustedSeconds.toFixed(2)} s, ${trustedCpu.toFixed(2)} CPU s\n` +
        `consume, records of this process (no second zod pass): ${ownSeconds.toFixed(2)} s, ${ownCpu.toFixed(2)} CPU s, ${row.consumeOwn.perSecond} msg/s, ${batches} batches, ${consumeSyncs.datasync} fdatasync + ${consumeSyncs.sync} fsync (${row.consumeOwn.syncsPerBatch.toFixed(2)} per batch: the offset commit)\n` +
        `consume, records found on disk at open (zod):          ${reopened.seconds.toFixed(2)} s, ${reopened.cpu.toFixed(2)} CPU s, ${row.consumeChecked.perSecond} msg/s — ${(reopened.seconds / ownSeconds).toFixed(2)}× the time`,
    );
    mkdirSync(join(root, 'bench', 'out'), { recursive: true });
    writeFileSync(join(root, 'bench', 'out', 'bus.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), ...row }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
