import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { returnsCommand, showCommand } from '../../src/cli/commands/payments.js';
import { CLI_OUTPUTS } from '../../src/cli/output-schemas.js';
import { ensureLayout, inboxLayout, isBankReturnName } from '../../src/ingest/inbox/index.js';
import { applyInboxBankReturns } from '../../src/pipeline/bank-returns.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { accounts, IBAN, settlements } from './bank-returns-given.js';
import { tempDir } from './stages-given.js';
import { runCommand } from '../support/cli.js';

/** Bank returns as ops meet them: files in the inbox (`noemie run`'s pass), `payments returns`, `payments show`. */
let home = '';
let cleanup: () => Promise<void>;
let bus: Bus;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('returns-cli-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  await bus.produce('settlements', settlements().map((value) => ({ value })));
  await runPaymentStage({ bus, home, accounts: accounts(), runId: 'R1', at: '2025-03-31T18:00:00Z' });
});

afterEach(async () => {
  await bus.close();
  await cleanup();
});

const cli = runCommand;

it('the inbox scanner leaves bank files to the returns pass (by name)', () => {
  expect(['camt054_20250403.xml', 'CAMT.054-x.xml', 'pain002-R1.xml', 'pain.002.xml'].map(isBankReturnName)).toEqual([true, true, true, true]);
  expect(['decomptes.xml', 'pain001.xml', 'camt054.csv'].map(isBankReturnName)).toEqual([false, false, false]);
});

it("noemie run's inbox pass: a pain.002 recognised by its namespace is applied and archived; a malformed camt.054 is quarantined, nothing applied", async () => {
  const layout = inboxLayout(home);
  await ensureLayout(layout);
  await copyFile('fixtures/bank-returns/pain002-R1-reject-A2.xml', join(layout.inbox, 'BNPP-status-20250401.xml'));
  const camt = await readFile('fixtures/bank-returns/camt054-R1-return-A3.xml', 'utf8');
  await writeFile(join(layout.inbox, 'camt054-20250403.xml'), camt.replace('<Amt Ccy="EUR">12.30</Amt>\n            <CdtDbtInd>CRDT', '<Amt Ccy="USD">12.30</Amt>\n            <CdtDbtInd>CRDT'));
  const now = new Date('2025-04-03T08:00:00Z');

  const done = await applyInboxBankReturns(layout, { now: () => now });

  expect(done.map((d) => [d.file, d.storedAs, d.report?.returned.length ?? null])).toEqual([
    ['BNPP-status-20250401.xml', 'archive/20250403T080000Z-BNPP-status-20250401.xml', 1],
    ['camt054-20250403.xml', 'quarantine/20250403T080000Z-camt054-20250403.xml', null],
  ]);
  expect(done[1]!.error).toBe('camt054-20250403.xml record 2: Ntfctn[1]/Ntry[2]/NtryDtls[1]/TxDtls[1]/Amt/@Ccy: currency "USD" is not EUR');
  expect(existsSync(join(home, 'quarantine/20250403T080000Z-camt054-20250403.xml.errors.json'))).toBe(true);
  expect(await readdir(layout.inbox)).toEqual([]);

  // show: A2 blocked on its returned account (masked), nothing for A3 (its file was refused)
  const shown = JSON.parse((await cli(showCommand, ['--home', home, '--json'])).out) as { returns: { blocked: { payee: string; code: string; ibanMasked: string }[] } };
  expect(shown.returns.blocked.map((b) => [b.payee, b.code, b.ibanMasked])).toEqual([['member:A2', 'AC04', 'FR76…0227']]);
  expect(JSON.stringify(shown)).not.toContain(IBAN.A2);
});

it('payments returns: applies a file, a second time says duplicate; an unknown id is an exception that payments show lists', async () => {
  const first = await cli(returnsCommand, ['--home', home, 'fixtures/bank-returns/camt054-R1-return-A3.xml']);
  expect(first.code).toBe(0);
  expect(first.out).toContain('1 returned, 1 acknowledged, 0 exception(s)');
  expect(first.out).toContain('R1:member:A3 12.30 — AC01 identifiant de compte incorrect (IBAN erroné); member:A3 blocked until its account changes');
  const again = await cli(returnsCommand, ['--home', home, 'fixtures/bank-returns/camt054-R1-return-A3.xml']);
  expect(again.out).toContain('duplicate');

  const unknown = join(home, 'pain002-unknown.xml');
  await writeFile(unknown, (await readFile('fixtures/bank-returns/pain002-R1-reject-A2.xml', 'utf8')).replace(/<OrgnlEndToEndId>[^<]+</, '<OrgnlEndToEndId>PNOTOURS0000000000000000000000000<'));
  const third = await cli(returnsCommand, ['--home', home, unknown]);
  expect(third.code).toBe(0);
  expect(third.out).toContain('EXCEPTION record 1 (OrgnlPmtInfAndSts[1]/TxInfAndSts[1]): unknown EndToEndId PNOTOURS0000000000000000000000000');

  const shown = await cli(showCommand, ['--home', home]);
  expect(shown.out).toContain('bank returns: 1 returned transfer(s), 1 payee(s) blocked, 1 exception(s)');
  expect(shown.out).toContain('blocked: member:A3 — returned by the bank: AC01');
  expect(shown.out).toContain('EXCEPTION: pain002-unknown.xml record 1');

  const broken = join(home, 'pain002-broken.xml');
  await writeFile(broken, '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr><MsgId>X</MsgId></GrpHdr></CstmrPmtStsRpt></Document>');
  const refused = await cli(returnsCommand, ['--home', home, broken]);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain('PAYMENTS_RETURN_MALFORMED: pain002-broken.xml: CstmrPmtStsRpt/OrgnlGrpInfAndSts: missing — nothing of this file applied');
});

it('payments returns --json: one document, the report of each file (schemas/cli/payments-returns.schema.json); payments show --json likewise', async () => {
  const unknown = join(home, 'pain002-unknown.xml');
  await writeFile(unknown, (await readFile('fixtures/bank-returns/pain002-R1-reject-A2.xml', 'utf8')).replace(/<OrgnlEndToEndId>[^<]+</, '<OrgnlEndToEndId>PNOTOURS0000000000000000000000000<'));
  const r = await cli(returnsCommand, ['--home', home, 'fixtures/bank-returns/camt054-R1-return-A3.xml', unknown, '--json']);
  expect(r.code, r.err).toBe(0);
  const reports = CLI_OUTPUTS['payments returns'].parse(JSON.parse(r.out));
  expect(reports.map((x) => [x.file, x.format, x.returned.map((t) => [t.paymentId, t.amount, t.code, t.blocks]), x.exceptions.map((e) => e.record)])).toEqual([
    ['camt054-R1-return-A3.xml', 'camt.054', [['R1:member:A3', '12.30', 'AC01', true]], []],
    ['pain002-unknown.xml', 'pain.002', [], [1]],
  ]);
  const shown = CLI_OUTPUTS['payments show'].parse(JSON.parse((await cli(showCommand, ['R1', '--home', home, '--json'])).out));
  expect(shown.runId).toBe('R1');
  expect(shown.returns.blocked.map((b) => b.payee)).toEqual(['member:A3']);
  expect(r.out + JSON.stringify(shown)).not.toContain(IBAN.A3);
});
