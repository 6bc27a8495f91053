import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { command as paymentsRun, showCommand, type ShowOutput } from '../../src/cli/commands/payments.js';
import { RunReportSchema } from '../../src/payments/report.js';
import type { PaymentStageReport } from '../../src/pipeline/payments-service.js';
import { publishSample } from '../../src/pipeline/reference-store.js';
import { importSampleMembers, settlement, tempDir } from './stages-given.js';
import { runCommand } from '../support/cli.js';

/**
 * The payment-run report through the CLI, on an embedded bus, with the sample's members:
 * ADH0000001, 0002, 0003 have an IBAN; ADH0000008 has none (blocked).
 *
 * Given run R1 paid ADH0000001 9.00 + 15.30 = 24.30; then for R2:
 *   - ADH0000001's D2 re-liquidated at 5.30 (v2): movement 5.30 − 15.30 = −10.00 → a recovery of 10.00, carried
 *   - ADH0000002 D3 12.00                        → transferred
 *   - ADH0000003 D4 25 000.00 (> 10 000.00)      → HELD for approval
 *   - ADH0000008 D5 40.00 (no IBAN)              → BLOCKED
 * settled movements = −10.00 + 12.00 + 25 000.00 + 40.00 = 25 042.00
 *                   = 12.00 transferred + 25 000.00 held + 40.00 blocked − 10.00 recovered + 0.00 debts brought forward
 */
const FAMILY_IBAN = 'FR7620041344599806394842283';
let home = '';
let cleanup: () => Promise<void>;
const member = (adherentId: string, nir: string, lineKey: string, amcAmount: string, version = 1) =>
  ({ value: settlement({ adherentId, tp: '00', payee: 'member', lineKey, beneficiary: { nir, rang: 1 }, amcAmount, version }) });

const cli = runCommand;

async function publish(values: ReturnType<typeof member>[]): Promise<void> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  try {
    await bus.produce('settlements', values);
  } finally {
    await bus.close();
  }
}

beforeAll(async () => {
  ({ dir: home, cleanup } = await tempDir('payments-report-'));
  await publishSample(home);
  // members' accounts come from the home's membership store (not the reference sample)
  await importSampleMembers(home);
  await publish([member('ADH0000001', '1870459280378', 'n:D1:1', '9.00'), member('ADH0000001', '2810669306301', 'n:D2:1', '15.30')]);
  const r1 = await cli(paymentsRun, ['--home', home, '--run-id', 'R1', '--at', '2025-03-31T18:00:00Z']);
  expect(r1.code).toBe(0);
  await publish([
    member('ADH0000001', '2810669306301', 'n:D2:1', '5.30', 2),
    member('ADH0000002', '1680229242618', 'n:D3:1', '12.00'),
    member('ADH0000003', '1610192173864', 'n:D4:1', '25000.00'),
    member('ADH0000008', '1901238302667', 'n:D5:1', '40.00'),
  ]);
});

afterAll(async () => {
  await cleanup();
});

