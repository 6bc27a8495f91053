import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { command as paymentsRun, showCommand } from '../../src/cli/commands/payments.js';
import { settlement, tempDir } from './stages-given.js';

/**
 * `noemie payments run` / `payments show` as the CLI runs them, on an embedded bus in a temp home,
 * with the sample's beneficiaries (ADH0000001's IBAN FR7620041344599806394842283 on the adhérent's row).
 */
const FAMILY_IBAN = 'FR7620041344599806394842283';
let home = '';
let cleanup: () => Promise<void>;

async function cli(cmd: typeof paymentsRun, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (c: Buffer) => o.push(c));
  err.on('data', (c: Buffer) => e.push(c));
  const code = await cmd.run(argv, { out, err });
  return { code, out: Buffer.concat(o).toString('utf8'), err: Buffer.concat(e).toString('utf8') };
}

beforeAll(async () => {
  ({ dir: home, cleanup } = await tempDir('payments-cli-'));
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const member = { adherentId: 'ADH0000001', tp: '00' as const, payee: 'member' as const };
  await bus.produce('settlements', [
    { value: settlement({ ...member, lineKey: 'n:D1:1', beneficiary: { nir: '1870459280378', rang: 1 }, amcAmount: '9.00' }) },
    { value: settlement({ ...member, lineKey: 'n:D2:1', beneficiary: { nir: '2810669306301', rang: 1 }, amcAmount: '15.30' }) },
  ]);
  await bus.close();
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
