import { z } from 'zod';
import { IsoDateSchema } from '../../model/dates.js';
import { InvoiceSchema } from '../../model/invoice.js';
import { MoneySchema } from '../../model/money.js';
import { SettlementStatusSchema } from '../../model/settlement.js';
import { ATTACHMENT_TYPES } from './attachment.js';

/** The HTTP shapes of the invoices API (the OpenAPI document is made from these: src/http/openapi.ts). */

export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\u0020-\u007e]{1,200}$/, '1 to 200 printable ASCII characters')
  .meta({ description: 'chosen by the client, one per invoice it sends (a UUID is fine): the same key again (same client) returns the first receipt and publishes nothing; with another request it is refused (422)' });

export const UploadHeadersSchema = z.object({ 'idempotency-key': IdempotencyKeySchema });

export const InvoiceUploadSchema = z
  .object({
    invoice: InvoiceSchema.meta({ description: 'the invoice, formats.md §2 (schemas/invoice.schema.json): a part of type application/json (a form field or a file)' }),
    attachment: z
      .file()
      .meta({ description: `the invoice itself, scanned: ${Object.values(ATTACHMENT_TYPES).map((t) => t.mime).join(', ')} — told by its first bytes, not its declared type; at most NOEMIE_HTTP_MAX_ATTACHMENT_BYTES (default 10 MiB)` }),
  })
  .meta({ title: 'Invoice upload (multipart/form-data)' });

export const ReceiptLineSchema = z.object({
  lineKey: z.string().meta({ description: 'the act line\'s key, `invoice:<invoice_id>:<line number>`: the settlements and statements name the line by it' }),
  lineNo: z.number().int().min(1),
  actCode: z.string(),
  careDate: IsoDateSchema,
  quantity: z.number().int(),
  expense: MoneySchema,
});

export const ReceiptSchema = z
  .object({
    receiptId: z.string(),
    invoiceId: z.string(),
    receivedAt: z.string().meta({ description: 'ISO instant' }),
    lines: z.array(ReceiptLineSchema).meta({ description: 'the act lines the invoice gives, in its order: what will be liquidated' }),
    attachment: z.object({ type: z.enum(Object.keys(ATTACHMENT_TYPES) as [keyof typeof ATTACHMENT_TYPES]), bytes: z.number().int(), sha256: z.string() }),
  })
  .meta({ title: 'Invoice receipt' });
export type Receipt = z.infer<typeof ReceiptSchema>;

export const LineStatusSchema = z.enum(['received', 'liquidated', 'settled']).meta({
  description: 'received: not decided yet; liquidated: decided but held for review (no amount is final); settled: decided (paid, zero or rejected), with its amounts',
});

export const ReceiptStatusSchema = z
  .object({
    receiptId: z.string(),
    invoiceId: z.string(),
    receivedAt: z.string(),
    status: LineStatusSchema.meta({ description: 'the least advanced of its lines' }),
    lines: z.array(
      ReceiptLineSchema.extend({
        status: LineStatusSchema,
        decision: z
          .object({
            status: SettlementStatusSchema,
            reason: z.string().nullable(),
            version: z.number().int().meta({ description: 'the settlement version (a re-liquidation makes a new one)' }),
          })
          .optional()
          .meta({ description: 'the latest settlement, once liquidated' }),
        amounts: z
          .object({ expense: MoneySchema, roAmount: MoneySchema, amcAmount: MoneySchema, restToPay: MoneySchema, payee: z.string().optional() })
          .optional()
          .meta({ description: 'once settled: what the member spent, the RO paid, the AMC pays, what remains' }),
      }),
    ),
  })
  .meta({ title: 'Invoice receipt status' });
export type ReceiptStatus = z.infer<typeof ReceiptStatusSchema>;

export const ReceiptParamsSchema = z.object({ receipt: z.string().regex(/^rcpt_[0-9a-f-]{36}$/, 'a receipt id') });
