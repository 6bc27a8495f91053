/**
 * Bytes → records, in bounded memory whatever the input: a record is kept up to the record length
 * (plus one byte for the `\r` of a `\r\n`); anything past that is counted and dropped until the next
 * newline, so a 50 MB line without a newline costs a counter, not 50 MB.
 */

export interface RawRecord {
  /** 1-based record (line) number */
  no: number;
  /** the record decoded as ISO-8859-1, cut to `maxLength` characters when longer */
  text: string;
  /** the record's real length in bytes (= characters in Latin-1), without its line terminator */
  length: number;
}

const LF = 0x0a;
const CR = 0x0d;

type Chunk = Buffer | Uint8Array | string;

export async function* splitRecords(stream: AsyncIterable<Chunk> | Iterable<Chunk>, maxLength: number): AsyncGenerator<RawRecord> {
  const cap = maxLength + 1;
  const pending = Buffer.allocUnsafe(cap);
  let pendingLen = 0;
  let dropped = 0;
  let lastByte = -1;
  let no = 0;

  const take = (): RawRecord => {
    let length = pendingLen + dropped;
    if (lastByte === CR) length -= 1;
    const kept = Math.min(length, maxLength);
    const rec = { no: ++no, text: pending.toString('latin1', 0, kept), length };
    pendingLen = 0;
    dropped = 0;
    lastByte = -1;
    return rec;
  };

  for await (const piece of stream) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl === -1 ? chunk.length : nl;
      if (end > start) {
        // Fast path: a whole line inside the chunk is decoded straight from it, no copy.
        if (nl !== -1 && pendingLen === 0 && dropped === 0 && end - start <= cap) {
          const length = chunk[end - 1] === CR ? end - start - 1 : end - start;
          yield { no: ++no, text: chunk.toString('latin1', start, start + Math.min(length, maxLength)), length };
          start = nl + 1;
          continue;
        }
        const room = cap - pendingLen;
        const copied = Math.min(room, end - start);
        chunk.copy(pending, pendingLen, start, start + copied);
        pendingLen += copied;
        dropped += end - start - copied;
        lastByte = chunk[end - 1] ?? -1;
      }
      if (nl === -1) break;
      yield take();
      start = nl + 1;
    }
  }
  // a last record without a final newline; a file ending in "\n" has no empty record after it
  if (pendingLen > 0 || dropped > 0) yield take();
}
