import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';

/**
 * Frames a UTF-8 byte stream into physical lines, with a bound on the bytes one line may hold.
 *
 * Why not csv-parse's streaming parser with `skip_records_with_error`: its recovery was tried and
 * is not good enough for "a bad line is rejected, the rest goes on" — after a CSV_MAX_RECORD_SIZE
 * skip it reports the following records one line off, and one unclosed quote swallows every
 * following row into a single field. No field of a décompte or invoice CSV may hold a newline
 * (codes, dates, amounts, ids), so one physical line is one record: we frame lines here (bounded
 * memory, exact line numbers) and hand each line that uses quotes to csv-parse (RFC 4180 rules).
 */
export type FramedLine =
  | { no: number; text: string }
  | { no: number; overlong: true; bytes: number }
  | { no: number; invalidUtf8: true; text: string };

const LF = 0x0a;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

export async function* frameLines(stream: Readable, maxLineBytes: number): AsyncGenerator<FramedLine> {
  let no = 0;
  let carry: Buffer[] = [];
  let carryBytes = 0;
  // Set once a line went past maxLineBytes: the rest of it is counted, never kept.
  let overlongBytes = -1;

  const finish = (bytes: Buffer): FramedLine => {
    no += 1;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
    let start = 0;
    if (no === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    const text = bytes.toString('utf8', start, end);
    // toString never fails: it substitutes U+FFFD. Only then pay for the strict decoder (a Latin-1
    // file sent as UTF-8 is the usual cause, and the sender must be told so).
    if (text.includes('\uFFFD')) {
      try {
        fatalUtf8.decode(bytes.subarray(start, end));
      } catch {
        return { no, invalidUtf8: true, text };
      }
    }
    return { no, text };
  };

  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      const end = nl === -1 ? buf.length : nl;
      const pieceBytes = end - start;
      if (overlongBytes >= 0) {
        overlongBytes += pieceBytes;
      } else if (carryBytes + pieceBytes > maxLineBytes) {
        overlongBytes = carryBytes + pieceBytes;
        carry = [];
        carryBytes = 0;
      } else if (nl === -1) {
        if (pieceBytes > 0) {
          carry.push(buf.subarray(start, end));
          carryBytes += pieceBytes;
        }
      }
      if (nl === -1) break;
      if (overlongBytes >= 0) {
        no += 1;
        yield { no, overlong: true, bytes: overlongBytes };
        overlongBytes = -1;
      } else {
        const piece = buf.subarray(start, end);
        yield finish(carry.length === 0 ? piece : Buffer.concat([...carry, piece]));
        carry = [];
        carryBytes = 0;
      }
      start = nl + 1;
    }
  }
  if (overlongBytes >= 0) {
    no += 1;
    yield { no, overlong: true, bytes: overlongBytes };
  } else if (carryBytes > 0) {
    yield finish(Buffer.concat(carry));
  }
}

/** Splits one `;` line into fields, or says why it cannot. */
export function splitFields(text: string): string[] | { error: string } {
  // Fast path: a line without a quote is a plain split, exactly what csv-parse returns for it.
  if (!text.includes('"')) return text.split(';');
  try {
    const records = parse(text, { delimiter: ';', relax_column_count: true }) as string[][];
    return records[0] ?? [''];
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** The reason a framed line cannot even be split into fields, as a record issue; null when it can. */
export function unreadableLine(line: FramedLine, maxLineBytes: number): { code: string; path: string[]; message: string } | null {
  if ('overlong' in line) {
    return { code: 'too_long', path: [], message: `line ${line.no} is ${line.bytes} bytes long, more than the ${maxLineBytes} a row may hold` };
  }
  if ('invalidUtf8' in line) {
    return { code: 'invalid_encoding', path: [], message: `line ${line.no} is not valid UTF-8 (Latin-1 bytes?): these CSV files are UTF-8` };
  }
  return null;
}
