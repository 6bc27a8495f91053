import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { expect } from 'vitest';
import type { Settlement } from '../../src/model/settlement.js';
import type { Order } from './run-support.js';

/**
 * Issue 10's back-dated members feed after a paid sample run, shared by the embedded-bus
 * (run-reliquidation.int.test.ts) and the Kafka (run-reliquidation-kafka.int.test.ts) runs of
 * `noemie run --once`: the feed, the lines of the first run it must change, and the checks both
 * buses must pass alike. What differs between them (the hand figures, the kill -9) stays in each test.
 */

// The sample's NIR 2581175045436 (rang 1) has care in cpam-lot-0001 but no row in beneficiaries.csv:
// its line is left in review, keyed by the member number the line names (ADH9570066).
export const UNKNOWN = { adherentId: 'ADH9570066', nir: '2581175045436', nirKey: String(97 - Number(2581175045436n % 97n)).padStart(2, '0') };
export const ARRIVAL_IBAN = 'FR7630004000031234567890143';
// ADH0000003 (the senior couple, CCN-HLA-OPT2): a résiliation back-dated to 2 June 2025 (first day
// not covered, README "Members"), so care from 2025-06-02 on is no longer covered; 1 June stays.
export const RESILIATION = '2025-06-02';
// ADH0000006 (the late joiner, affiliation from 2024-08-01): the start moved back to 1 January 2024,
// so the holder's lines rejected "before the affiliation start" are covered.
export const NEW_START = '2024-01-01';
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

/** The feed dropped in the home's inbox, as a user drops it. */
export async function dropBackdatedFeed(home: string): Promise<void> {
  await writeFile(join(home, 'inbox', 'members-backdated.csv'), feed());
}

/** The first run's lines the feed is about, read from its settlements (the tests' starting figures). */
export interface FirstRunLines {
  resiliated: Settlement[];
  keptBefore: Settlement[];
  inReview: Settlement[];
  rejectedBeforeStart: Settlement[];
}

export function firstRunLines(v1: readonly Settlement[]): FirstRunLines {
  return {
    resiliated: v1.filter((s) => s.adherentId === 'ADH0000003' && s.careDate >= RESILIATION),
    keptBefore: v1.filter((s) => s.adherentId === 'ADH0000003' && s.careDate < RESILIATION),
    inReview: v1.filter((s) => s.status === 'review' && s.beneficiary.nir === UNKNOWN.nir),
    rejectedBeforeStart: v1.filter((s) => s.adherentId === 'ADH0000006' && s.status === 'rejected'),
  };
}

/**
 * The sample today: 2025-06-01's lines of ADH0000003 stay before the résiliation; the unknown NIR has
 * 1 line in review; ADH0000006's holder has 5 lines rejected before 2024-08-01. If the sample
 * changes, these counts say so.
 */
export function expectFirstRunLines(lines: FirstRunLines): void {
  expect(lines.keptBefore.some((s) => s.careDate === '2025-06-01')).toBe(true);
  expect(lines.inReview).toHaveLength(1);
  expect(lines.inReview[0]!.reason).toMatch(/unknown beneficiary/);
  expect(lines.rejectedBeforeStart).toHaveLength(5);
}

/** The second run read the feed's 3 events and re-decided 2 résiliated + 1 arrival + 5 covered again = 8 lines. */
export function expectFeedApplied(out: string): void {
  expect(out).toMatch(/members-backdated\.csv: 3 membership events published, 0 rejected/);
  expect(out).toMatch(/members: 3 membership event\(s\) applied, 0 already applied, 11 families in the store; 3 re-liquidation request\(s\)/);
  expect(out).toMatch(/liquidation: 0 lines, 8 settlements published/);
}

/** Exactly the lines the events touch have a new version; ADH0000003's lines before the résiliation keep theirs. */
export function expectOnlyTheirLinesChanged(before: ReadonlyMap<string, Settlement>, after: ReadonlyMap<string, Settlement>, lines: FirstRunLines): void {
  const changed = [...after.values()].filter((s) => s.version > (before.get(s.lineKey)?.version ?? 0));
  expect(changed.map((s) => s.lineKey).sort()).toEqual([...lines.resiliated, ...lines.inReview, ...lines.rejectedBeforeStart].map((s) => s.lineKey).sort());
  for (const s of lines.keptBefore) expect(after.get(s.lineKey)!.version).toBe(s.version);
}

/** The line left in review, paid once its member exists (version 2, carrying the arrival). */
export function expectArrivedPaid(after: ReadonlyMap<string, Settlement>, inReview: readonly Settlement[]): Settlement {
  const arrived = after.get(inReview[0]!.lineKey)!;
  expect(arrived).toMatchObject({ version: 2, status: 'paid', adherentId: UNKNOWN.adherentId, reliquidation: { eventId: 'ev-arrival-957', type: 'family_created', effectiveDate: '2023-01-01' } });
  expect(new Decimal(arrived.amcAmount).gt(0)).toBe(true);
  return arrived;
}

/**
 * The second payment run: it recovers `toRecover` from ADH0000003 line by line (each résiliated line's
 * version 2, its first amount negated), pays the arrival's line to the account its event gave, and
 * makes no order for a payee the events do not touch; ADH0000003's statement says why.
 */
export async function expectSecondPaymentRun(home: string, orders: readonly Order[], resiliated: readonly Settlement[], arrived: Settlement, toRecover: Decimal): Promise<void> {
  const recovery = orders.find((o) => o.payee === 'member:ADH0000003');
  expect(recovery).toMatchObject({ kind: 'recovery', amount: toRecover.toFixed(2), debtAfter: toRecover.toFixed(2) });
  expect(recovery!.lines.map((l) => [l.lineKey, l.version, l.amount]).sort()).toEqual(resiliated.map((s) => [s.lineKey, 2, new Decimal(s.amcAmount).neg().toFixed(2)]).sort());
  expect(orders.find((o) => o.payee === `member:${UNKNOWN.adherentId}`)).toMatchObject({ kind: 'payment', amount: arrived.amcAmount, iban: ARRIVAL_IBAN });
  const touched = new Set(['member:ADH0000003', `member:${UNKNOWN.adherentId}`, 'member:ADH0000006', 'ps:943701066']);
  expect(orders.filter((o) => !touched.has(o.payee))).toEqual([]);
  expect(await readFile(join(home, 'statements', 'ADH0000003.txt'), 'utf8')).toContain('régularisation suite à résiliation du 02/06/2025');
}

/** A third run reads no event and makes no settlement and no order. */
export function expectThirdRunIdle(out: string): void {
  expect(out).toMatch(/members: 0 membership event\(s\) applied, 0 already applied, 11 families in the store; 0 re-liquidation request\(s\)/);
  expect(out).toMatch(/liquidation: 0 lines, 0 settlements published/);
  expect(out).toMatch(/payment run \S+: 0 orders/);
}
