import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { BankMessageSchema, parseBankMessage, sniffBankMessage } from '../../src/payments/bank-returns/parse.js';
import { RETURN_REASONS, returnReason } from '../../src/payments/bank-returns/reasons.js';
import { applyReturn, ibanHash, returnBlockProblem, transferRecordOf, type TransferRecord } from '../../src/payments/returns.js';
import { initialLedger, runPayments } from '../../src/payments/index.js';

const exec = promisify(execFile);
const FIX = 'fixtures/bank-returns';
const SCHEMAS = join(import.meta.dirname, '../../schemas');
const CAMT = `${FIX}/camt054-R1-return-A3.xml`;
const PAIN = `${FIX}/pain002-R1-reject-A2.xml`;

describe('reading camt.054 and pain.002', () => {
  it('camt.054: the return (RtrInf AC01) and the booked debit (acknowledged), records in document order', async () => {
    const m = parseBankMessage(await readFile(CAMT, 'utf8'), 'camt.xml');
    expect([m.format, m.version, m.messageId]).toEqual(['camt.054', '001.08', 'BNPP-C54-20250403-0042']);
    expect(m.transactions.map((t) => [t.record, t.status, t.reasonCode, t.amount])).toEqual([
      [1, 'acknowledged', null, '25.00'],
      [2, 'returned', 'AC01', '12.30'],
    ]);
  });

  it('pain.002: RJCT with AC04 and the original instructed amount', async () => {
    const m = parseBankMessage(await readFile(PAIN, 'utf8'), 'pain.xml');
    expect(m.transactions).toEqual([
      { record: 1, endToEndId: 'P6E5C1F1BE82D3B00E1E054622ECDB86B', status: 'rejected', reasonCode: 'AC04', amount: '40.50', path: 'OrgnlPmtInfAndSts[1]/TxInfAndSts[1]' },
    ]);
  });

  it('a status other than RJCT is an acknowledgement; a group rejection without transactions is kept as unattributed', () => {
    const doc = (body: string) => `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr><MsgId>M1</MsgId></GrpHdr>${body}</CstmrPmtStsRpt></Document>`;
    const accepted = parseBankMessage(doc('<OrgnlGrpInfAndSts><OrgnlMsgId>X</OrgnlMsgId><GrpSts>ACCP</GrpSts></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><TxInfAndSts><OrgnlEndToEndId>P1</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts></OrgnlPmtInfAndSts>'), 'f.xml');
    expect(accepted.transactions.map((t) => t.status)).toEqual(['acknowledged']);
    const rejectedWhole = parseBankMessage(doc('<OrgnlGrpInfAndSts><OrgnlMsgId>X</OrgnlMsgId><GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>'), 'f.xml');
    expect(rejectedWhole.unattributed).toEqual([{ path: 'OrgnlGrpInfAndSts', status: 'RJCT', reasonCode: 'FF01' }]);
  });

  it.each([
    ['not a bank message', '<decomptes/>', 'f.xml: Document/@xmlns: not a camt.054 or pain.002 message'],
    ['a version we do not read', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.99"/>', 'f.xml: Document/@xmlns: camt.054.001.99 is not a version we read'],
    ['not well-formed', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn></Document>', 'f.xml: Document: not well-formed XML'],
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "b">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"/>', 'f.xml: Document: a DOCTYPE is not allowed'],
    ['too deep', `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">${'<a>'.repeat(40)}${'</a>'.repeat(40)}</Document>`, 'f.xml: Document: elements nest deeper than 32 levels'],
    ['an amount in another currency', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr><MsgId>M</MsgId></GrpHdr><OrgnlGrpInfAndSts/><OrgnlPmtInfAndSts><TxInfAndSts><OrgnlEndToEndId>P1</OrgnlEndToEndId><TxSts>RJCT</TxSts><OrgnlTxRef><Amt><InstdAmt Ccy="CHF">1.00</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>', 'f.xml record 1: OrgnlPmtInfAndSts[1]/TxInfAndSts[1]/OrgnlTxRef/Amt/InstdAmt/@Ccy: currency "CHF" is not EUR'],
    ['an amount with three decimals', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId></GrpHdr><Ntfctn><Ntry><NtryDtls><TxDtls><Refs><EndToEndId>P1</EndToEndId></Refs><Amt Ccy="EUR">1.005</Amt></TxDtls></NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>', 'f.xml record 1: Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]/Amt: "1.005" is not an amount'],
  ])('refuses %s, naming file and field (PAYMENTS_RETURN_MALFORMED)', (_what, xml, message) => {
    expect(() => parseBankMessage(xml, 'f.xml')).toThrow(expect.objectContaining({ code: 'PAYMENTS_RETURN_MALFORMED', message: expect.stringContaining(message) }));
  });

  it('recognises a bank message by its root namespace, prefixed or not', () => {
    expect(sniffBankMessage('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">')).toEqual({ format: 'pain.002', version: '001.03' });
    expect(sniffBankMessage("<n:Document xmlns:n='urn:iso:std:iso:20022:tech:xsd:camt.054.001.02'>")).toEqual({ format: 'camt.054', version: '001.02' });
    expect(sniffBankMessage('<decomptes>')).toBeNull();
  });
});

describe('reason codes', () => {
  it('the codes of the brief are known, in French, and those about the account block the payee', () => {
    expect(['AC01', 'AC04', 'AC06', 'MD07', 'AM04', 'MS03'].map((c) => [c, RETURN_REASONS.get(c)?.blocks])).toEqual([['AC01', true], ['AC04', true], ['AC06', true], ['MD07', true], ['AM04', false], ['MS03', true]]);
    expect(returnReason('AC04').label).toBe('compte clos');
    expect(returnReason('ZZ99')).toEqual({ code: 'ZZ99', label: 'motif bancaire ZZ99 non répertorié', blocks: true });
  });
});

describe('undoing a returned transfer', () => {
  const transfer: TransferRecord = {
    paymentId: 'R1:member:A1', runId: 'R1', payee: 'member:A1', amount: '30.00', debtBefore: '5.00', ibanHash: 'h', ibanMasked: 'FR76…0130',
    lines: [{ lineKey: 'L1', version: 1, amount: '20.00' }, { lineKey: 'L2', version: 2, amount: '15.00' }],
  };
  const paid = (a: string, b: string) => ({
    ...initialLedger(),
    lines: { L1: { settlement: null, tp: null, paid: { 'member:A1': a } }, L2: { settlement: null, tp: null, paid: { 'member:A1': b } } },
  });

  it('takes back each line movement and owes again the debt the order had absorbed (30.00 = 20.00 + 15.00 − 5.00)', () => {
    const after = applyReturn(paid('20.00', '15.00'), transfer, { code: 'AM04', file: 'f', record: 1, endToEndId: 'E' });
    // L1: 20.00 − 20.00 = 0.00; L2: 15.00 − 15.00 = 0.00; debt 0 + 5.00 → the next run moves 35.00 − 5.00 = 30.00
    expect([after.lines.L1!.paid, after.lines.L2!.paid, after.debts]).toEqual([{ 'member:A1': '0.00' }, { 'member:A1': '0.00' }, { 'member:A1': '5.00' }]);
    expect(after.due).toEqual({ L1: true, L2: true });
    // AM04 is not about the payee's account: no block
    expect(after.returnBlocks).toEqual({});
  });

  it('an account reason blocks the payee on that account only', () => {
    const after = applyReturn(paid('20.00', '15.00'), { ...transfer, ibanHash: ibanHash('FR7630002005500000000000130') }, { code: 'AC04', file: 'f', record: 3, endToEndId: 'E' });
    const block = after.returnBlocks!['member:A1'];
    expect(returnBlockProblem(block, 'FR76 3000 2005 5000 0000 0000 130')).toBe('returned by the bank: AC04 compte clos (R1:member:A1, account FR76…0130 unchanged)');
    expect(returnBlockProblem(block, 'FR7630002005500000000000227')).toBeNull();
  });
});

describe('schemas', () => {
  it.each([
    ['camt.054.001.08-returns.xsd', CAMT],
    ['pain.002.001.10-returns.xsd', PAIN],
  ])('the golden file is valid against schemas/%s (xmllint)', async (xsd, file) => {
    const { stderr } = await exec('xmllint', ['--noout', '--schema', join(SCHEMAS, xsd), file]);
    expect(stderr).toContain('validates');
  });

  it('schemas/bank-return-message.schema.json matches the reader\'s zod schema (UPDATE_SCHEMAS=1 rewrites)', async () => {
    const { title, description, ...body } = z.toJSONSchema(BankMessageSchema, { io: 'output' }) as { title?: string; description?: string; [k: string]: unknown };
    const expected = `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'bank-return-message.schema.json', title, description: `GENERATED from src/payments/bank-returns/parse.ts (BankMessageSchema), do not edit (test/payments/bank-returns.test.ts compares; UPDATE_SCHEMAS=1 rewrites). ${description ?? ''}`.trim(), ...body }, null, 2)}\n`;
    const path = join(SCHEMAS, 'bank-return-message.schema.json');
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(path, expected);
    expect(await readFile(path, 'utf8')).toBe(expected);
  });
});

describe('a returned transfer that had absorbed a debt, through runs', () => {
  it('R1 pays 20.00 + 15.00 − 5.00 debt = 30.00; returned (AC04); R2 blocks 30.00 on the same account; R3 pays 30.00 to the new one under another EndToEndId; R4 nothing', () => {
    const facts = (amcAmount: string) => ({ version: 1, status: 'paid' as const, annulled: false, tiersPayant: false, adherentId: 'A1', amcAmount });
    const ledger = {
      ...initialLedger(),
      lines: { L1: { settlement: facts('20.00'), tp: null, paid: {} }, L2: { settlement: facts('15.00'), tp: null, paid: {} } },
      due: { L1: true as const, L2: true as const },
      debts: { 'member:A1': '5.00' },
    };
    const book = (iban: string) => ({ members: { A1: { iban, bic: null, name: 'Paul Martin' } }, professionals: {} });
    const OLD = 'FR7630002005500000000000130';
    const NEW = 'FR7630002005500000000000421';
    const r1 = runPayments(ledger, { runId: 'R1', at: '2025-03-31T18:00:00Z', accounts: book(OLD) });
    expect(r1.orders.map((o) => [o.amount, o.debtBefore, o.debtAfter])).toEqual([['30.00', '5.00', '0.00']]);
    const returned = applyReturn(r1.ledger, transferRecordOf(r1.orders[0]!)!, { code: 'AC04', file: 'camt.xml', record: 1, endToEndId: r1.orders[0]!.endToEndId });
    const r2 = runPayments(returned, { runId: 'R2', at: '2025-04-04T18:00:00Z', accounts: book(OLD) });
    expect(r2.orders).toEqual([]);
    expect(r2.blocked.map((b) => [b.amount, b.reason])).toEqual([['30.00', 'member:A1: returned by the bank: AC04 compte clos (R1:member:A1, account FR76…0130 unchanged)']]);
    const r3 = runPayments(r2.ledger, { runId: 'R3', at: '2025-04-07T18:00:00Z', accounts: book(NEW) });
    // movements 20.00 + 15.00 again, less the 5.00 debt owed again = 30.00
    expect(r3.orders.map((o) => [o.amount, o.iban, o.debtBefore])).toEqual([['30.00', NEW, '5.00']]);
    expect(r3.orders[0]!.endToEndId).not.toBe(r1.orders[0]!.endToEndId);
    expect(r3.ledger.returnBlocks).toEqual({});
    expect(runPayments(r3.ledger, { runId: 'R4', at: '2025-04-08T18:00:00Z', accounts: book(NEW) }).orders).toEqual([]);
  });
});
