import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { lineRecord } from '../../src/engine/index.js';
import type { BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { lineKeyOf } from '../../src/model/act-line.js';
import { loadFamilies } from '../../src/pipeline/ledgers.js';
import { LiquidationService, type LiquidationServiceOptions } from '../../src/pipeline/liquidation-service.js';
import { loadReference } from '../../src/pipeline/reference.js';
import { replay } from '../../src/pipeline/replay.js';
import {
  HAND_FAMILY, HAND_LINE_KEY, byPartition, dedupe, ingestWorld, makeWorld, worldMembers, readTopic, setRulePct, spawnService, until, waitIdle, type World,
} from './liquidation-support.js';

/**
 * The liquidation pipeline end to end, run unchanged on the embedded bus and on a Kafka-protocol
 * broker. A namespace is one isolated bus (a directory, or a topic prefix).
 */
export interface PipelineBusWorld {
  kind: 'embedded' | 'kafka';
  fresh(): Promise<string>;
  open(ns: string): Promise<Bus>;
  /** arguments giving service-main.js the same bus */
  serviceArgs(ns: string): string[];
  /** Kafka mock only: make the broker unreachable for a while (see the test for why not a restart) */
  outage?: (ms: number) => Promise<void>;
}

export function defineLiquidationSuite(w: PipelineBusWorld): void {
  describe(`${w.kind}: liquidation service and replay`, () => {
    let world: World;
    let beneficiaries: BeneficiaryIndex;
    let members: { close: () => Promise<void> } | undefined;
    const buses: Bus[] = [];
    const open = async (ns: string) => {
      const bus = await w.open(ns);
      buses.push(bus);
      return bus;
    };
    const close = async (bus: Bus) => {
      buses.splice(buses.indexOf(bus), 1);
      await bus.close();
    };

    beforeAll(async () => {
      world = await makeWorld();
      // the members as the service child reads them (--beneficiaries: imported into a membership store)
      const store = await worldMembers(world);
      members = store;
      beneficiaries = store.index;
    }, 60_000);
    afterAll(async () => {
      await members?.close();
      await Promise.all(buses.map((b) => b.close()));
      await rm(world.dir, { recursive: true, force: true });
    });

    /** The service run to idle on a bus with the given settings. */
    async function run(bus: Bus, settings: Partial<LiquidationServiceOptions>) {
      const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference, ...settings });
      await waitIdle(bus);
      await service.stop();
      return { settlements: await readTopic(bus, 'settlements'), stats: service.stats };
    }

    it('drop → one settlement per accepted line, on its family partition; the hand-computed line pays 9.00', async () => {
      const ns = await w.fresh();
      const bus = await open(ns);
      const ingested = await ingestWorld(bus, world);
      expect(ingested.totals.rejected).toBe(world.dropBad);
      const lines = [...(await readTopic(bus, 'decompte-lines')), ...(await readTopic(bus, 'invoice-lines'))];
      expect(lines).toHaveLength(ingested.totals.accepted + 1);
      expect(await readTopic(bus, 'rejects')).toHaveLength(world.dropBad);
      for (const r of lines) expect(r.partition).toBe(partitionFor(r.value.line.amcMemberId));

      const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference, workers: 2, taskLines: 16 });
      await waitIdle(bus);
      await service.stop();
      const settlements = await readTopic(bus, 'settlements');
      // One settlement per input line (no line lost, none twice): same multiset of lineKeys.
      expect(settlements.map((s) => s.value.lineKey).sort()).toEqual(lines.map((l) => lineKeyOf(l.value.line)).sort());
      const partitionOfLine = new Map(lines.map((l) => [lineKeyOf(l.value.line), l.partition]));
      for (const s of settlements) expect(s.partition).toBe(partitionOfLine.get(s.value.lineKey));

      const hand = settlements.find((s) => s.value.lineKey === HAND_LINE_KEY)!;
      expect(hand.key).toBe(HAND_FAMILY);
      expect(hand.value).toMatchObject({ status: 'paid', amcAmount: '9.00', version: 1, parts: [{ contract: 'CCN-HLA-BASE', amount: '9.00' }] });
      // The family's ledger was written to the changelog and remembers the line.
      const families = await loadFamilies(bus);
      expect(lineRecord(families.get(HAND_FAMILY)!.state, HAND_LINE_KEY)).toMatchObject({ version: 1, amcAmount: '9.00' });
      await close(bus);
    });

    it('gives the same settlements, partition by partition, for 1 or 2 workers, in-thread, any batch size, one partition at a time or several', async () => {
      const settings: Partial<LiquidationServiceOptions>[] = [
        // One batch at a time; the others handle up to DEFAULT_PARTITIONS_AT_ONCE batches at once on Kafka.
        { workers: 1, taskLines: 256, maxBatch: 500, partitionsAtOnce: 1 },
        { workers: 2, taskLines: 5, maxBatch: 17 },
        { workers: 0, taskLines: 1000, maxBatch: 40 },
      ];
      const runs = [];
      for (const s of settings) {
        const ns = await w.fresh();
        const bus = await open(ns);
        await ingestWorld(bus, world);
        const { settlements } = await run(bus, s).finally(() => close(bus));
        runs.push(byPartition(settlements));
      }
      const count = Object.values(runs[0]!).reduce((n, l) => n + l.length, 0);
      expect(count).toBe(world.dropLines - world.dropBad + 1);
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
    });

    it('replays a range after a grid change: dry run shows the diff, the real one publishes new versions, a second publishes nothing', async () => {
      const ns = await w.fresh();
      const bus = await open(ns);
      await ingestWorld(bus, world);
      const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference, workers: 1 });
      await waitIdle(bus);
      await service.stop();
      const before = await readTopic(bus, 'settlements');

      await setRulePct(world, 'CCN-HLA-BASE', 'soins.generalistes', '150');
      try {
        const reference = await loadReference(world.reference);
        const partition = partitionFor(HAND_FAMILY);
        const args = { bus, topic: 'decompte-lines', partition, from: 0, beneficiaries, reference };
        const ends = JSON.stringify([await bus.endOffsets('settlements'), await bus.endOffsets('counters-changelog')]);

        const dry = await replay({ ...args, dryRun: true });
        expect(dry.published).toEqual({ settlements: 0, snapshots: 0 });
        expect(JSON.stringify([await bus.endOffsets('settlements'), await bus.endOffsets('counters-changelog')])).toBe(ends);
        // The hand line: 9.00 → 24.00 (worked in liquidation-support.ts), version 1 → 2.
        const handDiff = dry.changed.find((d) => d.lineKey === HAND_LINE_KEY);
        expect(handDiff).toEqual({ lineKey: HAND_LINE_KEY, offset: expect.any(Number), version: { from: 1, to: 2 }, amc: { from: '9.00', to: '24.00' }, status: { from: 'paid', to: 'paid' } });
        // Raising a % BR can only raise what is paid, and only for lines that used it.
        const usedRule = new Set(before.filter((s) => s.value.parts.some((p) => p.contract === 'CCN-HLA-BASE' && p.rule === 'soins.generalistes')).map((s) => s.value.lineKey));
        for (const d of dry.changed) {
          expect(usedRule.has(d.lineKey)).toBe(true);
          expect(Number(d.amc.to) > Number(d.amc.from)).toBe(true);
        }
        expect(dry.totals.lines).toBe(dry.changed.length);

        const real = await replay({ ...args, dryRun: false });
        expect(real.changed).toEqual(dry.changed);
        expect(real.published.settlements).toBe(dry.changed.length);
        const after = await readTopic(bus, 'settlements');
        expect(after.length - before.length).toBe(dry.changed.length);
        const v2 = after.find((s) => s.value.lineKey === HAND_LINE_KEY && s.value.version === 2)!;
        expect(v2.value.amcAmount).toBe('24.00');
        expect(v2.partition).toBe(partition);

        const again = await replay({ ...args, dryRun: false });
        expect(again.changed).toEqual([]);
        expect(again.published).toEqual({ settlements: 0, snapshots: 0 });
        expect((await readTopic(bus, 'settlements')).length).toBe(after.length);
      } finally {
        await setRulePct(world, 'CCN-HLA-BASE', 'soins.generalistes', '100');
        await close(bus);
      }
    });

    it.runIf(w.outage !== undefined)('broker unreachable mid-run: the service waits, resumes, and ends with the settlements of an uninterrupted run', async () => {
      const refNs = await w.fresh();
      const refBus = await open(refNs);
      await ingestWorld(refBus, world);
      const { settlements: expected } = await run(refBus, { workers: 1, taskLines: 8, maxBatch: 24 }).finally(() => close(refBus));

      const ns = await w.fresh();
      const bus = await open(ns);
      await ingestWorld(bus, world);
      let outage: Promise<void> | undefined;
      const service = await LiquidationService.start({
        bus, beneficiaries, reference: world.reference, workers: 1, taskLines: 8, maxBatch: 24,
        onBatch: (s) => {
          if (s.batches === 2) outage = w.outage!(4_000);
        },
      });
      await until(() => outage !== undefined, 60_000, 'two batches');
      await outage;
      await waitIdle(bus, 90_000);
      await service.stop();
      const got = await readTopic(bus, 'settlements');
      const want = dedupe(expected);
      const have = dedupe(got);
      expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, s] of want) expect(have.get(k)).toEqual(s);
      await close(bus);
    }, 150_000);

    it('kill -9 of the service mid-drop, then restarts: the same settlements as an uninterrupted run, none lost, none different', async () => {
      // Uninterrupted reference run, in-process.
      const refNs = await w.fresh();
      const refBus = await open(refNs);
      await ingestWorld(refBus, world);
      const { settlements: expected } = await run(refBus, { workers: 1, taskLines: 8, maxBatch: 24 }).finally(() => close(refBus));

      const ns = await w.fresh();
      const bus = await open(ns);
      await ingestWorld(bus, world);
      await close(bus); // the embedded bus has one writer: the child

      // Pauses between publish steps so the kills land between settlements, ledgers and commits.
      const args = [...w.serviceArgs(ns), '--reference', world.reference.gridsDir.replace(/\/grids$/, ''), '--beneficiaries', world.reference.beneficiariesFile, '--workers', '1', '--task-lines', '8', '--step-delay-ms', '40'];
      for (const after of [2, 5]) {
        const svc = spawnService([...args]);
        await until(() => svc.batches() >= after || svc.child.exitCode !== null, 60_000, `${after} batches`);
        expect(svc.child.exitCode, svc.output()).toBeNull();
        await new Promise((r) => setTimeout(r, 25 * after));
        svc.child.kill('SIGKILL');
        await svc.exited;
      }
      const last = spawnService([...args, '--exit-when-idle']);
      const code = await last.exited;
      expect(code, last.output()).toBe(0);
      // The kills landed mid-drop: the last run still had lines to liquidate.
      const idle = JSON.parse(last.output().split('\n').find((l) => l.includes('"idle"'))!) as { lines: number };
      expect(idle.lines).toBeGreaterThan(0);

      const reopened = await open(ns);
      const got = await readTopic(reopened, 'settlements');
      const want = dedupe(expected);
      const have = dedupe(got);
      expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, s] of want) expect(have.get(k)).toEqual(s);
      await close(reopened);
    }, 120_000);
  });
}
