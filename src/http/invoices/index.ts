import { createHash, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpPlugin } from '../server.js';
import type { Bus } from '../../bus/bus.js';
import type { LineMessage } from '../../bus/messages.js';
import { readEnv } from '../../config.js';
import { createInvoiceJsonCodec, DEFAULT_MAX_INVOICE_JSON_BYTES } from '../../ingest/invoice/index.js';
import type { BeneficiaryIndex } from '../../ingest/reference/beneficiaries.js';
import type { Logger } from '../../log.js';
import { PipelineError } from '../../model/errors.js';
import { StatementIndex } from '../../pipeline/statement-index.js';
import { StateStore } from '../../state/kv-store.js';
import { requireScope, type ApiKeys } from '../auth.js';
import { recordInvoiceUpload } from '../metrics.js';
import { answerHttpErrors, HttpError, HttpErrorBodySchema, httpIssue, sendIssues, type HttpIssue } from '../errors.js';
import { API_KEY_SECURITY, jsonSchemaOf, type DocumentedSchema } from '../openapi.js';
import { receiveAttachment, type ReceivedAttachment } from './attachment.js';
import { InvoiceReceipts, recordIdOf, type IdempotencyRecord } from './receipts.js';
import { statusOf } from './status.js';
import { InvoiceUploadSchema, ReceiptParamsSchema, ReceiptSchema, ReceiptStatusSchema, UploadHeadersSchema, type Receipt } from './schemas.js';

/**
 * The invoices API (issue 11): members' hors-NOEMIE invoices, from a portal or an app, with a receipt.
 *
 *   POST /v1/invoices            multipart: `invoice` (JSON, formats.md §2) + `attachment` (PDF or image);
 *                                header Idempotency-Key; scope `invoices` → 202 receipt | 4xx { issues }
 *   GET  /v1/invoices/{receipt}  the receipt's lines: received / liquidated / settled, amounts once settled
 *
 * The invoice goes through the inbox's own codec (src/ingest/invoice: same parser, same checks, same
 * issues), and its lines to `invoice-lines` as the inbox's bus sink sends them (same message, same
 * partition key: the family's adhérent from the membership store). Idempotency and crash rules:
 * receipts.ts.
 */
export interface InvoicesPluginDeps {
  home: string;
  bus: Pick<Bus, 'produce'>;
  keys: ApiKeys;
  /** the membership store's index, to key lines by family as the inbox does (noemie run: `membership.index()`) */
  members?: Pick<BeneficiaryIndex, 'byNirRang'>;
  /** the home's state store (default: opened on the home, closed with the server) */
  store?: StateStore;
  /** default NOEMIE_HTTP_MAX_ATTACHMENT_BYTES (10 MiB) */
  maxAttachmentBytes?: number;
  logger?: Logger;
}

interface ReadUpload {
  invoiceText?: string;
  attachment?: ReceivedAttachment;
  issues: HttpIssue[];
}

