import { nirKey, type ActLine } from '../../model/act-line.js';
import type { Invoice } from '../../model/invoice.js';

/**
 * A hors-NOEMIE invoice line as an act line, so the engine sees one shape. What an invoice does
 * not carry takes the value that means "not known / not reimbursed by the RO": no caisse, no RO
 * payment date, no br (0.00) when the RO did not reimburse; the pathway is taken as inside the
 * parcours and the member is paid (tp 00), since an upload is by definition not tiers payant.
 */
export function toActLines(invoice: Invoice): ActLine[] {
  const key = nirKey(invoice.nir);
  return invoice.lines.map((l, i) => ({
    source: 'invoice',
    decompteId: invoice.invoice_id,
    lineNo: i + 1,
    operation: 'I',
    caisse: null,
    roPaymentDate: null,
    nir: invoice.nir,
    nirKey: key,
    rang: invoice.rang,
    birthDate: null,
    amcMemberId: invoice.amc_member_id,
    psId: invoice.ps_id,
    psSpecialty: null,
    psDptm: false,
    actCode: l.act_code,
    side: null,
    careStart: l.care_date,
    careEnd: l.care_date,
    quantity: l.quantity,
    coefficient: '1',
    expense: l.expense,
    br: l.br ?? '0.00',
    roRate: l.ro_rate ?? '0',
    roAmount: l.ro_amount ?? '0.00',
    pf: l.pf ?? '0.00',
    franchise: l.franchise ?? '0.00',
    pathway: 'I',
    tp: '00',
    accident: false,
  }));
}

/** Act-line field → the invoice field it came from, to name issues in the uploader's terms. */
export const ACT_LINE_TO_INVOICE: Record<string, { line: boolean; name: string }> = {
  decompteId: { line: false, name: 'invoice_id' },
  amcMemberId: { line: false, name: 'amc_member_id' },
  nir: { line: false, name: 'nir' },
  rang: { line: false, name: 'rang' },
  psId: { line: false, name: 'ps_id' },
  actCode: { line: true, name: 'act_code' },
  careStart: { line: true, name: 'care_date' },
  careEnd: { line: true, name: 'care_date' },
  quantity: { line: true, name: 'quantity' },
  expense: { line: true, name: 'expense' },
  br: { line: true, name: 'br' },
  roRate: { line: true, name: 'ro_rate' },
  roAmount: { line: true, name: 'ro_amount' },
  pf: { line: true, name: 'pf' },
  franchise: { line: true, name: 'franchise' },
};
