import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Settlement } from '../../src/model/settlement.js';
import { readAll } from '../pipeline/stages-given.js';
import { runNoemie } from '../support/cli.js';

const run = runNoemie;

async function settlementsOf(home: string): Promise<Settlement[]> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
  try {
    return await readAll(bus, 'settlements');
  } finally {
    await bus.close();
  }
}

/** The last version of each line. */
function latest(settlements: readonly Settlement[]): Map<string, Settlement> {
  const m = new Map<string, Settlement>();
  for (const s of settlements) if ((m.get(s.lineKey)?.version ?? 0) < s.version) m.set(s.lineKey, s);
  return m;
}

interface Order { payee: string; kind: string; amount: string; iban: string | null; debtAfter: string; lines: { lineKey: string; version: number; amount: string }[] }
async function ordersOf(out: string): Promise<Order[]> {
  const file = /orders: +(.+\.ndjson)/.exec(out)?.[1];
  if (!file) return [];
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Order);
}

// The sample's NIR 2581175045436 (rang 1) has care in cpam-lot-0001 but no row in beneficiaries.csv:
// its line is left in review, keyed by the member number the line names (ADH9570066).
const UNKNOWN = { adherentId: 'ADH9570066', nir: '2581175045436', nirKey: String(97 - Number(2581175045436n % 97n)).padStart(2, '0') };
const ARRIVAL_IBAN = 'FR7630004000031234567890143';
// ADH0000003 (the senior couple, CCN-HLA-OPT2): a résiliation back-dated to 2 June 2025 (first day
// not covered, README "Members"), so care from 2025-06-02 on is no longer covered; 1 June stays.
const RESILIATION = '2025-06-02';
// ADH0000006 (the late joiner, affiliation from 2024-08-01): the start moved back to 1 January 2024,
// so the holder's lines rejected "before the affiliation start" are covered.
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

/**
 * Issue 10, end to end through `noemie run --once` on the embedded bus: membership events applied →
 * requestReliquidation → the liquidation service re-decides → the payment run pays / recovers the
 * difference. No piece is called directly: the feed is a file in the inbox, as a user drops it.
 */
