import { IngestError, type Codec, type DecodeInput, type IngestEvent } from '../types.js';
import { invoiceEvents } from './events.js';

/**
 * Invoice JSON upload (formats.md §2, schemas/invoice.schema.json): one invoice per document.
 * A document is small (a member's invoice), so it is read whole — with a cap, so that a large
 * file cannot make us hold it: past the cap the file is refused, not truncated. Record numbers:
 * the invoice's reject is record 1, its line i (0-based) is record i + 1.
 */
export const DEFAULT_MAX_INVOICE_JSON_BYTES = 5 * 1024 * 1024;

export interface InvoiceJsonCodecOptions {
  maxBytes?: number;
}

export function createInvoiceJsonCodec(options: InvoiceJsonCodecOptions = {}): Codec {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INVOICE_JSON_BYTES;
  return { format: 'invoice-json', decode: (input) => decodeInvoiceJson(input, maxBytes) };
}

export const invoiceJsonCodec: Codec = createInvoiceJsonCodec();

async function* decodeInvoiceJson(input: DecodeInput, maxBytes: number): AsyncGenerator<IngestEvent> {
  const where = input.entry === undefined ? { file: input.file } : { file: input.file, entry: input.entry };
  const name = input.entry === undefined ? input.file : `${input.file}!${input.entry}`;
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = await input.open();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new IngestError('INGEST_STRUCTURE', `${name} is over ${maxBytes} bytes: an invoice upload is one invoice, a small JSON document`, { ...where, size });
      }
      chunks.push(chunk);
    }
  } finally {
    stream.destroy();
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IngestError('INGEST_STRUCTURE', `${name} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { ...where, record: 1 }, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new IngestError('INGEST_STRUCTURE', `${name} must hold one invoice object, found ${Array.isArray(doc) ? 'an array' : typeof doc}`, { ...where, record: 1 });
  }
  yield* invoiceEvents(doc, { where, record: 1, lineRecord: (i) => i + 1, raw: text });
}
