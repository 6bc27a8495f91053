import type { Readable } from 'node:stream';
import { IngestError, type DropFormat } from './types.js';

/**
 * The extension of a drop file says what it should be; its first bytes must agree before a codec
 * is trusted with it (a caisse renaming a file, or a hostile upload, must not reach the wrong
 * parser). A CSV says which of the two CSV formats it is by its header.
 */
export type Extension = 'zip' | 'noemie' | 'csv' | 'xml' | 'json';

const EXTENSIONS: Record<string, Extension> = { '.zip': 'zip', '.noemie': 'noemie', '.csv': 'csv', '.xml': 'xml', '.json': 'json' };

const EXPECTED: Record<Extension, string> = {
  zip: 'a ZIP archive',
  noemie: 'a NOEMIE décompte file',
  csv: 'a CSV décompte or invoice file',
  xml: 'an XML décompte file',
  json: 'a JSON invoice',
};

/** What to call a part refused before its bytes told us more. */
export const FORMAT_OF_EXTENSION: Record<Extension, DropFormat> = { zip: 'zip', noemie: 'noemie', csv: 'csv', xml: 'xml', json: 'invoice-json' };

export function extensionOf(name: string): Extension | null {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? null : EXTENSIONS[base.slice(dot).toLowerCase()] ?? null;
}

/** Enough for a CSV header row and a NOEMIE 000 record. */
export const HEAD_BYTES = 4096;

export async function readHead(open: () => Promise<Readable>, bytes = HEAD_BYTES): Promise<Buffer> {
  const stream = await open();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      size += b.length;
      if (size >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/** The format the head shows for a file with this extension, or INGEST_FORMAT_MISMATCH. */
export function formatOfHead(ext: Extension, head: Buffer, label: string): DropFormat {
  const text = head.toString('latin1');
  const start = text.replace(/^(\xEF\xBB\xBF)?\s*/, '');
  switch (ext) {
    case 'zip':
      if (text.startsWith('PK\x03\x04') || text.startsWith('PK\x05\x06')) return 'zip';
      break;
    case 'noemie':
      if (text.startsWith('000')) return 'noemie';
      break;
    case 'xml':
      if (start.startsWith('<')) return 'xml';
      break;
    case 'json':
      if (start.startsWith('{')) return 'invoice-json';
      break;
    case 'csv': {
      const firstLine = text.replace(/^\xEF\xBB\xBF/, '').split(/\r?\n/, 1)[0] ?? '';
      const columns = firstLine.split(';').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
      if (columns.includes('decompte_id')) return 'csv';
      if (columns.includes('invoice_id')) return 'invoice-csv';
      break;
    }
    default: {
      const never: never = ext;
      throw new Error(`unhandled extension ${String(never)}`);
    }
  }
  const found = head.length === 0 ? 'it is empty' : `it starts with ${preview(head)}`;
  throw new IngestError('INGEST_FORMAT_MISMATCH', `${label} is not ${EXPECTED[ext]}: ${found}`, { head: preview(head) });
}

/** The first bytes, printable: a reader can tell a PDF, an HTML error page or a Latin-1 CSV. */
function preview(head: Buffer): string {
  const shown = head.subarray(0, 24).toString('latin1').replace(/[^\x20-\x7e\xa0-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${shown}"${head.length > 24 ? '…' : ''}`;
}
