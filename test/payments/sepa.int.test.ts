import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PaymentOrderSchema } from '../../src/model/payment.js';
import { executePaymentRun, planPaymentRun, planSepaFiles, runPayments, writeOrdersFile, writePain001File, writeRunFiles } from '../../src/payments/index.js';
import { DEBTOR_IBAN, ledgerWith, run, S, settled } from './given.js';

/**
 * A run written to disk: the pain.001 file streamed chunk by chunk is valid against the EPC XSD
 * (`xmllint --schema ../shared/xsd/pain.001.001.09.xsd`, Debian libxml2-utils, installed by
 * scripts/setup.sh) and its control sums match; the orders file is NDJSON that reads back into
 * valid orders; files appear whole under their name (temp + rename) and a file that would repeat
 * an EndToEndId handed over in another one is refused.
 */
const exec = promisify(execFile);
const XSD = join(import.meta.dirname, '..', '..', '..', 'shared', 'xsd', 'pain.001.001.09.xsd');
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
  await exec('xmllint', ['--noout', '--schema', XSD, path]);
  const doc = new XMLParser({ parseTagValue: false }).parse(await readFile(path, 'utf8')).Document.CstmrCdtTrfInitn;
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
  const bytes = await readFile(first.sepaFiles[0]!);
  await writeRunFiles(intent!, { handedOver: own });
  expect((await readFile(first.sepaFiles[0]!)).equals(bytes)).toBe(true);
  expect((await readdir(intent!.dir)).sort()).toEqual([basename(first.sepaFiles[0]!), 'orders.ndjson'].sort());
});
