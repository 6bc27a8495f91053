import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { approveCommand, command as paymentsRun, showCommand } from '../../src/cli/commands/payments.js';
import { loadPaymentsState } from '../../src/pipeline/payments-store.js';
import { publishSample } from '../../src/pipeline/reference-store.js';
import { validPain001 } from '../support/pain001.js';
import { importSampleMembers, settlement, tempDir } from './stages-given.js';
import { runCommand } from '../support/cli.js';

/**
 * `noemie payments run` / `payments show` as the CLI runs them, on an embedded bus in a temp home,
 * with the sample's beneficiaries imported into the home (ADH0000001's IBAN FR7620041344599806394842283 on the adhérent's row).
 */
const FAMILY_IBAN = 'FR7620041344599806394842283';
let home = '';
let cleanup: () => Promise<void>;

const cli = runCommand;

beforeAll(async () => {
  ({ dir: home, cleanup } = await tempDir('payments-cli-'));
  // the home's reference data: the sample's (professionals' accounts), as `--sample` publishes it
  await publishSample(home);
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const member = { adherentId: 'ADH0000001', tp: '00' as const, payee: 'member' as const };
  await bus.produce('settlements', [
    { value: settlement({ ...member, lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '9.00' }) },
    { value: settlement({ ...member, lineKey: 'n:D2:1', beneficiary: { nir: '2810669306301', rang: 1 }, amcAmount: '15.30' }) },
  ]);
  await bus.close();
  await importSampleMembers(home);
});

afterAll(async () => {
  await cleanup();
});

