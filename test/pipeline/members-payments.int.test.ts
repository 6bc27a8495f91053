import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { importCommand } from '../../src/cli/commands/members.js';
import { command as paymentsRun } from '../../src/cli/commands/payments.js';
import { MembershipEventSchema } from '../../src/model/membership.js';
import { BENEFICIARY_COLUMNS } from '../../src/ingest/reference/beneficiaries.js';
import { readAll, settlement, tempDir } from './stages-given.js';
import { runCommand } from '../support/cli.js';

/**
 * Payment runs read each family's account from the home's membership store, as of the run's day:
 * a population that is not the sample's never gets a sample account, a family without an account
 * is blocked with its reason, and after a RIB change the next payments go to the new account while
 * nothing already sent is sent again.
 */
const POP_IBAN = 'FR7630004000031234567890143'; // not in fixtures/sample/beneficiaries.csv
const NEW_IBAN = 'FR3330002005500000157841Z25';

const cli = runCommand;

/** beneficiaries.csv rows: [adherent, nir, key, iban] as holders of CCN-HLA-BASE from 2024-01-01. */
async function population(file: string, rows: [string, string, string, string][]): Promise<void> {
  const lines = rows.map(([adh, nir, key, iban]) => [adh, nir, key, '1', '1980-01-01', 'A', 'CCN-HLA-BASE', '2024-01-01', '', '', 'Y', iban, iban ? 'BNPAFRPPXXX' : '', `HOLDER ${adh}`].join(';'));
  await writeFile(file, `${[BENEFICIARY_COLUMNS.join(';'), ...lines].join('\n')}\n`);
}

const member = (adherentId: string) => ({ adherentId, tp: '00' as const, payee: 'member' as const });

let home = '';
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('members-payments-'));
});
afterEach(async () => {
  await cleanup();
});

async function produceSettlements(values: Parameters<typeof settlement>[0][]): Promise<void> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  await bus.produce('settlements', values.map((v) => ({ value: settlement(v) })));
  await bus.close();
}

async function ordersOf(runId: string): Promise<{ payee: string; iban: string | null; amount: string; kind: string; lineKeys: string[] }[]> {
  const text = await readFile(join(home, 'payments', runId, 'orders.ndjson'), 'utf8');
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('payment runs and the membership store', () => {
  it("a population whose members file is not the sample's never uses a sample account; a family without one is blocked", async () => {
    // given: ADH0000001 and ADH0000002 — the sample's own adherent ids — with this population's
    // account for the first and none for the second
    const pop = join(home, 'population.csv');
    await population(pop, [['ADH0000001', '1870459280378', '27', POP_IBAN], ['ADH0000002', '1680229242618', '17', '']]);
    expect((await cli(importCommand, [pop, '--home', home])).code).toBe(0);
    await produceSettlements([
      { ...member('ADH0000001'), lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '9.00' },
      { ...member('ADH0000002'), lineKey: 'n:D2:1', beneficiary: { nir: '1680229242618', rang: 1 }, amcAmount: '15.30' },
    ]);

    // when: a payment run without any members flag
    const run = await cli(paymentsRun, ['--home', home, '--professionals', 'fixtures/sample/professionals.csv', '--run-id', 'R1', '--at', '2026-03-31T18:00:00Z']);

    // then: ADH0000001 is paid 9.00 to the population's IBAN; ADH0000002 is blocked, its 15.30 still due
    expect(run.code).toBe(0);
    const orders = await ordersOf('R1');
    expect(orders.map((o) => [o.payee, o.iban, o.amount])).toEqual([['member:ADH0000001', POP_IBAN, '9.00']]);
    expect(run.out).toMatch(/blocked: member:ADH0000002 15\.30 \(1 line\(s\)\): member:ADH0000002: no account known/);
    const sampleIbans = new Set((await readFile('fixtures/sample/beneficiaries.csv', 'utf8')).split('\n').slice(1).map((l) => l.split(';')[11]).filter(Boolean));
    expect(sampleIbans.size).toBeGreaterThan(5);
    for (const o of orders) expect(sampleIbans.has(o.iban ?? '')).toBe(false);
    const pain = await readFile(join(home, 'payments', 'R1', (run.out.match(/pain\.001\.001\.09-R1-[^/\s]+\.xml/) ?? [''])[0]), 'utf8');
    for (const iban of sampleIbans) expect(pain).not.toContain(iban);
  });

  it('an empty home: every member payment is blocked with its reason, none borrowed from the sample', async () => {
    await produceSettlements([{ ...member('ADH0000001'), lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '9.00' }]);
    const run = await cli(paymentsRun, ['--home', home, '--professionals', 'fixtures/sample/professionals.csv', '--run-id', 'R1', '--at', '2026-03-31T18:00:00Z']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('blocked: member:ADH0000001 9.00 (1 line(s)): member:ADH0000001: no account known');
    expect(run.out).toContain('nothing to pay or recover');
  });

  it('RIB change: payments after the change go to the new account; what was sent before is not sent again', async () => {
    const pop = join(home, 'population.csv');
    await population(pop, [['ADH0000001', '1870459280378', '27', POP_IBAN]]);
    await cli(importCommand, [pop, '--home', home]);
    await produceSettlements([{ ...member('ADH0000001'), lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '9.00' }]);
    const r1 = await cli(paymentsRun, ['--home', home, '--professionals', 'fixtures/sample/professionals.csv', '--run-id', 'R1', '--at', '2026-04-30T18:00:00Z']);
    expect(r1.code).toBe(0);
    expect((await ordersOf('R1')).map((o) => [o.iban, o.amount, o.lineKeys])).toEqual([[POP_IBAN, '9.00', ['n:D1:1']]]);

    // the member changes RIB, effective 2026-05-01; a new line of 15.30 is settled
    const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
    const change = MembershipEventSchema.parse({ eventId: 'RIB-1', eventType: 'bank_account_change', effectiveDate: '2026-05-01', adherentId: 'ADH0000001', iban: NEW_IBAN, bic: 'SOGEFRPPXXX' });
    await bus.produce('members', [{ value: change }]);
    await bus.produce('settlements', [{ value: settlement({ ...member('ADH0000001'), lineKey: 'n:D3:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '15.30' }) }]);
    await bus.close();

    const r2 = await cli(paymentsRun, ['--home', home, '--professionals', 'fixtures/sample/professionals.csv', '--run-id', 'R2', '--at', '2026-05-02T18:00:00Z']);
    expect(r2.code).toBe(0);
    // only the new line, 15.30, to the new account: the 9.00 of R1 is not sent again
    expect((await ordersOf('R2')).map((o) => [o.iban, o.amount, o.lineKeys])).toEqual([[NEW_IBAN, '15.30', ['n:D3:1']]]);
    // the R1 order stays as it was sent, on the topic and in its file
    const onTopic = await (async () => {
      const b = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
      try {
        return await readAll(b, 'payment-orders');
      } finally {
        await b.close();
      }
    })();
    expect(onTopic.map((o) => [o.runId, o.iban, o.amount])).toEqual([['R1', POP_IBAN, '9.00'], ['R2', NEW_IBAN, '15.30']]);
  });
});
