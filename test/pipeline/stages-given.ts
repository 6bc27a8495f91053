import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { changelogKey, changelogText } from '../../src/bus/messages.js';
import type { Bus, MessageOf, TopicName } from '../../src/bus/index.js';
import type { PaymentOrder } from '../../src/model/payment.js';
import type { Settlement } from '../../src/model/settlement.js';
import type { TpClaim } from '../../src/model/tp-claim.js';
import { TP_CLAIM_COLUMNS } from '../../src/model/tp-claim.js';
import { PS, claim as reconClaim, line } from '../reconcile/given.js';

/** Given / when / then for the stages on the bus: settlements and claims as the business reads them. */

export { PS };
export const PS_NO_ACCOUNT = '759999999';

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Each test of the file gets a fresh temporary home with an embedded bus in `<home>/bus`, given to
 * `use`; both are closed and removed after the test.
 */
export function withEmbeddedHome(prefix: string, use: (home: string, bus: Bus) => void): void {
  let done: { bus: Bus; cleanup: () => Promise<void> } | null = null;
  beforeEach(async () => {
    const { dir, cleanup } = await tempDir(prefix);
    const bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
    done = { bus, cleanup };
    use(dir, bus);
  });
  afterEach(async () => {
    await done?.bus.close();
    await done?.cleanup();
    done = null;
  });
}

/** A settlement; defaults: the reconciliation tests' tiers-payant (tp 15) GP consultation, AMC 19.00, version 1. */
export function settlement(over: Partial<Settlement> & Pick<Settlement, 'lineKey' | 'beneficiary'>): Settlement {
  return line({ parts: [{ contract: 'CCN-HLA-OPT2', amount: over.amcAmount ?? '19.00' }], ...over });
}

export function claim(over: Partial<TpClaim> & Pick<TpClaim, 'tpClaimId' | 'nir'>): TpClaim {
  return reconClaim(over);
}

/** Writes claims as tp_claims.csv (formats.md §4 columns), plus raw extra lines (bad rows). */
export async function writeTpClaimsCsv(file: string, claims: readonly TpClaim[], extraLines: readonly string[] = []): Promise<void> {
  const columns = Object.keys(TP_CLAIM_COLUMNS) as (keyof typeof TP_CLAIM_COLUMNS)[];
  const rows = claims.map((c) => columns.map((col) => String(c[TP_CLAIM_COLUMNS[col]] ?? '')).join(';'));
  await writeFile(file, `${[columns.join(';'), ...rows, ...extraLines].join('\n')}\n`);
}

/**
 * A changelog's records as `{ key, value }` with the value's JSON text (null: a removal), whichever
 * form a record was written in (bus/messages.ts), and `form`: 'json' (the value inline, no key in
 * it: what the stages write since session 16) or 'string' (earlier builds).
 */
export async function readChangelog(bus: Bus, topic: 'counters-changelog' | 'reconcile-changelog'): Promise<{ key: string; value: string | null; form: 'json' | 'string' }[]> {
  const out: { key: string; value: string | null; form: 'json' | 'string' }[] = [];
  for (const { partition, low, high } of await bus.endOffsets(topic)) {
    if (high <= low) continue;
    for await (const records of bus.readRange(topic, partition, { from: low, to: high })) {
      for (const r of records) out.push({ key: changelogKey(r), value: changelogText(r.value.value), form: typeof r.value.value === 'string' || r.value.key !== undefined ? 'string' : 'json' });
    }
  }
  return out;
}

export async function readAll<T extends TopicName>(bus: Bus, topic: T): Promise<MessageOf<T>[]> {
  const out: MessageOf<T>[] = [];
  for (const { partition, low, high } of await bus.endOffsets(topic)) {
    if (high <= low) continue;
    for await (const records of bus.readRange(topic, partition, { from: low, to: high })) out.push(...records.map((r) => r.value));
  }
  return out;
}

/**
 * The payment orders a home's embedded bus holds, once each, in the order first published: the
 * topic is at-least-once (a crash between publishing and recording republishes), and a
 * re-publication must be the same order, byte for byte (checked here).
 */
export async function publishedOrders(home: string): Promise<{ orders: PaymentOrder[]; published: number }> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  let published: PaymentOrder[];
  try {
    published = await readAll(bus, 'payment-orders');
  } finally {
    await bus.close();
  }
  const byId = new Map<string, { order: PaymentOrder; text: string }>();
  for (const order of published) {
    const text = JSON.stringify(order);
    const seen = byId.get(order.paymentId);
    if (seen) expect(text).toBe(seen.text);
    else byId.set(order.paymentId, { order, text });
  }
  return { orders: [...byId.values()].map((o) => o.order), published: published.length };
}

export const DAY = 86_400_000;

/**
 * The sample's members (fixtures/sample/beneficiaries.csv) imported into the home's membership
 * store, as `noemie members import` does: commands read members from the home only (issue 10).
 */
export async function importSampleMembers(home: string, file = 'fixtures/sample/beneficiaries.csv'): Promise<void> {
  const { importPopulation } = await import('../../src/pipeline/members-import.js');
  const { MembershipStore } = await import('../../src/pipeline/membership-store.js');
  const { updateMembershipStore } = await import('../../src/pipeline/membership-consumer.js');
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const store = MembershipStore.open(home);
  try {
    await importPopulation(bus, file);
    await updateMembershipStore(bus, store);
  } finally {
    await store.close();
    await bus.close();
  }
}

/** A9, a member paid by transfer (his own IBAN), and his lines (the payment-state suites' family). */
export const A9 = { adherentId: 'A9', nir: '1850375123456', nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A' as const, contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: 'FR7630006000011234567890189', bic: null, name: 'Jean Dupont' };
export const a9Line = (lineKey: string, amcAmount: string) => settlement({ lineKey, beneficiary: { nir: '1850375123456', rang: 1 }, adherentId: 'A9', tp: '00', payee: 'member', amcAmount });