it('payments run prints where the report is and its summary; the JSON report is the hand-computed one and reconciles to the cent', async () => {
  const dir = join(home, 'payments', 'R2');
  const run = await cli(paymentsRun, ['--home', home, '--run-id', 'R2', '--at', '2025-04-30T18:00:00Z']);
  expect(run.code).toBe(0);
  expect(run.out).toContain(`report: ${join(dir, 'report.html')} (also ${join(dir, 'report.json')}, ${join(dir, 'report.csv')})`);
  expect(run.out).toContain('settled 25042.00 = transferred 12.00 (1, 1 pain.001) + held 25000.00 (1) + blocked 40.00 (1) − recovered 10.00 (1)');
  expect(run.out).toContain('reconciled to the cent');
  expect(run.out).toMatch(/blocked: member:ADH0000008 40\.00 \(1 line\(s\)\): member:ADH0000008: .+/);

  const report = RunReportSchema.parse(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')));
  expect(report.settled).toMatchObject({ count: 4, movement: '25042.00', paidBefore: '15.30' }); // D2 had 15.30 paid in R1
  expect(report.settled.lines.map((l) => [l.lineKey, l.movement])).toEqual([['n:D2:1', '-10.00'], ['n:D3:1', '12.00'], ['n:D4:1', '25000.00'], ['n:D5:1', '40.00']]);
  expect([report.transferred.total, report.held.total, report.blocked.total, report.recoveries.total]).toEqual(['12.00', '25000.00', '40.00', '10.00']);
  expect(report.transferred.files).toHaveLength(1);
  expect(report.transferred.files[0]!.fileName).toMatch(/^pain\.001\.001\.09-R2-.*\.xml$/);
  expect(report.transferred.orders[0]).toMatchObject({ payee: 'member:ADH0000002', amount: '12.00', messageId: report.transferred.files[0]!.messageId });
  expect(report.blocked.items).toEqual([expect.objectContaining({ payee: 'member:ADH0000008', amount: '40.00' })]);
  expect(report.debts).toEqual({ broughtForward: '0.00', carried: '10.00' });
  expect(report.reconciliation.checks[0]).toMatchObject({ left: '25042.00', right: '25042.00', holds: true });

  const csv = (await readFile(join(dir, 'report.csv'), 'utf8')).trimEnd().split('\n').map((l) => l.split(';'));
  expect(csv.slice(1).map((r) => [r[0], r[2], r[4]])).toEqual([
    ['transferred', 'member:ADH0000002', '12.00'],
    ['recovery', 'member:ADH0000001', '10.00'],
    ['held', 'member:ADH0000003', '25000.00'],
    ['blocked', 'member:ADH0000008', '40.00'],
  ]);

  const html = await readFile(join(dir, 'report.html'), 'utf8');
  expect(html).not.toMatch(/https?:\/\/|<script|<link|@import/i);
  expect(html).toContain('member:ADH0000008');
  expect(html).toContain(report.blocked.items[0]!.reason.replace(/'/g, '&#39;'));
  expect(html).not.toContain(FAMILY_IBAN);
  expect(await readFile(join(dir, 'report.json'), 'utf8')).not.toContain('FR7610278846735004444971779'); // ADH0000002's IBAN, masked
});

it('payments show <runId> --json includes the blocked payees with their reasons and the report files; the text names them too', async () => {
  const shown = await cli(showCommand, ['R2', '--home', home, '--json']);
  expect(shown.code).toBe(0);
  const out = JSON.parse(shown.out) as ShowOutput;
  expect(out.blocked).toEqual([{ payee: 'member:ADH0000008', amount: '40.00', reason: expect.stringContaining('member:ADH0000008') }]);
  expect(out.report).toMatchObject({ reconciled: true, settled: '25042.00', transferred: { count: 1, total: '12.00' } });
  expect(out.reportFiles?.html).toBe(join(home, 'payments', 'R2', 'report.html'));
  expect(out.summary?.transfers).toEqual({ count: 1, total: '12.00' });
  expect(shown.out).not.toContain('FR7610278846735004444971779');

  const text = await cli(showCommand, ['R2', '--home', home]);
  expect(text.out).toContain('blocked: member:ADH0000008 40.00: member:ADH0000008');
  expect(text.out).toContain(`report: ${join(home, 'payments', 'R2', 'report.html')}`);
});

it('payments run --json carries the report summary and paths; a run with nothing to pay still gets its report', async () => {
  const run = await cli(paymentsRun, ['--home', home, '--run-id', 'R3', '--at', '2025-05-31T18:00:00Z', '--json']);
  expect(run.code).toBe(0);
  const r = JSON.parse(run.out) as PaymentStageReport;
  // R3: nothing new. ADH0000003 still held (25 000.00, above the per-order ceiling) and ADH0000008
  // still blocked (40.00): neither decided again, nothing changed for them (session 24, parked) —
  // carried, outside the equation; ADH0000001 owes 10.00 and has no movement: its debt is not part
  // of this run → nothing settled
  expect(r.report).toMatchObject({ reconciled: true, settled: '0.00', held: { total: '0.00' }, blocked: { total: '0.00' }, carried: { count: 2, total: '25040.00' } });
  expect(r.carried.map((c) => [c.payee, c.amount, c.since, c.kind])).toEqual([['member:ADH0000003', '25000.00', 'R2', 'held'], ['member:ADH0000008', '40.00', 'R2', undefined]]);
  expect(r.reportFiles?.json).toBe(join(home, 'payments', 'R3', 'report.json'));
  const report = RunReportSchema.parse(JSON.parse(await readFile(r.reportFiles!.json, 'utf8')));
  expect(report.transferred.count).toBe(0);
  expect(report.carried?.items.map((c) => [c.payee, c.amount, c.since])).toEqual([['member:ADH0000003', '25000.00', 'R2'], ['member:ADH0000008', '40.00', 'R2']]);
  // finance still sees them: the report's CSV and HTML list them
  expect(await readFile(r.reportFiles!.csv, 'utf8')).toMatch(/^carried;;member:ADH0000008;;40\.00;.*blocked since R2/m);
  expect(await readFile(r.reportFiles!.csv, 'utf8')).toMatch(/^carried;;member:ADH0000003;;25000\.00;.*held since R2/m);
  expect(await readFile(r.reportFiles!.html, 'utf8')).toContain('Bloqué ou retenu depuis un paiement précédent (2)');
});
