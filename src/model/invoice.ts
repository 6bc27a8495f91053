import { z } from 'zod';
import { MoneySchema, DecimalStringSchema } from './money.js';
import { IsoDateSchema } from './dates.js';
import { NirSchema } from './act-line.js';

/** A hors-NOEMIE invoice uploaded by a member (formats.md §2). Field names are the fixed snake_case ones. */
export const InvoiceLineSchema = z.object({
  act_code: z.string().min(1).max(13),
  care_date: IsoDateSchema,
  quantity: z.number().int().min(1).max(999),
  expense: MoneySchema,
  // Present only when the RO reimbursed the act (paper décompte); an act the RO does not reimburse has no br.
  br: MoneySchema.optional(),
  ro_rate: DecimalStringSchema.optional(),
  ro_amount: MoneySchema.optional(),
  pf: MoneySchema.optional(),
  franchise: MoneySchema.optional(),
});
export type InvoiceLine = z.infer<typeof InvoiceLineSchema>;

export const InvoiceSchema = z
  .object({
    invoice_id: z.string().min(1).max(30),
    amc_member_id: z.string().min(1).max(20),
    nir: NirSchema,
    rang: z.number().int().min(1).max(9),
    ps_id: z.string().min(1).max(20),
    ps_kind: z.string().min(1).max(40),
    invoice_date: IsoDateSchema,
    lines: z.array(InvoiceLineSchema).min(1),
  })
  .superRefine(
    (inv, ctx) => {
      // Runs even when other fields failed (`when` below), so a reject lists all its issues: each
      // check first makes sure what it reads is itself valid.
      if (typeof inv !== 'object' || inv === null || !Array.isArray(inv.lines)) return;
      const dated = IsoDateSchema.safeParse(inv.invoice_date).success;
      inv.lines.forEach((l, i) => {
        if (typeof l !== 'object' || l === null) return;
        if (dated && IsoDateSchema.safeParse(l.care_date).success && l.care_date > inv.invoice_date) {
          ctx.addIssue({ code: 'custom', path: ['lines', i, 'care_date'], input: l.care_date, message: `care date ${l.care_date} is after the invoice date ${inv.invoice_date}` });
        }
        if (l.br !== undefined && (l.ro_rate === undefined || l.ro_amount === undefined)) {
          ctx.addIssue({ code: 'custom', path: ['lines', i, 'ro_amount'], input: l.ro_amount, message: 'a line with br must give ro_rate and ro_amount (paper décompte)' });
        }
      });
    },
    { when: () => true },
  );
export type Invoice = z.infer<typeof InvoiceSchema>;
