export { invoiceJsonCodec, createInvoiceJsonCodec, DEFAULT_MAX_INVOICE_JSON_BYTES, type InvoiceJsonCodecOptions } from './json.js';
export { invoiceCsvCodec, INVOICE_HEADER, INVOICE_OPTIONAL, MAX_INVOICE_ROWS } from './csv.js';
export { toActLines } from './to-act-lines.js';
