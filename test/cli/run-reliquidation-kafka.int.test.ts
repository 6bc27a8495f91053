import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { Bus } from '../../src/bus/bus.js';
import type { TopicName } from '../../src/bus/topics.js';
import type { Settlement } from '../../src/model/settlement.js';
import { readAll } from '../pipeline/stages-given.js';
import { ROOT } from '../pipeline/liquidation-support.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import {
  RESILIATION, dropBackdatedFeed, expectArrivedPaid, expectFeedApplied, expectFirstRunLines, expectOnlyTheirLinesChanged,
  expectSecondPaymentRun, expectThirdRunIdle, firstRunLines,
} from './run-backdated-feed.js';
import { expectNothingNew, latest, ordersOf, type Order } from './run-support.js';

// Every consumer-group join against the mock broker waits ~3 s (its session timeout); a run joins several.
vi.setConfig({ testTimeout: 600_000, hookTimeout: 120_000 });

/**
 * Issue 10's "Done when" on the test broker: the same end-to-end checks as
 * run-reliquidation.int.test.ts (embedded bus), through `noemie run --once --kafka <broker>` in a
 * child process against a real Kafka-protocol broker over TCP (librdkafka's mock, or KAFKA_BROKERS):
 * a back-dated résiliation recovers exactly what was paid after the end date, the arrival of the
 * person a line left in review gets that line paid, a third run changes nothing, and a kill -9 in the
 * middle of the re-liquidation requests, then a rerun, loses and duplicates nothing.
 */
const broker = useTestBroker();

interface World {
  home: string;
  prefix: string;
}
const dirs: string[] = [];
const buses: Bus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function world(): Promise<World> {
  const home = await mkdtemp(join(tmpdir(), 'run-reliq-kafka-'));
  dirs.push(home);
  return { home, prefix: `rk${randomUUID().slice(0, 8)}.` };
}

/** `noemie run --once --kafka <broker>` as a user types it, in its own process. */
function runOnce(w: World, args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'noemie.js'), 'run', '--once', '--kafka', broker.brokers().join(','), '--home', w.home, '--stable-ms', '0', '--workers', '1', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      KAFKA_TOPIC_PREFIX: w.prefix,
      KAFKA_SESSION_TIMEOUT_MS: String(broker.kind === 'mock' ? 3_000 : 6_000),
      NOEMIE_LOG_LEVEL: 'warn',
      ...env,
    },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, out: () => out, err: () => err };
}

async function completedRun(w: World, args: string[] = []): Promise<{ out: string; err: string }> {
  const r = runOnce(w, args);
  const code = await r.exited;
  expect(code, `${r.out()}\n${r.err()}`).toBe(0);
  return { out: r.out(), err: r.err() };
}

async function busOf(w: World): Promise<Bus> {
  const bus = await openKafkaBus(testBusOptions(broker, w.prefix, 'noemie-run-reliq-test'));
  buses.push(bus);
  return bus;
}

async function settlementsOf(w: World): Promise<Settlement[]> {
  return readAll(await busOf(w), 'settlements');
}

async function highs(bus: Bus, topic: TopicName): Promise<number> {
  return (await bus.endOffsets(topic)).reduce((t, p) => t + p.high, 0);
}

/** One content per (lineKey, version): two different copies of one version fail the test. */
function dedupe(settlements: readonly Settlement[]): Map<string, Settlement> {
  const out = new Map<string, Settlement>();
  for (const s of settlements) {
    const k = `${s.lineKey}#${s.version}`;
    const seen = out.get(k);
    if (seen) expect(s, `two different settlements for ${k}`).toEqual(seen);
    out.set(k, s);
  }
  return out;
}

const orderFigures = (orders: readonly Order[]) => orders.map((o) => [o.payee, o.kind, o.amount, o.debtAfter, o.iban, o.lines.map((l) => [l.lineKey, l.version, l.amount]).sort()]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));

// What the uninterrupted scenario ended with, for the restart scenario to compare against.
let uninterrupted: { settlements: Map<string, Settlement>; orders: Order[] } | undefined;