export function invoicesPlugin(deps: InvoicesPluginDeps): HttpPlugin {
  return {
    name: 'invoices',
    async register(root) {
      const maxAttachmentBytes = deps.maxAttachmentBytes ?? readEnv().NOEMIE_HTTP_MAX_ATTACHMENT_BYTES;
      const kv = deps.store ?? StateStore.open(deps.home);
      const receipts = new InvoiceReceipts(kv, deps.home, deps.bus, deps.members);
      // the index is in the home's LevelDB (opened once per process: the running service's)
      const statements = await StatementIndex.open(deps.home);
      root.addHook('onClose', async () => statements.close());
      await receipts.recover(deps.logger);
      if (deps.store === undefined) root.addHook('onClose', async () => kv.close());

      // an encapsulated context: the multipart parser, the validators and the error handler stay here
      await root.register(async (app) => {
        answerHttpErrors(app);
        // zod validates (in the handlers); the route schemas are the documentation (src/http/openapi.ts)
        app.setValidatorCompiler(() => () => true);
        app.setSerializerCompiler(() => (data) => JSON.stringify(data));
        await app.register(multipart, {
          throwFileSizeLimit: false,
          limits: { fileSize: maxAttachmentBytes, files: 2, fields: 4, parts: 4, fieldSize: DEFAULT_MAX_INVOICE_JSON_BYTES, headerPairs: 100 },
        });
        const auth = requireScope(deps.keys, 'invoices');
        const errors = jsonSchemaOf(HttpErrorBodySchema);

        const uploadSchema: DocumentedSchema = {
          operationId: 'uploadInvoice',
          summary: 'send a member\'s hors-NOEMIE invoice with its attachment',
          description: `The invoice is checked exactly as an invoice file dropped in the inbox (schemas/invoice.schema.json); a refused one lists every issue. Accepted: its act lines are published for liquidation and a receipt is answered. The attachment (PDF, PNG, JPEG, TIFF, HEIC, WebP: told by its first bytes) is at most NOEMIE_HTTP_MAX_ATTACHMENT_BYTES bytes (default 10 MiB): larger, 413.`,
          tags: ['invoices'],
          security: API_KEY_SECURITY,
          consumes: ['multipart/form-data'],
          headers: jsonSchemaOf(UploadHeadersSchema),
          body: jsonSchemaOf(InvoiceUploadSchema, 'input'),
          encoding: { invoice: { contentType: 'application/json' } },
          response: {
            '202': { ...jsonSchemaOf(ReceiptSchema), description: 'accepted: the receipt (the same one again for a retry with the same Idempotency-Key; header Idempotent-Replayed: true)' },
            '400': { ...errors, description: 'Idempotency-Key missing or malformed, a part missing or repeated, not multipart' },
            '401': errors,
            '403': errors,
            '413': { ...errors, description: 'the attachment is larger than the limit' },
            '415': { ...errors, description: 'the attachment is not a PDF or an image' },
            '422': { ...errors, description: 'the invoice is refused (every issue listed), or the Idempotency-Key was used for another request' },
            '503': { ...errors, description: 'recorded but not yet published (bus unavailable): retry with the same Idempotency-Key' },
          },
        };
        app.post('/v1/invoices', { schema: uploadSchema, preHandler: auth, onResponse: countUpload }, async (request, reply) => {
          const clientId = request.client!.id;
          const headers = UploadHeadersSchema.safeParse(request.headers, { reportInput: true });
          if (!headers.success) {
            const given = request.headers['idempotency-key'];
            throw new HttpError(400, [httpIssue('HTTP_IDEMPOTENCY_KEY', given === undefined ? 'the Idempotency-Key header is required (one key per invoice; a retry sends the same key)' : 'Idempotency-Key: 1 to 200 printable ASCII characters', ['headers', 'idempotency-key'], given)]);
          }
          const idempotencyKey = headers.data['idempotency-key'];
          const receiptId = `rcpt_${randomUUID()}`;
          const incoming = receipts.incomingFileOf(receiptId);
          let refused: { status: number; issues: HttpIssue[] } | undefined;
          let submitted: Awaited<ReturnType<InvoiceReceipts['submit']>> | undefined;
          try {
            const read = await readUpload(request, incoming, maxAttachmentBytes);
            const { lines, issues, canonical } = await checkInvoice(read, receiptId, clientId);
            const statusOfIssues = issueStatus(issues);
            if (statusOfIssues !== null) refused = { status: statusOfIssues, issues };
            else {
              const attachment = read.attachment as Extract<ReceivedAttachment, { ok: true }>;
              const requestHash = createHash('sha256').update(canonical).update('\u0000').update(attachment.sha256).digest('hex');
              submitted = await receipts.submit({
                receiptId, clientId, idempotencyKey, requestHash, invoiceId: lines[0]!.line.decompteId, lines, incoming,
                attachment: { type: attachment.type, bytes: attachment.bytes, sha256: attachment.sha256 },
              });
            }
          } finally {
            // before answering: once the client has its answer, no copy of its attachment is left in incoming/
            await rm(incoming, { force: true });
          }
          if (refused !== undefined) return sendIssues(reply, refused.status, refused.issues);
          const { record, replayed } = submitted!;
          if (replayed) void reply.header('idempotent-replayed', 'true');
          return reply.code(202).header('location', `/v1/invoices/${record.receiptId}`).send(receiptOf(record));
        });

        const statusSchema: DocumentedSchema = {
          operationId: 'invoiceStatus',
          summary: 'a receipt\'s status, line by line, and once settled the amounts',
          tags: ['invoices'],
          security: API_KEY_SECURITY,
          params: jsonSchemaOf(ReceiptParamsSchema),
          response: { '200': jsonSchemaOf(ReceiptStatusSchema), '401': errors, '403': errors, '404': { ...errors, description: 'no such receipt for this client' } },
        };
        app.get('/v1/invoices/:receipt', { schema: statusSchema, preHandler: auth }, async (request, reply) => {
          const params = ReceiptParamsSchema.safeParse(request.params);
          const record = params.success ? receipts.receiptOf(request.client!.id, params.data.receipt) : undefined;
          if (record === undefined) return sendIssues(reply, 404, [httpIssue('HTTP_NOT_FOUND', 'no such receipt for this client', ['params', 'receipt'], (request.params as { receipt?: string }).receipt)]);
          return reply.send(statusOf(record, (lineKey) => statements.latestOf(lineKey)));
        });
      });
    },
  };
}

