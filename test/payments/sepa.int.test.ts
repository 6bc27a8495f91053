import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PaymentOrderSchema } from '../../src/model/payment.js';
import { executePaymentRun, planPaymentRun, planSepaFiles, runPayments, writeOrdersFile, writePain001File, writeRunFiles } from '../../src/payments/index.js';
import { validPain001 } from '../support/pain001.js';
import { DEBTOR_IBAN, ledgerWith, run, S, settled } from './given.js';

/**
 * A run written to disk: the pain.001 file streamed chunk by chunk is valid against the EPC XSD
 * (test/support/pain001.ts: `xmllint --schema ../shared/xsd/pain.001.001.09.xsd`, Debian
 * libxml2-utils, installed by scripts/setup.sh) and its control sums match; the orders file is NDJSON that reads back into
 * valid orders; files appear whole under their name (temp + rename) and a file that would repeat
 * an EndToEndId handed over in another one is refused.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sepa-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('writes the run’s pain.001 and orders files', async () => {
  // one family, two lines: 9.00 + 25.20 = 34.20 in one transfer
  const lines = [
    settled({ lineKey: 'a:1:1', adherentId: 'A001', amcAmount: '9.00' }),
    settled({ lineKey: 'a:2:1', adherentId: 'A001', amcAmount: '25.20' }),
  ];
  const r = runPayments(ledgerWith(lines.map(S)), run('R-2025-03'));
  const [file] = planSepaFiles({ runId: 'R-2025-03', createdAt: '2025-03-31T18:00:00Z', executionDate: '2025-04-01', initiatingParty: 'Mutuelle & Co', orders: r.orders, debtorOf: () => ({ name: 'Mutuelle', iban: DEBTOR_IBAN, bic: null }) });
  const path = join(dir, file!.fileName);
  await writePain001File(path, file!);
  const { doc } = await validPain001(path);
  expect(doc.GrpHdr.NbOfTxs).toBe('1');
  expect(doc.GrpHdr.CtrlSum).toBe('34.20');
  expect(doc.GrpHdr.InitgPty.Nm).toBe('Mutuelle Co');

  const ordersPath = join(dir, 'orders.ndjson');
  await writeOrdersFile(ordersPath, r.orders);
  const back = (await readFile(ordersPath, 'utf8')).trim().split('\n').map((l) => PaymentOrderSchema.parse(JSON.parse(l)));
  expect(back).toEqual(r.orders);
});

it('executePaymentRun: a dry run writes nothing; a real run writes its files; running again writes none', async () => {
  const ledger = ledgerWith([S(settled({ amcAmount: '9.00' }))]);
  const options = { ...run('R7'), outDir: join(dir, 'runs'), executionDate: '2025-04-01', initiatingParty: 'Mutuelle', debtorOf: () => ({ name: 'Mutuelle', iban: DEBTOR_IBAN, bic: null }) };
  const dry = await executePaymentRun(ledger, { ...options, dryRun: true });
  expect(dry.result.orders).toHaveLength(1);
  expect(dry.ordersFile).toBeNull();
  await expect(readdir(options.outDir)).rejects.toMatchObject({ code: 'ENOENT' });
  const real = await executePaymentRun(ledger, { ...options, dryRun: false });
  expect(real.sepaFiles).toHaveLength(1);
  await validPain001(real.sepaFiles[0]!);
  expect((await readdir(join(options.outDir, 'R7'))).sort()).toEqual(['orders.ndjson', basename(real.sepaFiles[0]!)].sort());
  const again = await executePaymentRun(real.result.ledger, { ...options, runId: 'R8', dryRun: false });
  expect(again.result.orders).toEqual([]);
  expect(again.sepaFiles).toEqual([]);
});

it('writeRunFiles refuses a pain.001 that would repeat an EndToEndId handed over in another file, before it has a name', async () => {
  const ledger = ledgerWith([S(settled({ amcAmount: '9.00' }))]);
  const options = { ...run('R9'), outDir: join(dir, 'dup'), executionDate: '2025-04-01', initiatingParty: 'Mutuelle', debtorOf: () => ({ name: 'Mutuelle', iban: DEBTOR_IBAN, bic: null }) };
  const { intent } = planPaymentRun(ledger, options);
  const id = intent!.files[0]!.endToEndIds[0]!;
  await expect(writeRunFiles(intent!, { handedOver: { [id]: 'NOEANOTHERFILE' } })).rejects.toMatchObject({ code: 'PAYMENTS_DUPLICATE_END_TO_END' });
  expect(await readdir(intent!.dir)).toEqual([]);
  // with its own MsgId in the index, the same intent is written, twice over, to the same bytes, no temp file left
  const own = { [id]: intent!.files[0]!.messageId };
  const first = await writeRunFiles(intent!, { handedOver: own });
  await validPain001(first.sepaFiles[0]!);
  const bytes = await readFile(first.sepaFiles[0]!);
  await writeRunFiles(intent!, { handedOver: own });
  expect((await readFile(first.sepaFiles[0]!)).equals(bytes)).toBe(true);
  expect((await readdir(intent!.dir)).sort()).toEqual([basename(first.sepaFiles[0]!), 'orders.ndjson'].sort());
});

it('names in any script, an initiating party with an id, a Good Friday cut-off: the file is valid against the EPC XSD', async () => {
  const lines = [
    settled({ lineKey: 'x:1:1', adherentId: 'A001', amcAmount: '9.00', careDate: '2025-04-01' }),
    settled({ lineKey: 'x:2:1', adherentId: 'A001', amcAmount: '1.00', careDate: '2025-04-10' }),
  ];
  const accounts = { members: { A001: { iban: 'FR7630006000011234567890189', bic: null, name: '李小龙' } }, professionals: {} };
  const r = runPayments(ledgerWith(lines.map(S)), { ...run('R-GF', '2025-04-18'), accounts });
  const [file] = planSepaFiles({ runId: 'R-GF', createdAt: '2025-04-18T18:00:00Z', executionDate: '2025-04-22', initiatingParty: 'Μutuelle Ελληνική', initiatingPartyId: { id: 'CLIENT0042', scheme: 'CUST' }, orders: r.orders, debtorOf: () => ({ name: 'Мутуэль', iban: DEBTOR_IBAN, bic: null }) });
  const path = join(dir, file!.fileName);
  await writePain001File(path, file!);
  const { doc, transactions } = await validPain001(path);
  expect(doc.GrpHdr.InitgPty.Nm).toBe('Mutuelle Elliniki');
  expect(doc.PmtInf[0]!.Dbtr.Nm).toBe('Mutuel');
  expect(transactions.map((t) => [t.Cdtr.Nm, t.RmtInf.Ustrd])).toEqual([['Adherent A001', 'Remboursement sante - soins du 01/04/2025 au 10/04/2025 - adherent A001 - ref. R-GF']]);
});
