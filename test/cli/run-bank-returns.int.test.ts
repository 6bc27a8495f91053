import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { SAMPLE_REFERENCE } from '../../src/cli/reference.js';
import { camt054Return } from '../support/camt054.js';
import { runNoemie } from '../support/cli.js';

const run = runNoemie;

interface Order { payee: string; kind: string; amount: string; iban: string | null; endToEndId: string; transfer: boolean }
const ordersOf = async (out: string): Promise<Order[]> => {
  const file = /orders: +(.+\.ndjson)/.exec(out)?.[1];
  return file === undefined ? [] : (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Order);
};

it('noemie run --once, end to end: a camt.054 return in the inbox → the family blocked on its account → its account changes → paid once', async () => {
  const home = await mkdtemp(join(tmpdir(), 'run-returns-'));
  onTestFinished(() => rm(home, { recursive: true, force: true }));
  const base = ['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '2'];
  const first = await run([...base, '--sample']);
  expect(first.code).toBe(0);
  const member = (await ordersOf(first.out)).find((o) => o.payee.startsWith('member:') && o.transfer)!;
  expect(member).toBeDefined();

  // given the bank returns that family's transfer (account closed)
  await writeFile(join(home, 'inbox', 'camt054-20250403.xml'), camt054Return({ endToEndId: member.endToEndId, amount: member.amount, messageId: 'BANK-C54-E2E-1' }));
  const second = await run(base);
  expect(second.code).toBe(0);
  expect(second.out).toContain(`camt054-20250403.xml: camt.054 BANK-C54-E2E-1: 1 returned, 0 acknowledged, 0 exception(s)`);
  // then the next payment run does not pay it to the same account, and says why
  expect(second.out).toMatch(/payment run \S+: 0 orders/);
  expect(second.out).toContain(`blocked: ${member.amount} — ${member.payee}: returned by the bank: AC04 compte clos`);
  expect((await readdir(join(home, 'archive'))).some((f) => f.endsWith('-camt054-20250403.xml'))).toBe(true);

  // when the family's account changes (the beneficiaries file gives another IBAN)
  const csv = await readFile(SAMPLE_REFERENCE.beneficiaries, 'utf8');
  expect(csv).toContain(member.iban!);
  const NEW_IBAN = 'FR7630002005500000000000421';
  const changed = join(home, 'beneficiaries.csv');
  await writeFile(changed, csv.replaceAll(member.iban!, NEW_IBAN));
  const third = await run([...base, '--beneficiaries', changed]);
  expect(third.code).toBe(0);
  // then exactly the returned amount is paid, once, to the new account
  expect((await ordersOf(third.out)).map((o) => [o.payee, o.kind, o.amount, o.iban])).toEqual([[member.payee, 'payment', member.amount, NEW_IBAN]]);
  const fourth = await run([...base, '--beneficiaries', changed]);
  expect(fourth.out).toMatch(/payment run \S+: 0 orders/);
}, 240_000);
