import { Decimal } from 'decimal.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { PaymentOrder } from '../../src/model/payment.js';
import { PAIN_001_NS, payeeLabel, PaymentsError, planSepaFiles, remittanceText, renderPain001, runPayments, sepaText } from '../../src/payments/index.js';
import { DEBTOR_IBAN, FAMILY_IBAN, ledgerWith, run, S, settled } from './given.js';

const DEBTOR = { name: 'Mutuelle Exemple', iban: DEBTOR_IBAN, bic: 'SOGEFRPP' };

function order(over: Partial<PaymentOrder> & Pick<PaymentOrder, 'amount' | 'payee'>): PaymentOrder {
  return {
    paymentId: `R1:${over.payee}`,
    runId: 'R1',
    iban: FAMILY_IBAN,
    bic: null,
    name: 'Élodie Martin',
    endToEndId: `P${over.payee.replace(/[^A-Za-z0-9]/g, '')}`,
    lineKeys: ['k1'],
    kind: 'payment',
    transfer: true,
    lines: [{ lineKey: 'k1', version: 1, amount: over.amount }],
    debtBefore: '0.00',
    debtAfter: '0.00',
    at: '2025-03-31T18:00:00.000Z',
    ...over,
  };
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (name) => name === 'CdtTrfTxInf' || name === 'PmtInf' });

function parse(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml).Document;
}

