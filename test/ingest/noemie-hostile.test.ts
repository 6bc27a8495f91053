import { describe, expect, it } from 'vitest';
import { splitRecords } from '../../src/ingest/noemie/splitter.js';
import { DEFAULT_LINE, decodeAll, inputOf, lines, rec, rejects } from './noemie-support.js';

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;
// One filled chunk handed out again and again: the test's own input must not be what uses memory.
const FILLER = Buffer.alloc(CHUNK, 'A');

function usedBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** `prefix` + `size` bytes without a newline + `suffix`, generated chunk by chunk; tracks peak memory. */
function hugeLine(prefix: string, size: number, suffix: string, peak: { bytes: number }) {
  return async function* () {
    yield Buffer.from(prefix, 'latin1');
    for (let sent = 0; sent < size; sent += CHUNK) {
      peak.bytes = Math.max(peak.bytes, usedBytes());
      yield FILLER;
    }
    yield Buffer.from(suffix, 'latin1');
  };
}

describe('a 50 MB line without a newline', () => {
  it('in the middle of a file: rejected as record_too_long, the lines around it decoded, memory flat', async () => {
    const head = [rec.header(), rec.decompte(), rec.beneficiary(), rec.professional(), rec.act()].map((r) => `${r}\n`).join('');
    // records: 000 100 103 120 255 | XXX…(50 MB) | 255 990 999 → 9 records, 2 act lines of 21.00
    const tail = `\n${[rec.act({ line_no: '2' }), rec.control(2, '4200P'), rec.trailer(9, 1, '4200P')].join('\n')}\n`;
    const peak = { bytes: 0 };
    const before = usedBytes();
    const { events, error } = await decodeAll(inputOf(hugeLine(`${head}XXX`, 50 * MB, tail, peak)));
    expect(error).toBeUndefined();
    expect(lines(events)).toEqual([DEFAULT_LINE, { ...DEFAULT_LINE, lineNo: 2 }]);
    const [r] = rejects(events);
    expect(r?.origin.record).toBe(6);
    expect(r?.issues.map((i) => i.code)).toEqual(['record_too_long', 'unknown_entity']);
    expect(r?.issues[0]?.input).toBe(3 + 50 * MB);
    expect(r?.raw?.length).toBeLessThanOrEqual(256); // the quarantine report keeps the head only
    // buffering the line would show as +50 MB (+100 MB as a JS string); a bounded splitter stays near zero
    expect(peak.bytes - before).toBeLessThan(20 * MB);
  });

  it('as the whole file: refused as not a NOEMIE file', async () => {
    const peak = { bytes: 0 };
    const { events, error } = await decodeAll(inputOf(hugeLine('000', 50 * MB, '', peak)));
    expect(events).toEqual([]);
    expect(error).toMatchObject({ code: 'INGEST_FORMAT_MISMATCH', context: { record: 1 } });
  });
});

describe('splitRecords', () => {
  async function split(chunks: string[], max = 5) {
    const out = [];
    for await (const r of splitRecords((async function* () {
      for (const c of chunks) yield Buffer.from(c, 'latin1');
    })(), max)) out.push(r);
    return out;
  }

  it('joins records cut across chunks, strips \\r\\n, keeps the real length of long records', async () => {
    expect(await split(['ab', 'c\r', '\nabcdefgh', 'ij\n\nxyz'])).toEqual([
      { no: 1, text: 'abc', length: 3 },
      { no: 2, text: 'abcde', length: 10 },
      { no: 3, text: '', length: 0 },
      { no: 4, text: 'xyz', length: 3 }, // last record without a final newline
    ]);
  });

  it('a record of exactly the record length followed by \\r\\n across chunks is not too long', async () => {
    expect(await split(['abcde\r', '\n'])).toEqual([{ no: 1, text: 'abcde', length: 5 }]);
    expect(await split(['abcdef\n'])).toEqual([{ no: 1, text: 'abcde', length: 6 }]);
  });

  it('reads bytes as ISO-8859-1', async () => {
    const out = [];
    for await (const r of splitRecords([Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])], 10)) out.push(r.text);
    expect(out).toEqual(['café']);
  });
});