describe('noemie run --once --kafka: a back-dated members feed after a paid sample run', () => {
  it('recovers what was paid after the résiliation, pays the line left in review once its member arrives, then a third run changes nothing', async () => {
    const w = await world();
    // Given the sample run once on the broker, paid
    const first = await completedRun(w, ['--sample']);
    expect(first.out).toMatch(/payment run \S+: \d+ orders/);
    const v1 = [...latest(await settlementsOf(w)).values()];
    const before = latest(v1);

    const lines = firstRunLines(v1);
    const { resiliated, inReview, rejectedBeforeStart } = lines;
    // The résiliated lines, computed by hand from the seed tables (ADH0000003 is on CCN-HLA-OPT2):
    //  - 2025-07-31 biology "B", BR 9.45: fixtures/nomenclature.csv B → soins.laboratoire, RO 60 %:
    //    RO = 60 % × 9.45 = 5.67 (paid 3.67 after the 2.00 participation forfaitaire);
    //    OPT2 soins.laboratoire = 100 % BR → G = 9.45; AMC = G − RO = 9.45 − 5.67 = 3.78
    //    (the 2.00 PF is never covered by a contrat responsable: it stays the member's).
    //  - 2025-11-07 osteodensitometry "OST", BR 39.96: OST → divers.osteodensitometrie, RO 70 %:
    //    RO = 70 % × 39.96 = 27.972 → 27.97 (paid 25.97 after the PF);
    //    OPT2 divers.osteodensitometrie = 100 % BR → G = 39.96; AMC = 39.96 − 27.97 = 11.99.
    //  Both paid to the member (tp 05 and 00): the résiliation back-dated to 2025-06-02 must recover
    //  3.78 + 11.99 = 15.77.
    expect(resiliated.map((s) => [s.careDate, s.actCode, s.expense, s.status, s.payee, s.amcAmount])).toEqual([
      ['2025-07-31', 'B', '9.45', 'paid', 'member', new Decimal('9.45').minus(new Decimal('9.45').times('0.60').toDecimalPlaces(2)).toFixed(2)],
      ['2025-11-07', 'OST', '39.96', 'paid', 'member', new Decimal('39.96').minus(new Decimal('39.96').times('0.70').toDecimalPlaces(2)).toFixed(2)],
    ]);
    const toRecover = new Decimal('3.78').plus('11.99');
    expect(resiliated.reduce((t, s) => t.plus(s.amcAmount), new Decimal(0)).toFixed(2)).toBe(toRecover.toFixed(2));
    expectFirstRunLines(lines);

    // When a members feed brings the back-dated events and the job runs again
    await dropBackdatedFeed(w.home);
    const second = await completedRun(w);
    // 2 résiliated + 1 arrival + 5 covered again = 8 new versions
    expectFeedApplied(second.out);

    const all = await settlementsOf(w);
    dedupe(all);
    const after = latest(all);
    expectOnlyTheirLinesChanged(before, after, lines);
    // Then the résiliated lines are rejected, version 2, carrying the event
    for (const s of resiliated) {
      expect(after.get(s.lineKey)).toMatchObject({ version: 2, status: 'rejected', amcAmount: '0.00', reliquidation: { eventId: 'ev-resil-3', type: 'affiliation_end', effectiveDate: RESILIATION } });
    }
    // the line left in review is paid once its member exists
    const arrived = expectArrivedPaid(after, inReview);
    for (const s of rejectedBeforeStart) expect(after.get(s.lineKey)).toMatchObject({ version: 2, status: 'paid', reliquidation: { eventId: 'ev-start-6' } });

    // and the payment run recovers exactly 15.77 from ADH0000003, line by line, and pays the
    // arrival's line to the account its event gave
    const orders = await ordersOf(second.out);
    await expectSecondPaymentRun(w.home, orders, resiliated, arrived, toRecover);

    // A third run changes nothing: no event, no settlement, no order
    const third = await completedRun(w);
    expectThirdRunIdle(third.out);
    expect((await settlementsOf(w)).length).toBe(all.length);
    uninterrupted = { settlements: dedupe(all), orders };
  });

  it('kill -9 in the middle of the re-liquidation requests (ledger written, settlements not; then settlements written, offsets not), rerun: nothing lost, nothing duplicated', async () => {
    expect(uninterrupted, 'the uninterrupted scenario ran first').toBeDefined();
    const w = await world();
    await completedRun(w, ['--sample']);
    await dropBackdatedFeed(w.home);
    const bus = await busOf(w);
    const changelogBefore = await highs(bus, 'counters-changelog');
    const settlementsBefore = await highs(bus, 'settlements');

    // Killed once a request's ledger pieces are on the changelog and before its settlements…
    await killedOnceGrown(w, bus, 'counters-changelog', changelogBefore);
    expect(await highs(bus, 'settlements')).toBe(settlementsBefore);
    expect(await highs(bus, 'reliquidations')).toBeGreaterThan(0);

    // …then once a batch's settlements are out and before the offsets are committed
    const settlementsMid = await highs(bus, 'settlements');
    await killedOnceGrown(w, bus, 'settlements', settlementsMid);

    // The rerun to the end
    const last = await completedRun(w);
    const got = dedupe(await settlementsOf(w));
    const want = uninterrupted!.settlements;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, s] of want) expect(got.get(k), k).toEqual(s);
    // the payment run after the kills makes the same orders as the uninterrupted second run: 15.77 recovered once
    expect(orderFigures(await ordersOf(last.out))).toEqual(orderFigures(uninterrupted!.orders));
    // and one more run changes nothing
    const again = await completedRun(w);
    expectNothingNew(again.out);
  });
});

/**
 * A run killed -9 as soon as `topic` has grown past `high` (or it has exited, which fails the test):
 * NOEMIE_STEP_DELAY_MS pauses it after each step, so the kill lands between two steps.
 */
async function killedOnceGrown(w: World, bus: Bus, topic: TopicName, high: number): Promise<void> {
  const run = runOnce(w, [], { NOEMIE_STEP_DELAY_MS: '4000' });
  await until(async () => (await highs(bus, topic)) > high || run.child.exitCode !== null, 240_000);
  run.child.kill('SIGKILL');
  await run.exited;
  expect(run.child.signalCode, `${run.out()}\n${run.err()}`).toBe('SIGKILL');
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
