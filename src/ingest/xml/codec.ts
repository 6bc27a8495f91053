import type { Codec, DecodeInput, IngestEvent } from '../types.js';
import type { Origin } from '../../model/issues.js';
import { decodeDecompte } from './decompte.js';
import { scanDecomptes } from './scanner.js';

/**
 * Décompte XML (formats.md §1c, schemas/decomptes.xsd), streamed: the scanner cuts the bytes at
 * `</decompte>` and fast-xml-parser sees one décompte at a time.
 *
 * Two passes over the bytes, as for NOEMIE totals: the first only scans the structure (DOCTYPE or
 * ENTITY anywhere, content outside the décomptes, a truncated document) so that a document
 * refused whole has published nothing; the second parses and validates. What is wrong inside one
 * décompte (not well-formed, too long, bad values) rejects that décompte's lines only.
 */

/** A décompte is a few lines of ~400 characters; 4 Mi characters allows 9 999 lines and bounds memory. */
export const DEFAULT_MAX_DECOMPTE_CHARS = 4 * 1024 * 1024;

export interface XmlCodecOptions {
  maxDecompteChars?: number;
}

export function createXmlCodec(options: XmlCodecOptions = {}): Codec {
  const max = options.maxDecompteChars ?? DEFAULT_MAX_DECOMPTE_CHARS;
  return { format: 'xml', decode: (input) => decodeXml(input, max) };
}

export const xmlCodec: Codec = createXmlCodec();

async function* decodeXml(input: DecodeInput, max: number): AsyncGenerator<IngestEvent> {
  const where = input.entry === undefined ? { file: input.file } : { file: input.file, entry: input.entry };

  const check = await input.open();
  try {
    for await (const item of scanDecomptes(check, max, where)) void item;
  } finally {
    check.destroy();
  }

  const stream = await input.open();
  try {
    let record = 1;
    for await (const item of scanDecomptes(stream, max, where)) {
      if (item.kind === 'oversize') {
        const origin: Origin = { ...where, record, textLine: item.textLine };
        const message = `décompte #${item.index} is over ${max} characters long (${item.chars}+): its ${item.lineElements} <line>(s) are rejected unread`;
        yield { kind: 'reject', rejected: { origin, issues: [{ code: 'too_long', path: ['decompte'], input: item.chars, message }] } };
        record += Math.max(1, item.lineElements);
        continue;
      }
      const { events, records } = decodeDecompte({ where, index: item.index, textLine: item.textLine, xml: item.xml }, record);
      yield* events;
      record += records;
    }
  } finally {
    stream.destroy();
  }
}
