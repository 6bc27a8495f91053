import { XMLValidator } from 'fast-xml-parser';
import { safeXmlParser, type XmlNode } from '../../model/xml.js';
import { z } from 'zod';
import { tooDeep } from '../../ingest/xml/decompte.js';
import { MONEY_PATTERN, MoneySchema, type Money } from '../../model/money.js';
import { PaymentsError } from '../errors.js';

/**
 * Reads the two bank messages that say a transfer of ours did not arrive (the subset we need; the
 * JSON Schemas under schemas/ describe it, the golden files are under fixtures/bank-returns/):
 *
 * - camt.054 (BkToCstmrDbtCdtNtfctn, 001.02 to 001.08): per Ntfctn/Ntry/NtryDtls/TxDtls, the
 *   transfer's Refs/EndToEndId and Amt; a TxDtls with RtrInf (Rsn/Cd) is a return, any other an
 *   acknowledgement of a booked movement (it changes nothing).
 * - pain.002 (CstmrPmtStsRpt, 001.03 to 001.10): per OrgnlPmtInfAndSts/TxInfAndSts, the
 *   OrgnlEndToEndId and TxSts; RJCT (with StsRsnInf/Rsn/Cd) is a rejection, any other status an
 *   acknowledgement. A group or payment-information rejection without transaction details cannot be
 *   tied to a transfer here: it is returned as `unattributed` for ops, never dropped.
 *
 * Record = ordinal of the TxDtls / TxInfAndSts element in the file (1-based). Nothing here does I/O;
 * a file that is not one of these messages, or misses a field we need, throws PAYMENTS_RETURN_MALFORMED
 * naming the file, the record and the field — before anything is applied.
 */
export const BankFormatSchema = z.enum(['camt.054', 'pain.002']);
export type BankFormat = z.infer<typeof BankFormatSchema>;

export const BankTxStatusSchema = z.object({
  record: z.number().int().min(1).meta({ description: 'ordinal of the TxDtls / TxInfAndSts element in the file, 1-based' }),
  endToEndId: z.string().min(1).max(35).meta({ description: 'camt.054 Refs/EndToEndId, pain.002 OrgnlEndToEndId: our pain.001 EndToEndId' }),
  status: z.enum(['returned', 'rejected', 'acknowledged']).meta({ description: 'returned: camt.054 RtrInf; rejected: pain.002 TxSts RJCT; acknowledged: anything else (changes nothing)' }),
  reasonCode: z.string().regex(/^[A-Z0-9]{4}$/).nullable().meta({ description: 'ISO external reason code (Rsn/Cd); null when the bank gave none' }),
  amount: MoneySchema.nullable().meta({ description: 'camt.054 TxDtls/Amt (else Ntry/Amt for a single transaction), pain.002 OrgnlTxRef/Amt/InstdAmt; EUR' }),
  path: z.string().meta({ description: 'where the record is in the message, e.g. Ntfctn[1]/Ntry[2]/NtryDtls[1]/TxDtls[1]' }),
});
export type BankTxStatus = z.infer<typeof BankTxStatusSchema>;

export const BankMessageSchema = z
  .object({
    format: BankFormatSchema,
    version: z.string().regex(/^001\.\d{2}$/).meta({ description: 'the namespace version, e.g. 001.08' }),
    messageId: z.string().min(1).max(35).meta({ description: 'GrpHdr/MsgId' }),
    transactions: z.array(BankTxStatusSchema),
    unattributed: z
      .array(z.object({ path: z.string(), status: z.string(), reasonCode: z.string().nullable() }))
      .meta({ description: 'pain.002 group / payment-information rejections with no transaction listed: exceptions for ops' }),
  })
  .meta({ title: 'Bank return message (as read)', description: 'What noemie reads of a camt.054 or pain.002 file (src/payments/bank-returns/parse.ts); the XML subsets are schemas/camt.054.001.08-returns.xsd and schemas/pain.002.001.10-returns.xsd.' });
export type BankMessage = z.infer<typeof BankMessageSchema>;