describe('SEPA pain.001.001.09', () => {
  const orders = [
    order({ payee: 'member:A001', amount: '34.20' }),
    order({ payee: 'member:A002', amount: '0.10', bic: 'AGRIFRPP' }),
    order({ payee: 'ps:751234567', amount: '1234567.89', name: 'Cabinet Dr Dupont & Fils' }),
  ];
  const file = { messageId: 'NOE1', paymentInfoId: 'PMT1', createdAt: '2025-03-31T18:00:00.000Z', executionDate: '2025-04-01', initiatingParty: 'Mutuelle Exemple', debtor: DEBTOR, orders };

  it('NbOfTxs and CtrlSum, read back from the XML, equal the orders', () => {
    // 34.20 + 0.10 + 1 234 567.89 = 1 234 602.19, 3 transactions
    const doc = parse(renderPain001(file));
    expect(doc['@_xmlns']).toBe(PAIN_001_NS);
    const init = doc.CstmrCdtTrfInitn;
    expect(init.GrpHdr.NbOfTxs).toBe('3');
    expect(init.GrpHdr.CtrlSum).toBe('1234602.19');
    const pmtInf = init.PmtInf[0];
    expect(pmtInf.NbOfTxs).toBe('3');
    expect(pmtInf.CtrlSum).toBe('1234602.19');
    const txs = pmtInf.CdtTrfTxInf as { Amt: { InstdAmt: { '#text': string; '@_Ccy': string } }; PmtId: { EndToEndId: string } }[];
    expect(txs).toHaveLength(orders.length);
    const sum = txs.reduce((s, t) => s.plus(t.Amt.InstdAmt['#text']), new Decimal(0));
    expect(sum.toFixed(2)).toBe(init.GrpHdr.CtrlSum);
    expect(txs.map((t) => t.PmtId.EndToEndId)).toEqual(orders.map((o) => o.endToEndId));
    expect(txs.every((t) => t.Amt.InstdAmt['@_Ccy'] === 'EUR')).toBe(true);
  });

  it('carries the pain.001.001.09 element names and order', () => {
    const xml = renderPain001(file);
    // v09 names the agent BICFI (BIC before v08) and nests the execution date in Dt
    expect(xml).toContain('<ReqdExctnDt><Dt>2025-04-01</Dt></ReqdExctnDt>');
    expect(xml).toContain('<DbtrAgt><FinInstnId><BICFI>SOGEFRPP</BICFI></FinInstnId></DbtrAgt>');
    expect(xml).toContain('<CreDtTm>2025-03-31T18:00:00Z</CreDtTm>');
    expect(xml.indexOf('<GrpHdr>')).toBeLessThan(xml.indexOf('<PmtInf>'));
    const batch = xml.slice(xml.indexOf('<PmtInf>'));
    const order = ['<PmtInfId>', '<PmtMtd>TRF', '<BtchBookg>', '<NbOfTxs>', '<CtrlSum>', '<PmtTpInf>', '<ReqdExctnDt>', '<Dbtr>', '<DbtrAcct>', '<DbtrAgt>', '<ChrgBr>SLEV', '<CdtTrfTxInf>'];
    const positions = order.map((tag) => batch.indexOf(tag));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const tx = xml.slice(xml.indexOf('<CdtTrfTxInf>'), xml.indexOf('</CdtTrfTxInf>'));
    const txOrder = ['<PmtId>', '<Amt>', '<Cdtr>', '<CdtrAcct>', '<RmtInf>'].map((t) => tx.indexOf(t));
    expect([...txOrder].sort((a, b) => a - b)).toEqual(txOrder);
  });

  it('names are written in the SEPA character set', () => {
    const doc = parse(renderPain001(file));
    const names = doc.CstmrCdtTrfInitn.PmtInf[0].CdtTrfTxInf.map((t: { Cdtr: { Nm: string } }) => t.Cdtr.Nm);
    expect(names).toEqual(['Elodie Martin', 'Elodie Martin', 'Cabinet Dr Dupont Fils']);
  });

  it('refuses a recovery, a zero amount or a bad debtor account', () => {
    expect(() => renderPain001({ ...file, orders: [order({ payee: 'member:A1', amount: '5.00', kind: 'recovery', transfer: false })] })).toThrow(PaymentsError);
    expect(() => renderPain001({ ...file, orders: [order({ payee: 'member:A1', amount: '0.00' })] })).toThrow(/not a credit transfer/);
    try {
      renderPain001({ ...file, debtor: { ...DEBTOR, iban: 'FR7630004000031234567890144' } });
      expect.unreachable();
    } catch (e) {
      expect((e as PaymentsError).code).toBe('SEPA_BAD_DEBTOR');
    }
  });

  it('one file per run and debtor account; recoveries are not transfers', () => {
    const all = [...orders, order({ payee: 'member:A009', amount: '3.00', kind: 'recovery', transfer: false })];
    const membersAccount = DEBTOR;
    const psAccount = { name: 'Mutuelle Exemple TP', iban: 'FR7610107001011234567890129', bic: null };
    const files = planSepaFiles({ runId: 'R1', createdAt: file.createdAt, executionDate: '2025-04-01', initiatingParty: 'Mutuelle Exemple', orders: all, debtorOf: (o) => (o.payee.startsWith('ps:') ? psAccount : membersAccount) });
    expect(files.map((f) => f.orders.map((o) => o.payee))).toEqual([['member:A001', 'member:A002'], ['ps:751234567']]);
    expect(new Set(files.map((f) => f.messageId)).size).toBe(2);
    expect(files.every((f) => f.messageId.length <= 35 && f.paymentInfoId.length <= 35)).toBe(true);
    // planning the same run again gives the same message ids (a bank refuses a MsgId twice)
    expect(planSepaFiles({ runId: 'R1', createdAt: file.createdAt, executionDate: '2025-04-01', initiatingParty: 'x', orders: all, debtorOf: () => membersAccount })[0]!.messageId).toBe(files[0]!.messageId);
    // no BIC for the debtor: the agent is "NOTPROVIDED" (IBAN-only SEPA)
    expect(renderPain001(files[1]!)).toContain('<Othr><Id>NOTPROVIDED</Id></Othr>');
  });

  it('from a real run: the family order becomes one transfer', () => {
    const r = runPayments(ledgerWith([S(settled({ amcAmount: '9.00' })), S(settled({ lineKey: 'noemie-011751001:D2:1', amcAmount: '25.20' }))]), run('R1'));
    const [f] = planSepaFiles({ runId: 'R1', createdAt: '2025-03-31T18:00:00.000Z', executionDate: '2025-04-01', initiatingParty: 'M', orders: r.orders, debtorOf: () => DEBTOR });
    const doc = parse(renderPain001(f!));
    expect(doc.CstmrCdtTrfInitn.GrpHdr).toMatchObject({ NbOfTxs: '1', CtrlSum: '34.20' });
    expect(doc.CstmrCdtTrfInitn.PmtInf[0].CdtTrfTxInf[0].CdtrAcct.Id.IBAN).toBe(FAMILY_IBAN);
  });
});

describe('sepaText', () => {
  it('transliterates and cuts', () => {
    expect(sepaText('Zoé Müller-Øberg & Cie', 70)).toBe('Zoe Muller-Oberg Cie');
    expect(sepaText('Straße «Œuvre»', 70)).toBe('Strasse OEuvre');
    expect(sepaText('abcdef', 3)).toBe('abc');
  });

  it('transliterates Greek and Cyrillic letters, keeps the capitals', () => {
    // Γ-ι-ώ-ρ-γ-ο-ς → G-i-o-r-g-o-s (tonos dropped); Π-α-π-α-δ-ό-π-ο-υ-λ-ο-ς → P-a-p-a-d-o-p-o-u-l-o-s
    expect(sepaText('Γιώργος Παπαδόπουλος', 70)).toBe('Giorgos Papadopoulos');
    // Б-р-ю-с → B-r-iu-s, Л-и → L-i; Щ-е-д-р-и-н → Shch-e-d-r-i-n
    expect(sepaText('Брюс Ли', 70)).toBe('Brius Li');
    expect(sepaText('Щедрин', 70)).toBe('Shchedrin');
  });

  it('typographic dashes and apostrophes are kept as their SEPA forms', () => {
    expect(sepaText('Remboursement santé — soins', 140)).toBe('Remboursement sante - soins');
    expect(sepaText('Cabinet d’Orthodontie', 70)).toBe("Cabinet d'Orthodontie");
  });

  it('a text with no Latin, Greek or Cyrillic letter falls back to the identifier given, never to empty', () => {
    expect(sepaText('李小龙', 70)).toBe('');
    expect(sepaText('李小龙', 70, payeeLabel('member:A001'))).toBe('Adherent A001');
    expect(sepaText('محمد', 70, payeeLabel('ps:751234567'))).toBe('PS 751234567');
    expect(sepaText('★', 70, 'A001')).toBe('A001');
  });
});

