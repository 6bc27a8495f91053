import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepare } from '../src/bus/codec.js';
import { PartitionLog, type StoredRecord } from '../src/bus/embedded/partition-log.js';
import { TailBudget } from '../src/bus/embedded/tail.js';
import type { Settlement } from '../src/model/settlement.js';
import { tpSettlement } from './support.js';

/**
 * What a consumer of the producing process pays per record (src/bus/embedded/tail.ts), one
 * partition log, N settlements appended in calls of 500, read back in batches of 500:
 *   file        the log read from disk, each stored line JSON.parsed whole (what every read did before)
 *   tail        from the in-memory tail: each record's value JSON.parsed, the consumer's own objects
 *   tail+freeze the other way to keep consumers apart: one parse per record, deep-frozen, shared
 *               — with one group reading (run --once: each topic has one follower at a time) and
 *               with two (`noemie run`: the reconciliation and the statement index both follow settlements)
 * CPU µs per record of this process, rounds interleaved (the machine is shared), the best round kept.
 *
 *   npm run bench:bus-tail -- [--records 40000] [--rounds 5]
 */
const { values } = parseArgs({ options: { records: { type: 'string' }, rounds: { type: 'string' } } });
const N = Number(values.records ?? 40_000);
const ROUNDS = Number(values.rounds ?? 5);
const BATCH = 500;

const cpuMicros = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

function settlementOf(i: number): Settlement {
  return tpSettlement({ lineKey: `noemie-bench:D${i}:1`, beneficiary: { nir: `1${String(i % 50_000).padStart(12, '0')}`, rang: 1 }, adherentId: `A${i % 20_000}` });
}

function deepFreeze(o: unknown): unknown {
  if (o !== null && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v);
  }
  return o;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'noemie-bench-bus-tail-'));
  try {
    const log = await PartitionLog.open(join(dir, '0'), false, new TailBudget(1024 ** 3));
    const follower = {};
    log.tail!.follow(follower, 0);
    const entries = prepare('settlements', Array.from({ length: N }, (_, i) => ({ value: settlementOf(i) })), { trusted: true });
    for (let i = 0; i < N; i += BATCH) await log.append(entries.slice(i, i + BATCH), false);

    /** every record through `log.read`, in batches; `each` sees every record read */
    const readAll = async (each?: (r: StoredRecord) => void) => {
      let n = 0;
      for (let from = 0; from < N; ) {
        const got = await log.read(from, BATCH);
        if (each) for (const r of got) each(r);
        from += got.length;
        n += got.length;
      }
      return n;
    };
    const variants: Record<string, () => Promise<number>> = {
      tail: () => readAll(),
      'tail+freeze, 1 group': () => readAll((r) => deepFreeze(r.v)),
      'tail, 2 groups': async () => (await readAll()) + (await readAll()),
      'tail+freeze, 2 groups': async () => {
        // the first group's read parses and freezes; the second is handed records around the same values
        const shared: StoredRecord[] = [];
        const n = await readAll((r) => shared.push({ ...r, v: deepFreeze(r.v) }));
        let again = 0;
        for (let from = 0; from < N; from += BATCH) again += shared.slice(from, from + BATCH).map((r) => ({ ...r })).length;
        return n + again;
      },
    };
    const best = new Map<string, number>();
    const measure = async (name: string, run: () => Promise<number>) => {
      const c0 = process.cpuUsage();
      const n = await run();
      // per record handed to a group (two groups: 2 N records handed)
      const us = cpuMicros(c0) / n;
      best.set(name, Math.min(best.get(name) ?? Infinity, us));
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of Object.entries(variants)) await measure(name, run);
      // the same reads from the file: the tail let go (what a consumer behind the tail, or every read before, pays)
      log.tail!.unfollow(follower);
      await measure('file', () => readAll());
      log.tail!.follow(follower, 0);
      for (let i = 0; i < N; i += BATCH) log.tail!.appended(i, Date.now(), entries.slice(i, i + BATCH));
    }
    await log.close();
    const bytes = entries.reduce((s, e) => s + e.value.length, 0) / N;
    console.log(`${N} settlements (${bytes.toFixed(0)} bytes of JSON each), batches of ${BATCH}, best of ${ROUNDS} rounds; CPU µs per record handed to a group:`);
    for (const [name, us] of best) console.log(`  ${name.padEnd(24)} ${us.toFixed(2).padStart(6)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