describe('noemie run --once: a back-dated members feed after a paid sample run', () => {
  it('re-decides the lines the events change, recovers what was paid after the résiliation, pays what is now covered, then nothing more', async () => {
    const home = await mkdtemp(join(tmpdir(), 'run-reliq-'));
    try {
      // Given the sample run once, paid
      const first = await run(['run', '--once', '--sample', '--home', home, '--stable-ms', '0', '--workers', '1']);
      expect(first.code, first.err).toBe(0);
      expect(first.out).toMatch(/payment run \S+: \d+ orders/);
      const before = latest(await settlementsOf(home));
      const v1 = [...before.values()];

      // what the first run decided, read from its settlements (the test's starting figures)
      const resiliated = v1.filter((s) => s.adherentId === 'ADH0000003' && s.careDate >= RESILIATION);
      const keptBefore = v1.filter((s) => s.adherentId === 'ADH0000003' && s.careDate < RESILIATION);
      const inReview = v1.filter((s) => s.status === 'review' && s.beneficiary.nir === UNKNOWN.nir);
      const rejectedBeforeStart = v1.filter((s) => s.adherentId === 'ADH0000006' && s.status === 'rejected');
      // The sample today: ADH0000003 has 2 lines on or after 2025-06-02, both paid to the member
      // (2025-07-31 biology 3.78, 2025-11-07 osteodensitometry 11.99) and 2025-06-01's two TP lines before;
      // the unknown NIR has 1 line in review; ADH0000006's holder has 5 lines rejected before 2024-08-01
      // (one paid to the member, four tiers payant to ps:943701066). If the sample changes, these counts say so.
      expect(resiliated.map((s) => [s.careDate, s.status, s.payee, s.amcAmount])).toEqual([
        ['2025-07-31', 'paid', 'member', '3.78'],
        ['2025-11-07', 'paid', 'member', '11.99'],
      ]);
      expect(keptBefore.some((s) => s.careDate === '2025-06-01')).toBe(true);
      expect(inReview).toHaveLength(1);
      expect(inReview[0]!.reason).toMatch(/unknown beneficiary/);
      expect(rejectedBeforeStart).toHaveLength(5);
      for (const s of rejectedBeforeStart) expect(s.reason).toMatch(/before the affiliation start 2024-08-01/);
      // the amount to recover, by hand: 3.78 + 11.99 = 15.77 (what the first run paid for those lines)
      const toRecover = resiliated.reduce((t, s) => t.plus(s.amcAmount), new Decimal(0));
      expect(toRecover.toFixed(2)).toBe('15.77');

      // When a members feed brings the back-dated events and the job runs again
      await writeFile(join(home, 'inbox', 'members-backdated.csv'), feed());
      const second = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1']);
      expect(second.code, second.err).toBe(0);
      expect(second.out).toMatch(/members-backdated\.csv: 3 membership events published, 0 rejected/);
      expect(second.out).toMatch(/members: 3 membership event\(s\) applied, 0 already applied, 11 families in the store; 3 re-liquidation request\(s\)/);
      // 2 résiliated + 1 arrival + 5 covered again = 8 new versions; nothing else of the families changes
      expect(second.out).toMatch(/liquidation: 0 lines, 8 settlements published/);

      const all = await settlementsOf(home);
      const after = latest(all);
      const changed = [...after.values()].filter((s) => s.version > (before.get(s.lineKey)?.version ?? 0));
      expect(changed.map((s) => s.lineKey).sort()).toEqual([...resiliated, ...inReview, ...rejectedBeforeStart].map((s) => s.lineKey).sort());

      // Then the résiliated lines are rejected, version 2, carrying the event
      for (const s of resiliated) {
        expect(after.get(s.lineKey)).toMatchObject({
          version: s.version + 1, status: 'rejected', amcAmount: '0.00',
          reliquidation: { eventId: 'ev-resil-3', type: 'affiliation_end', effectiveDate: RESILIATION },
        });
      }
      for (const s of keptBefore) expect(after.get(s.lineKey)!.version).toBe(s.version);
      // the line left in review is paid once its member exists
      const arrived = after.get(inReview[0]!.lineKey)!;
      expect(arrived).toMatchObject({ version: 2, status: 'paid', adherentId: UNKNOWN.adherentId, reliquidation: { eventId: 'ev-arrival-957', type: 'family_created', effectiveDate: '2023-01-01' } });
      expect(new Decimal(arrived.amcAmount).gt(0)).toBe(true);
      // the lines rejected before the old start are decided again under the new one
      for (const s of rejectedBeforeStart) {
        expect(after.get(s.lineKey)).toMatchObject({ version: 2, status: 'paid', reliquidation: { eventId: 'ev-start-6', type: 'affiliation_start', effectiveDate: NEW_START } });
      }

      // and the payment run recovers exactly what was paid for the rejected lines…
      const orders = await ordersOf(second.out);
      const recovery = orders.find((o) => o.payee === 'member:ADH0000003');
      expect(recovery).toMatchObject({ kind: 'recovery', amount: toRecover.toFixed(2), debtAfter: toRecover.toFixed(2) });
      expect(recovery!.lines.map((l) => [l.lineKey, l.version, l.amount]).sort()).toEqual(resiliated.map((s) => [s.lineKey, 2, new Decimal(s.amcAmount).neg().toFixed(2)]).sort());
      // …pays the newly covered member lines (the arrival to the account its event gave)…
      const arrivalOrder = orders.find((o) => o.payee === `member:${UNKNOWN.adherentId}`);
      expect(arrivalOrder).toMatchObject({ kind: 'payment', amount: arrived.amcAmount, iban: ARRIVAL_IBAN });
      const memberLine6 = rejectedBeforeStart.filter((s) => s.payee === 'member').map((s) => after.get(s.lineKey)!);
      expect(memberLine6).toHaveLength(1);
      expect(orders.find((o) => o.payee === 'member:ADH0000006')).toMatchObject({ kind: 'payment', amount: memberLine6[0]!.amcAmount });
      // …and the tiers-payant lines of ADH0000006, now covered, are owed to their professional net of
      // what the first run recovered from it (the operator had paid claims 2–4, 136.64 + 169.16 + 6.40 =
      // 312.20, against an entitlement of 0): 99.97 + 124.97 + 124.97 + 6.00 = 355.91 − 312.20 = 43.71,
      // blocked (the sample's professionals.csv has no account for ps:943701066), its lines stay due
      const firstPs = (await ordersOf(first.out)).find((o) => o.payee === 'ps:943701066');
      expect(firstPs).toMatchObject({ kind: 'recovery', amount: '312.20' });
      const tpOwed = rejectedBeforeStart.filter((s) => s.payee === 'ps:943701066').reduce((t, s) => t.plus(after.get(s.lineKey)!.amcAmount), new Decimal(0));
      expect(tpOwed.toFixed(2)).toBe('355.91');
      expect(second.out).toContain(`blocked: ps:943701066 ${tpOwed.minus(firstPs!.amount).toFixed(2)}: ps:943701066: no account known`);
      expect(second.out).toContain(`recovery: member:ADH0000003 ${toRecover.toFixed(2)} (debt carried ${toRecover.toFixed(2)})`);
      // …and nothing for a family the events do not touch
      const touched = new Set(['member:ADH0000003', `member:${UNKNOWN.adherentId}`, 'member:ADH0000006', 'ps:943701066']);
      expect(orders.filter((o) => !touched.has(o.payee))).toEqual([]);
      // the statement says why
      const statement3 = await readFile(join(home, 'statements', 'ADH0000003.txt'), 'utf8');
      expect(statement3).toContain('régularisation suite à résiliation du 02/06/2025');

      // A third run changes nothing: no event, no settlement, no order
      const third = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1']);
      expect(third.code, third.err).toBe(0);
      expect(third.out).toMatch(/members: 0 membership event\(s\) applied, 0 already applied, 11 families in the store; 0 re-liquidation request\(s\)/);
      expect(third.out).toMatch(/liquidation: 0 lines, 0 settlements published/);
      expect(third.out).toMatch(/payment run \S+: 0 orders/);
      expect((await settlementsOf(home)).length).toBe(all.length);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 180_000);
});