describe('names and remittance in the file', () => {
  const DEBTOR_FILE = { messageId: 'NOE1', paymentInfoId: 'PMT1', createdAt: '2025-03-31T18:00:00.000Z', executionDate: '2025-03-31', initiatingParty: 'Mutuelle Exemple', debtor: DEBTOR };

  it('a payee whose name has no Latin letter is named by its identifier: no empty <Nm/>', () => {
    const xml = renderPain001({ ...DEBTOR_FILE, orders: [order({ payee: 'member:A001', amount: '9.00', name: '李小龙' }), order({ payee: 'ps:751234567', amount: '19.00', name: 'Брюс Ли' })] });
    expect(xml).not.toContain('<Nm/>');
    expect(xml).not.toContain('<Nm></Nm>');
    const txs = parse(xml).CstmrCdtTrfInitn.PmtInf[0].CdtTrfTxInf as { Cdtr: { Nm: string } }[];
    expect(txs.map((t) => t.Cdtr.Nm)).toEqual(['Adherent A001', 'Brius Li']);
  });

  it('the remittance text says what is paid: the care period, the adhérent, the run', () => {
    const member = order({ payee: 'member:A001', amount: '34.20', careFrom: '2025-03-03', careTo: '2025-03-10', lineKeys: ['k1', 'k2'] });
    expect(remittanceText(member)).toBe('Remboursement sante - soins du 03/03/2025 au 10/03/2025 - adherent A001 - ref. R1');
    expect(remittanceText({ ...member, careTo: '2025-03-03' })).toBe('Remboursement sante - soins du 03/03/2025 - adherent A001 - ref. R1');
    const ps = order({ payee: 'ps:751234567', amount: '19.00', careFrom: '2025-03-03', careTo: '2025-03-03', lineKeys: ['k1', 'k2', 'k3'] });
    expect(remittanceText(ps)).toBe('Tiers payant - soins du 03/03/2025 - 3 acte(s) - PS 751234567 - ref. R1');
    // an order of a ledger written before care dates were kept: the count of acts instead
    expect(remittanceText(order({ payee: 'member:A001', amount: '9.00', lineKeys: ['k1', 'k2'] }))).toBe('Remboursement sante - 2 acte(s) - adherent A001 - ref. R1');
    // at most 140 characters (Ustrd), whatever the run id
    const long = remittanceText({ ...member, runId: 'R'.repeat(200) });
    expect(long.length).toBeLessThanOrEqual(140);
    expect(long.startsWith('Remboursement sante - soins du 03/03/2025 au 10/03/2025 - adherent A001 - ref. RRR')).toBe(true);
    const tx = parse(renderPain001({ ...DEBTOR_FILE, orders: [member] })).CstmrCdtTrfInitn.PmtInf[0].CdtTrfTxInf[0];
    expect(tx.RmtInf.Ustrd).toBe(remittanceText(member));
  });

  it('the initiating party is named and identified when an id is configured', () => {
    const withId = parse(renderPain001({ ...DEBTOR_FILE, initiatingPartyId: { id: '12345678901234', scheme: 'SRET' }, orders: [order({ payee: 'member:A001', amount: '9.00' })] }));
    expect(withId.CstmrCdtTrfInitn.GrpHdr.InitgPty).toEqual({ Nm: 'Mutuelle Exemple', Id: { OrgId: { Othr: { Id: '12345678901234', SchmeNm: { Cd: 'SRET' } } } } });
    const noScheme = parse(renderPain001({ ...DEBTOR_FILE, initiatingPartyId: { id: 'CLIENT-0042', scheme: null }, orders: [order({ payee: 'member:A001', amount: '9.00' })] }));
    expect(noScheme.CstmrCdtTrfInitn.GrpHdr.InitgPty.Id).toEqual({ OrgId: { Othr: { Id: 'CLIENT-0042' } } });
  });
});