it('a run pays 9.00 + 15.30 = 24.30 to the family, prints where its files are; a second run emits nothing; show masks the IBAN', async () => {
  const dry = await cli(paymentsRun, ['--home', home, '--run-id', 'R1', '--at', '2025-03-31T18:00:00Z', '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.out).toContain('dry run');
  expect(dry.out).toContain('24.30');
  expect(dry.out).not.toContain('pain.001:');

  const first = await cli(paymentsRun, ['--home', home, '--run-id', 'R1', '--at', '2025-03-31T18:00:00Z']);
  expect(first.code).toBe(0);
  expect(first.out).toContain('consumed: 2 settlement(s)');
  expect(first.out).toContain(`orders: ${join(home, 'payments', 'R1', 'orders.ndjson')}`);
  expect(first.out).toMatch(/pain\.001: .*\/payments\/R1\/pain\.001\.001\.09-R1-.*\.xml/);
  expect(first.out).not.toContain(FAMILY_IBAN);
  // the configured initiating party (defaults of src/config.ts: fictitious, like the paying account)
  const pain = await painOf(first.out);
  expect(pain.ctrlSum).toBe('24.30');
  expect(pain.text).toContain('<InitgPty><Nm>MUTUELLE NOEMIE</Nm><Id><OrgId><Othr><Id>NOEMIE0001</Id><SchmeNm><Cd>CUST</Cd></SchmeNm></Othr></OrgId></Id></InitgPty>');

  const second = await cli(paymentsRun, ['--home', home, '--run-id', 'R2', '--at', '2025-04-01T18:00:00Z']);
  expect(second.out).toContain('consumed: 0 settlement(s)');
  expect(second.out).toContain('nothing to pay or recover');

  const show = await cli(showCommand, ['R1', '--home', home]);
  expect(show.code).toBe(0);
  expect(show.out).toContain('24.30');
  expect(show.out).toContain('FR76…2283');
  expect(show.out).not.toContain(FAMILY_IBAN);
  expect((await cli(showCommand, ['R9', '--home', home])).code).toBe(1);
});

/** The pain.001 a run printed, validated (EPC XSD, sums): its EndToEndIds and CtrlSum. */
async function painOf(out: string): Promise<{ e2e: string[]; ctrlSum: string; text: string }> {
  const file = /pain\.001: (.+\.xml)/.exec(out)?.[1];
  expect(file).toBeDefined();
  const { doc, endToEndIds, text } = await validPain001(file!);
  return { e2e: endToEndIds, ctrlSum: doc.GrpHdr.CtrlSum, text };
}

it('a line above the per-order ceiling is HELD (report, --json), not in the pain.001, still owed; approved, the next run pays exactly it, once', async () => {
  const ABSURD = '25000.00';
  const { dir, cleanup: done } = await tempDir('payments-held-');
  try {
    await publishSample(dir); // the home's reference data: the sample's
    const bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
    await bus.produce('settlements', [
      { value: settlement({ adherentId: 'ADH0000001', tp: '00', payee: 'member', lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '9.00' }) },
      { value: settlement({ adherentId: 'ADH0000002', tp: '00', payee: 'member', lineKey: 'n:D9:1', beneficiary: { nir: '1680229242618', rang: 1 }, amcAmount: ABSURD }) },
    ]);
    await bus.close();
    await importSampleMembers(dir);
    const at = ['--home', dir, '--at', '2025-03-31T18:00:00Z'];

    const dry = await cli(paymentsRun, [...at, '--run-id', 'R1', '--dry-run']);
    expect(dry.out).toContain(`HELD for approval: R1:member:ADH0000002 ${ABSURD} (order ceiling 10000.00, 1 line(s))`);
    // a per-order ceiling above the per-run one is a configuration error naming both
    await expect(cli(paymentsRun, [...at, '--run-id', 'R1', '--dry-run', '--max-order', '1000000'])).rejects.toThrow(/--max-order is above NOEMIE_PAYMENT_MAX_RUN \(the per-order ceiling 1000000.00 is above the per-run ceiling 500000.00\)/);
    expect(dry.out).toContain('noemie payments approve R1:member:ADH0000002');
    // a flag lowers the ceiling: the 9.00 is held too; a bad value is a usage error naming the flag
    expect((await cli(paymentsRun, [...at, '--run-id', 'R1', '--dry-run', '--max-order', '5'])).out).toContain('HELD for approval: R1:member:ADH0000001 9.00 (order ceiling 5.00');
    await expect(cli(paymentsRun, [...at, '--run-id', 'R1', '--dry-run', '--max-order', 'lots'])).rejects.toThrow(/--max-order: "lots" is not an amount/);

    const first = await cli(paymentsRun, [...at, '--run-id', 'R1', '--json']);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.out) as { held: { paymentId: string; amount: string; ceiling: string; limit: string; endToEndId: string }[]; orders: { payee: string; amount: string; iban: string }[]; sepaFiles: string[] };
    expect(report.held.map((h) => [h.paymentId, h.amount, h.ceiling, h.limit])).toEqual([['R1:member:ADH0000002', ABSURD, 'order', '10000.00']]);
    expect(report.orders.map((o) => [o.payee, o.amount, o.iban])).toEqual([['member:ADH0000001', '9.00', 'FR76…2283']]);
    expect(first.out).not.toContain(FAMILY_IBAN);
    const pain1 = await painOf(`pain.001: ${report.sepaFiles[0]}`);
    expect([pain1.ctrlSum, pain1.e2e.length]).toEqual(['9.00', 1]);
    expect(pain1.text).not.toContain(ABSURD);
    const owed = (await loadPaymentsState(dir)).ledger;
    expect([Object.keys(owed.due), owed.lines['n:D9:1']?.paid]).toEqual([['n:D9:1'], {}]);

    const approve = await cli(approveCommand, ['R1:member:ADH0000002', '--run', 'R1', '--by', 'alice', '--home', dir]);
    expect(approve.code).toBe(0);
    expect(approve.out).toContain(`approved R1:member:ADH0000002: ${ABSURD} to member:ADH0000002 (EndToEndId ${report.held[0]!.endToEndId}) by alice`);

    const second = await cli(paymentsRun, ['--home', dir, '--at', '2025-04-01T18:00:00Z', '--run-id', 'R2']);
    expect(second.out).not.toContain('HELD');
    const pain2 = await painOf(second.out);
    expect([pain2.e2e, pain2.ctrlSum]).toEqual([[report.held[0]!.endToEndId], ABSURD]);
    const third = await cli(paymentsRun, ['--home', dir, '--at', '2025-04-02T18:00:00Z', '--run-id', 'R3']);
    expect(third.out).toContain('nothing to pay or recover');
    await expect(cli(approveCommand, ['member:ADH0000002', '--by', 'alice', '--home', dir])).rejects.toMatchObject({ code: 'PAYMENTS_NOT_HELD' });
  } finally {
    await done();
  }
});
