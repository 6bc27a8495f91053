import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

const UNKNOWN = { adherentId: 'ADH9570066', nir: '2581175045436', nirKey: String(97 - Number(2581175045436n % 97n)).padStart(2, '0') };
const ARRIVAL_IBAN = 'FR7630004000031234567890143';
const RESILIATION = '2025-06-02';
const NEW_START = '2024-01-01';
const LATE_JOINER_HOLDER = { nir: '1831097412340', nirKey: '27' };

function feed(): string {
  const header = 'event_id;event_type;effective_date;adherent_id;nir;nir_key;rang;birth_date;role;contracts;noemie;iban;bic;name';
  return [
    header,
    `ev-resil-3;affiliation_end;${RESILIATION};ADH0000003;;;;;;;;;;`,
    `ev-arrival-957;family_created;2023-01-01;${UNKNOWN.adherentId};${UNKNOWN.nir};${UNKNOWN.nirKey};1;1958-11-15;A;CCN-HLA-BASE;Y;${ARRIVAL_IBAN};BNPAFRPPXXX;ROUX Claire`,
    `ev-start-6;affiliation_start;${NEW_START};ADH0000006;${LATE_JOINER_HOLDER.nir};${LATE_JOINER_HOLDER.nirKey};1;;;;;;;`,
    '',
  ].join('\n');
}

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