/**
 * Reads the multipart parts: `invoice` (a field, or a file part holding JSON) and `attachment`
 * (streamed to `incoming`, typed and size-checked as it goes). Every part is read to its end —
 * the answer lists every problem, and a client is not cut mid-upload.
 */
async function readUpload(request: FastifyRequest, incoming: string, maxAttachmentBytes: number): Promise<ReadUpload> {
  const out: ReadUpload = { issues: [] };
  const seen = new Set<string>();
  if (!request.isMultipart()) throw new HttpError(415, [httpIssue('HTTP_NOT_MULTIPART', 'the body must be multipart/form-data with the parts invoice and attachment', ['headers', 'content-type'], request.headers['content-type'])]);
  try {
    for await (const part of request.parts()) {
      const name = part.fieldname;
      if (seen.has(name) || (name !== 'invoice' && name !== 'attachment')) {
        out.issues.push(httpIssue('HTTP_MULTIPART', seen.has(name) ? `part ${name} is given twice` : `unknown part ${name}: the parts are invoice and attachment`, ['body', name]));
        if (part.type === 'file') await drain(part.file);
        continue;
      }
      seen.add(name);
      if (name === 'invoice') {
        if (part.type === 'file') {
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const chunk of part.file as AsyncIterable<Buffer>) {
            size += chunk.length;
            if (size <= DEFAULT_MAX_INVOICE_JSON_BYTES + 1) chunks.push(chunk);
          }
          out.invoiceText = Buffer.concat(chunks).toString('utf8');
        } else {
          if (part.valueTruncated) out.issues.push(httpIssue('INGEST_STRUCTURE', `the invoice is over ${DEFAULT_MAX_INVOICE_JSON_BYTES} bytes: an invoice upload is one invoice, a small JSON document`, ['body', 'invoice']));
          out.invoiceText = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
        }
      } else if (part.type === 'file') {
        out.attachment = await receiveAttachment(part.file, incoming, maxAttachmentBytes);
      } else {
        out.issues.push(httpIssue('HTTP_MULTIPART', 'attachment must be a file part (a PDF or an image)', ['body', 'attachment']));
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'FST_INVALID_JSON_FIELD_ERROR') throw new HttpError(422, [httpIssue('INGEST_STRUCTURE', 'the invoice part is not valid JSON', ['body', 'invoice'])]);
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') throw new HttpError(413, [httpIssue('HTTP_MULTIPART', 'too many parts: the parts are invoice and attachment', ['body'])]);
    throw e;
  }
  if (!seen.has('invoice')) out.issues.push(httpIssue('HTTP_MULTIPART', 'the part invoice (JSON, formats.md §2) is missing', ['body', 'invoice']));
  if (!seen.has('attachment')) out.issues.push(httpIssue('HTTP_MULTIPART', 'the part attachment (the invoice as a PDF or an image) is missing', ['body', 'attachment']));
  const a = out.attachment;
  if (a !== undefined && !a.ok) {
    if (a.problem === 'too_large') out.issues.push(httpIssue('HTTP_ATTACHMENT_TOO_LARGE', `the attachment is over ${maxAttachmentBytes} bytes (NOEMIE_HTTP_MAX_ATTACHMENT_BYTES)`, ['body', 'attachment'], a.bytes));
    else if (a.problem === 'empty') out.issues.push(httpIssue('HTTP_ATTACHMENT_TYPE', 'the attachment is empty', ['body', 'attachment']));
    else out.issues.push(httpIssue('HTTP_ATTACHMENT_TYPE', 'the attachment is not a PDF nor an image (PNG, JPEG, TIFF, HEIC, WebP): its first bytes say otherwise', ['body', 'attachment'], a.head));
  }
  return out;
}