const NS = /<(?:[A-Za-z_][\w.-]*:)?Document\b[^>]*?\sxmlns(?::[A-Za-z_][\w.-]*)?\s*=\s*["']urn:iso:std:iso:20022:tech:xsd:(camt\.054|pain\.002)\.(\d{3}\.\d{2})["']/;

/** The bank message a file's first bytes announce by their root namespace, or null. */
export function sniffBankMessage(head: string): { format: BankFormat; version: string } | null {
  const m = NS.exec(head);
  if (!m) return null;
  return { format: m[1] as BankFormat, version: m[2]! };
}

/** camt.054 nests 9 levels down to Rsn/Cd, pain.002 7; anything far deeper is not a bank file. */
export const MAX_BANK_DEPTH = 32;
/** A day's notifications for one account are a few MB; past this the file is refused unread. */
export const MAX_BANK_FILE_BYTES = 64 * 1024 * 1024;

const SUPPORTED: Record<BankFormat, readonly string[]> = {
  'camt.054': ['001.02', '001.03', '001.04', '001.05', '001.06', '001.07', '001.08'],
  'pain.002': ['001.03', '001.04', '001.05', '001.06', '001.07', '001.08', '001.09', '001.10'],
};

const parser = safeXmlParser({ removeNSPrefix: true });

type Node = XmlNode;

class Reader {
  constructor(readonly file: string) {}

  fail(field: string, message: string, record?: number): never {
    const where = record === undefined ? '' : ` record ${record}`;
    throw new PaymentsError('PAYMENTS_RETURN_MALFORMED', `${this.file}${where}: ${field}: ${message}`, { file: this.file, field, ...(record === undefined ? {} : { record }) });
  }

  all(node: Node, name: string): Node[] {
    const v = node[name];
    return Array.isArray(v) ? (v as unknown[]).map((x) => (typeof x === 'object' && x !== null ? (x as Node) : { '#text': String(x) })) : [];
  }

  opt(node: Node, name: string): Node | undefined {
    return this.all(node, name)[0];
  }

  one(node: Node, name: string, path: string, record?: number): Node {
    const list = this.all(node, name);
    if (list.length === 0) this.fail(`${path}/${name}`, 'missing', record);
    return list[0]!;
  }

  text(node: Node | undefined): string | null {
    if (node === undefined) return null;
    const t = node['#text'];
    return typeof t === 'string' ? t.trim() : null;
  }

  requiredText(node: Node, name: string, path: string, record?: number): string {
    const t = this.text(this.one(node, name, path, record));
    if (t === null || t === '') this.fail(`${path}/${name}`, 'empty', record);
    return t;
  }

  /** Amt / InstdAmt: EUR, two decimals at most (kept as a decimal string, never a float). */
  amount(node: Node | undefined, path: string, record: number): Money | null {
    if (node === undefined) return null;
    const ccy = node['@']?.Ccy;
    if (ccy !== undefined && ccy !== 'EUR') this.fail(`${path}/@Ccy`, `currency "${ccy}" is not EUR`, record);
    const t = this.text(node);
    if (t === null || !/^\d{1,12}(\.\d{1,2})?$/.test(t)) this.fail(path, `"${t ?? ''}" is not an amount`, record);
    const [units, cents = ''] = t.split('.');
    const money = `${units}.${cents.padEnd(2, '0')}`;
    return MONEY_PATTERN.test(money) ? money : this.fail(path, `"${t}" is not an amount`, record);
  }

  reasonCode(node: Node | undefined, path: string, record: number): string | null {
    if (node === undefined) return null;
    const rsn = this.opt(node, 'Rsn');
    if (rsn === undefined) return null;
    const cd = this.text(this.opt(rsn, 'Cd'));
    if (cd === null) return null; // Prtry reasons: no ISO code, shown as "not communicated"
    if (!/^[A-Z0-9]{4}$/.test(cd)) this.fail(`${path}/Rsn/Cd`, `"${cd}" is not an ISO reason code (4 letters or digits)`, record);
    return cd;
  }

  endToEndId(node: Node, name: string, path: string, record: number): string {
    const id = this.requiredText(node, name, path, record);
    if (id.length > 35) this.fail(`${path}/${name}`, `"${id.slice(0, 40)}…" is longer than 35 characters`, record);
    return id;
  }
}

/** Parses one bank message; `file` names it in errors. */
export function parseBankMessage(xml: string, file: string): BankMessage {
  const r: Reader = new Reader(file);
  if (Buffer.byteLength(xml, 'utf8') > MAX_BANK_FILE_BYTES) r.fail('Document', `larger than ${MAX_BANK_FILE_BYTES} bytes: refused unread`);
  const kind = sniffBankMessage(xml.slice(0, 4096));
  if (kind === null) r.fail('Document/@xmlns', 'not a camt.054 or pain.002 message (root Document with namespace urn:iso:std:iso:20022:tech:xsd:camt.054.001.xx or pain.002.001.xx)');
  if (!SUPPORTED[kind.format].includes(kind.version)) r.fail('Document/@xmlns', `${kind.format}.${kind.version} is not a version we read (${SUPPORTED[kind.format].join(', ')})`);
  if (/<!DOCTYPE/i.test(xml)) r.fail('Document', 'a DOCTYPE is not allowed in a bank message');
  // before any parser sees it: fast-xml-parser throws past its own nesting limit, its validator recurses
  if (tooDeep(xml, MAX_BANK_DEPTH)) r.fail('Document', `elements nest deeper than ${MAX_BANK_DEPTH} levels: refused unread`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) r.fail('Document', `not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const doc = r.one(parser.parse(xml) as Node, 'Document', '');
  // what the reader built is checked like any other edge value (a bug here must not reach the ledger)
  return BankMessageSchema.parse(kind.format === 'camt.054' ? readCamt054(r, doc, kind.version) : readPain002(r, doc, kind.version));
}

function readCamt054(r: Reader, doc: Node, version: string): BankMessage {
  const root = r.one(doc, 'BkToCstmrDbtCdtNtfctn', 'Document');
  const messageId = r.requiredText(r.one(root, 'GrpHdr', 'BkToCstmrDbtCdtNtfctn'), 'MsgId', 'GrpHdr');
  const transactions: BankTxStatus[] = [];
  let record = 0;
  r.all(root, 'Ntfctn').forEach((ntfctn, n) => {
    r.all(ntfctn, 'Ntry').forEach((ntry, e) => {
      const entryPath = `Ntfctn[${n + 1}]/Ntry[${e + 1}]`;
      const details = r.all(ntry, 'NtryDtls').flatMap((d, di) => r.all(d, 'TxDtls').map((tx, ti) => ({ tx, path: `${entryPath}/NtryDtls[${di + 1}]/TxDtls[${ti + 1}]` })));
      for (const { tx, path } of details) {
        record += 1;
        const refs = r.one(tx, 'Refs', path, record);
        const endToEndId = r.endToEndId(refs, 'EndToEndId', `${path}/Refs`, record);
        // an entry with one transaction may give the amount on the entry only
        const amount = r.amount(r.opt(tx, 'Amt'), `${path}/Amt`, record) ?? (details.length === 1 ? r.amount(r.opt(ntry, 'Amt'), `${entryPath}/Amt`, record) : null);
        const rtr = r.opt(tx, 'RtrInf');
        transactions.push({
          record, endToEndId, amount, path,
          status: rtr === undefined ? 'acknowledged' : 'returned',
          reasonCode: r.reasonCode(rtr, `${path}/RtrInf`, record),
        });
      }
    });
  });
  return { format: 'camt.054', version, messageId, transactions, unattributed: [] };
}

function readPain002(r: Reader, doc: Node, version: string): BankMessage {
  const root = r.one(doc, 'CstmrPmtStsRpt', 'Document');
  const messageId = r.requiredText(r.one(root, 'GrpHdr', 'CstmrPmtStsRpt'), 'MsgId', 'GrpHdr');
  const transactions: BankTxStatus[] = [];
  const unattributed: BankMessage['unattributed'] = [];
  const grp = r.one(root, 'OrgnlGrpInfAndSts', 'CstmrPmtStsRpt');
  const grpSts = r.text(r.opt(grp, 'GrpSts'));
  const pmtInfs = r.all(root, 'OrgnlPmtInfAndSts');
  if (grpSts === 'RJCT' && pmtInfs.every((p) => r.all(p, 'TxInfAndSts').length === 0)) {
    unattributed.push({ path: 'OrgnlGrpInfAndSts', status: grpSts, reasonCode: r.reasonCode(r.opt(grp, 'StsRsnInf'), 'OrgnlGrpInfAndSts/StsRsnInf', 0) });
  }
  let record = 0;
  pmtInfs.forEach((pmtInf, p) => {
    const pPath = `OrgnlPmtInfAndSts[${p + 1}]`;
    const txs = r.all(pmtInf, 'TxInfAndSts');
    const pmtSts = r.text(r.opt(pmtInf, 'PmtInfSts'));
    if (txs.length === 0 && pmtSts === 'RJCT') unattributed.push({ path: pPath, status: pmtSts, reasonCode: r.reasonCode(r.opt(pmtInf, 'StsRsnInf'), `${pPath}/StsRsnInf`, 0) });
    txs.forEach((tx, t) => {
      record += 1;
      const path = `${pPath}/TxInfAndSts[${t + 1}]`;
      const endToEndId = r.endToEndId(tx, 'OrgnlEndToEndId', path, record);
      const status = r.text(r.opt(tx, 'TxSts')) ?? pmtSts ?? grpSts;
      if (status === null || !/^[A-Z]{4}$/.test(status)) r.fail(`${path}/TxSts`, status === null ? 'missing (and no PmtInfSts or GrpSts to inherit)' : `"${status}" is not a status code`, record);
      const instd = r.opt(r.opt(r.opt(tx, 'OrgnlTxRef') ?? {}, 'Amt') ?? {}, 'InstdAmt');
      transactions.push({
        record, endToEndId, path,
        status: status === 'RJCT' ? 'rejected' : 'acknowledged',
        reasonCode: status === 'RJCT' ? r.reasonCode(r.opt(tx, 'StsRsnInf'), `${path}/StsRsnInf`, record) : null,
        amount: r.amount(instd, `${path}/OrgnlTxRef/Amt/InstdAmt`, record),
      });
    });
  });
  return { format: 'pain.002', version, messageId, transactions, unattributed };
}