/** The last version of each line. */
function latest(settlements: readonly Settlement[]): Map<string, Settlement> {
  const m = new Map<string, Settlement>();
  for (const s of settlements) if ((m.get(s.lineKey)?.version ?? 0) < s.version) m.set(s.lineKey, s);
  return m;
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

interface Order { payee: string; kind: string; amount: string; iban: string | null; debtAfter: string; lines: { lineKey: string; version: number; amount: string }[] }
async function ordersOf(out: string): Promise<Order[]> {
  const file = /orders: +(.+\.ndjson)/.exec(out)?.[1];
  if (!file) return [];
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Order);
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

    const resiliated = v1.filter((s) => s.adherentId === 'ADH0000003' && s.careDate >= RESILIATION);
    const keptBefore = v1.filter((s) => s.adherentId === 'ADH0000003' && s.careDate < RESILIATION);
    const inReview = v1.filter((s) => s.status === 'review' && s.beneficiary.nir === UNKNOWN.nir);
    const rejectedBeforeStart = v1.filter((s) => s.adherentId === 'ADH0000006' && s.status === 'rejected');
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
    expect(keptBefore.some((s) => s.careDate === '2025-06-01')).toBe(true);
    expect(inReview).toHaveLength(1);
    expect(inReview[0]!.reason).toMatch(/unknown beneficiary/);
    expect(rejectedBeforeStart).toHaveLength(5);

    // When a members feed brings the back-dated events and the job runs again
    await writeFile(join(w.home, 'inbox', 'members-backdated.csv'), feed());
    const second = await completedRun(w);
    expect(second.out).toMatch(/members-backdated\.csv: 3 membership events published, 0 rejected/);
    expect(second.out).toMatch(/members: 3 membership event\(s\) applied, 0 already applied, 11 families in the store; 3 re-liquidation request\(s\)/);
    // 2 résiliated + 1 arrival + 5 covered again = 8 new versions
    expect(second.out).toMatch(/liquidation: 0 lines, 8 settlements published/);

    const all = await settlementsOf(w);
    dedupe(all);
    const after = latest(all);
    const changed = [...after.values()].filter((s) => s.version > (before.get(s.lineKey)?.version ?? 0));
    expect(changed.map((s) => s.lineKey).sort()).toEqual([...resiliated, ...inReview, ...rejectedBeforeStart].map((s) => s.lineKey).sort());
    // Then the résiliated lines are rejected, version 2, carrying the event
    for (const s of resiliated) {
      expect(after.get(s.lineKey)).toMatchObject({ version: 2, status: 'rejected', amcAmount: '0.00', reliquidation: { eventId: 'ev-resil-3', type: 'affiliation_end', effectiveDate: RESILIATION } });
    }
    for (const s of keptBefore) expect(after.get(s.lineKey)!.version).toBe(s.version);
    // the line left in review is paid once its member exists
    const arrived = after.get(inReview[0]!.lineKey)!;
    expect(arrived).toMatchObject({ version: 2, status: 'paid', adherentId: UNKNOWN.adherentId, reliquidation: { eventId: 'ev-arrival-957', type: 'family_created', effectiveDate: '2023-01-01' } });
    expect(new Decimal(arrived.amcAmount).gt(0)).toBe(true);
    for (const s of rejectedBeforeStart) expect(after.get(s.lineKey)).toMatchObject({ version: 2, status: 'paid', reliquidation: { eventId: 'ev-start-6' } });

    // and the payment run recovers exactly 15.77 from ADH0000003, line by line…
    const orders = await ordersOf(second.out);
    const recovery = orders.find((o) => o.payee === 'member:ADH0000003');
    expect(recovery).toMatchObject({ kind: 'recovery', amount: toRecover.toFixed(2), debtAfter: toRecover.toFixed(2) });
    expect(recovery!.lines.map((l) => [l.lineKey, l.version, l.amount]).sort()).toEqual(resiliated.map((s) => [s.lineKey, 2, new Decimal(s.amcAmount).neg().toFixed(2)]).sort());
    // …and pays the arrival's line to the account its event gave
    expect(orders.find((o) => o.payee === `member:${UNKNOWN.adherentId}`)).toMatchObject({ kind: 'payment', amount: arrived.amcAmount, iban: ARRIVAL_IBAN });
    const touched = new Set(['member:ADH0000003', `member:${UNKNOWN.adherentId}`, 'member:ADH0000006', 'ps:943701066']);
    expect(orders.filter((o) => !touched.has(o.payee))).toEqual([]);
    expect(await readFile(join(w.home, 'statements', 'ADH0000003.txt'), 'utf8')).toContain('régularisation suite à résiliation du 02/06/2025');

    // A third run changes nothing: no event, no settlement, no order
    const third = await completedRun(w);
    expect(third.out).toMatch(/members: 0 membership event\(s\) applied, 0 already applied, 11 families in the store; 0 re-liquidation request\(s\)/);
    expect(third.out).toMatch(/liquidation: 0 lines, 0 settlements published/);
    expect(third.out).toMatch(/payment run \S+: 0 orders/);
    expect((await settlementsOf(w)).length).toBe(all.length);
    uninterrupted = { settlements: dedupe(all), orders };
  });

  it('kill -9 in the middle of the re-liquidation requests (ledger written, settlements not; then settlements written, offsets not), rerun: nothing lost, nothing duplicated', async () => {
    expect(uninterrupted, 'the uninterrupted scenario ran first').toBeDefined();
    const w = await world();
    await completedRun(w, ['--sample']);
    await writeFile(join(w.home, 'inbox', 'members-backdated.csv'), feed());
    const bus = await busOf(w);
    const changelogBefore = await highs(bus, 'counters-changelog');
    const settlementsBefore = await highs(bus, 'settlements');

    // Killed once a request's ledger pieces are on the changelog and before its settlements
    // (NOEMIE_STEP_DELAY_MS: a pause after each step so the kill lands between them)…
    const killedAfterLedger = runOnce(w, [], { NOEMIE_STEP_DELAY_MS: '4000' });
    await until(async () => (await highs(bus, 'counters-changelog')) > changelogBefore || killedAfterLedger.child.exitCode !== null, 240_000);
    killedAfterLedger.child.kill('SIGKILL');
    await killedAfterLedger.exited;
    expect(killedAfterLedger.child.signalCode, `${killedAfterLedger.out()}\n${killedAfterLedger.err()}`).toBe('SIGKILL');
    expect(await highs(bus, 'settlements')).toBe(settlementsBefore);
    expect(await highs(bus, 'reliquidations')).toBeGreaterThan(0);

    // …then once a batch's settlements are out and before the offsets are committed
    const settlementsMid = await highs(bus, 'settlements');
    const killedAfterSettlements = runOnce(w, [], { NOEMIE_STEP_DELAY_MS: '4000' });
    await until(async () => (await highs(bus, 'settlements')) > settlementsMid || killedAfterSettlements.child.exitCode !== null, 240_000);
    killedAfterSettlements.child.kill('SIGKILL');
    await killedAfterSettlements.exited;
    expect(killedAfterSettlements.child.signalCode, `${killedAfterSettlements.out()}\n${killedAfterSettlements.err()}`).toBe('SIGKILL');

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
    expect(again.out).toMatch(/liquidation: 0 lines, 0 settlements published/);
    expect(again.out).toMatch(/payment run \S+: 0 orders/);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