/**
 * The invoice through the inbox's JSON codec (same parser, same checks): its lines, or every issue
 * (the codec's reject, or its refusal of the document as a whole, INGEST_STRUCTURE).
 */
async function checkInvoice(read: ReadUpload, receiptId: string, clientId: string): Promise<{ lines: LineMessage[]; issues: HttpIssue[]; canonical: string }> {
  const issues = [...read.issues];
  const lines: LineMessage[] = [];
  let canonical = '';
  if (read.invoiceText !== undefined) {
    // the origin the lines carry on the bus: the client and the receipt, never a personal datum
    const file = `api:${clientId}:${receiptId}`;
    const codec = createInvoiceJsonCodec();
    const text = read.invoiceText;
    try {
      for await (const ev of codec.decode({ file, open: async () => Readable.from([Buffer.from(text, 'utf8')]) })) {
        if (ev.kind === 'reject') issues.push(...ev.rejected.issues.map((i) => ({ ...i, path: ['invoice', ...i.path] })));
        else lines.push({ line: ev.line, origin: { file, record: ev.origin.record }, recordId: recordIdOf(receiptId, ev.line.lineNo) });
      }
    } catch (e) {
      if (!(e instanceof PipelineError)) throw e;
      issues.push(httpIssue(e.code, e.message.replace(`${file} `, 'the invoice '), ['invoice']));
    }
    // what identifies the request: the invoice as validated (key order and spacing do not matter)
    if (lines.length > 0) canonical = JSON.stringify(lines.map((l) => l.line));
  }
  return { lines: issues.length > 0 ? [] : lines, issues, canonical };
}

/** The status of the answer: the most specific problem decides (the body lists them all). */
function issueStatus(issues: HttpIssue[]): number | null {
  if (issues.length === 0) return null;
  const codes = new Set(issues.map((i) => i.code));
  if (codes.has('HTTP_ATTACHMENT_TOO_LARGE')) return 413;
  if (codes.has('HTTP_MULTIPART')) return 400;
  if (codes.has('HTTP_ATTACHMENT_TYPE') && issues.every((i) => i.code === 'HTTP_ATTACHMENT_TYPE')) return 415;
  return 422;
}

/** noemie_http_invoices_total: every answer of the upload route, the refusals of its preHandler (401, 403) included. */
async function countUpload(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const status = reply.statusCode;
  if (status === 202) recordInvoiceUpload(reply.getHeader('idempotent-replayed') === 'true' ? 'replayed' : 'accepted');
  else if (status >= 400 && status < 500) recordInvoiceUpload('refused');
}

function receiptOf(r: IdempotencyRecord): Receipt {
  return { receiptId: r.receiptId, invoiceId: r.invoiceId, receivedAt: r.receivedAt, lines: r.lines, attachment: { type: r.attachment.type, bytes: r.attachment.bytes, sha256: r.attachment.sha256 } };
}

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const _chunk of stream as AsyncIterable<Buffer>) void _chunk;
}
