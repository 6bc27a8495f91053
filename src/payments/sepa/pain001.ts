import { XMLBuilder } from 'fast-xml-parser';
import { ZERO } from '../../model/money.js';
import type { PaymentOrder, PaymentOrderHead } from '../../model/payment.js';
import { accountProblem, normaliseAccount } from '../accounts.js';
import { transferAmountProblem } from '../controls.js';
import { PaymentsError } from '../errors.js';
import { remittanceText } from './remittance.js';
import { payeeLabel, sepaText } from './text.js';

/**
 * ISO 20022 `pain.001.001.09` (customer credit transfer initiation), one file per run and debtor
 * account, one PmtInf batch, one CdtTrfTxInf per payment order. Written as chunks (the envelope, the
 * group and batch headers, then one transaction at a time) so a run of any size is written with
 * bounded memory. Every element that carries data is built by fast-xml-parser's XMLBuilder (escaping
 * is the library's job); only the constant envelope tags are literal text.
 *
 * Why not the npm `sepa` package (which knows pain.001.001.09): it takes amounts as JS numbers and
 * computes CtrlSum by adding floats, and the pipeline's rule is that money is never a float; and it
 * builds the whole document in memory. NbOfTxs / CtrlSum here are counted and summed with decimal.js.
 */

export const PAIN_001_NS = 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09';

/**
 * How the bank knows the initiating party besides its name (InitgPty/Id/OrgId/Othr): the identifier
 * it gave the insurer or a registry number, and its scheme (ISO external code, e.g. `CUST` a
 * customer number, `SRET` a SIRET, `BANK` bank-assigned). From the configuration
 * (NOEMIE_INITIATING_PARTY_ID / _SCHEME, src/config.ts).
 */
export interface PartyId {
  id: string;
  scheme: string | null;
}

export interface DebtorAccount {
  name: string;
  iban: string;
  bic: string | null;
}

export interface Pain001Input {
  /** GrpHdr/MsgId, unique per file (Max35Text) */
  messageId: string;
  /** PmtInf/PmtInfId (Max35Text) */
  paymentInfoId: string;
  /** instant the file is created (data: the run's cut-off) */
  createdAt: string;
  /** ReqdExctnDt, YYYY-MM-DD */
  executionDate: string;
  initiatingParty: string;
  /** absent: the initiating party is named only (what files written before it was configured carry) */
  initiatingPartyId?: PartyId | null;
  debtor: DebtorAccount;
  /** `transfer: true` orders only */
  orders: readonly (PaymentOrder | PaymentOrderHead)[];
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });
const xml = (fragment: Record<string, unknown>) => builder.build(fragment) as string;

export function pain001Totals(orders: readonly Pick<PaymentOrder, 'amount'>[]): { nbOfTxs: number; ctrlSum: string } {
  return { nbOfTxs: orders.length, ctrlSum: orders.reduce((s, o) => s.plus(o.amount), ZERO).toFixed(2) };
}

function checkInput(input: Pain001Input): DebtorAccount {
  const problem = accountProblem(input.debtor);
  if (problem !== null) throw new PaymentsError('SEPA_BAD_DEBTOR', `debtor account of ${input.messageId}: ${problem}`, { messageId: input.messageId });
  for (const o of input.orders) {
    if (!o.transfer || o.kind !== 'payment' || o.iban === null || transferAmountProblem(o.amount) !== null) {
      throw new PaymentsError('SEPA_BAD_ORDER', `order ${o.paymentId} is not a credit transfer (kind ${o.kind}, amount ${o.amount}, transfer ${o.transfer})`, { paymentId: o.paymentId });
    }
  }
  const debtor = normaliseAccount(input.debtor);
  return debtor;
}

/** xs:dateTime without fractions, the form banks' validators accept everywhere. */
const isoSeconds = (instant: string) => new Date(Date.parse(instant)).toISOString().replace(/\.\d{3}Z$/, 'Z');

const agent = (bic: string | null) => ({ FinInstnId: bic ? { BICFI: bic } : { Othr: { Id: 'NOTPROVIDED' } } });

function initiatingParty(input: Pain001Input): Record<string, unknown> {
  const name = sepaText(input.initiatingParty, 70, input.initiatingPartyId?.id ?? sepaText(input.debtor.name, 70, 'Debtor'));
  const party = input.initiatingPartyId;
  if (!party) return { Nm: name };
  return { Nm: name, Id: { OrgId: { Othr: { Id: sepaText(party.id, 35), ...(party.scheme ? { SchmeNm: { Cd: party.scheme } } : {}) } } } };
}

function transaction(o: PaymentOrder | PaymentOrderHead): string {
  return xml({
    CdtTrfTxInf: {
      PmtId: { InstrId: o.endToEndId, EndToEndId: o.endToEndId },
      Amt: { InstdAmt: { '@_Ccy': 'EUR', '#text': o.amount } },
      ...(o.bic ? { CdtrAgt: agent(o.bic) } : {}),
      // a name with nothing left in the SEPA set ("李小龙") is never written empty (the XSD refuses <Nm/>)
      Cdtr: { Nm: sepaText(o.name, 70, payeeLabel(o.payee)) },
      CdtrAcct: { Id: { IBAN: o.iban } },
      RmtInf: { Ustrd: remittanceText(o) },
    },
  });
}

export function* pain001Chunks(input: Pain001Input): Generator<string> {
  const debtor = checkInput(input);
  const { nbOfTxs, ctrlSum } = pain001Totals(input.orders);
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="${PAIN_001_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><CstmrCdtTrfInitn>\n`;
  yield xml({
    GrpHdr: {
      MsgId: sepaText(input.messageId, 35),
      CreDtTm: isoSeconds(input.createdAt),
      NbOfTxs: String(nbOfTxs),
      CtrlSum: ctrlSum,
      InitgPty: initiatingParty(input),
    },
  });
  yield '\n<PmtInf>';
  yield xml({
    PmtInfId: sepaText(input.paymentInfoId, 35),
    PmtMtd: 'TRF',
    BtchBookg: 'false',
    NbOfTxs: String(nbOfTxs),
    CtrlSum: ctrlSum,
    PmtTpInf: { SvcLvl: { Cd: 'SEPA' } },
    ReqdExctnDt: { Dt: input.executionDate },
    Dbtr: { Nm: sepaText(debtor.name, 70, 'Debtor') },
    DbtrAcct: { Id: { IBAN: debtor.iban } },
    DbtrAgt: agent(debtor.bic),
    ChrgBr: 'SLEV',
  });
  yield '\n';
  for (const o of input.orders) yield `${transaction(o)}\n`;
  yield '</PmtInf></CstmrCdtTrfInitn></Document>\n';
}

export function renderPain001(input: Pain001Input): string {
  return [...pain001Chunks(input)].join('');
}
