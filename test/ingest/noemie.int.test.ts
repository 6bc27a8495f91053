import { createReadStream, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ActLine } from '../../src/model/act-line.js';
import type { DecodeInput, IngestEvent } from '../../src/ingest/types.js';
import { encodeNoemie, noemieCodec, readNoemieHeader } from '../../src/ingest/noemie/index.js';

/**
 * Golden fixtures (fixtures/golden/noemie): the .noemie files were built record by record with
 * formatRecord; the .expected.json files were written by hand from those records, field by field
 * (e.g. record 7 of sample: coefficient 0000450000 → "45", RO 0000…729P → "7.29").
 */
const dir = new URL('../../fixtures/golden/noemie/', import.meta.url);

function fixture(name: string): DecodeInput {
  const path = fileURLToPath(new URL(name, dir));
  return { file: name, open: async () => createReadStream(path, { highWaterMark: 1024 }) }; // small chunks: records cross chunk edges
}

function expected(name: string): IngestEvent[] {
  return JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as IngestEvent[];
}

async function decode(input: DecodeInput): Promise<IngestEvent[]> {
  const out: IngestEvent[] = [];
  for await (const e of noemieCodec.decode(input)) out.push(e);
  return out;
}

describe('golden: fixtures/golden/noemie', () => {
  it('sample.noemie decodes to sample.expected.json exactly', async () => {
    expect(await decode(fixture('sample.noemie'))).toStrictEqual(expected('sample.expected.json'));
  });

  it('rejects.noemie decodes to rejects.expected.json exactly (bad date, unknown entity, the rest goes on)', async () => {
    expect(await decode(fixture('rejects.noemie'))).toStrictEqual(expected('rejects.expected.json'));
  });

  it('encoding the expected lines of sample gives back sample.noemie byte for byte', () => {
    const lines = expected('sample.expected.json').flatMap((e) => (e.kind === 'line' ? [e.line as ActLine] : []));
    const meta = { emitter: "CPAM DE L'HÉRAULT", amcNumber: '0312345678', fileId: 'NOE-20240306-0001', createdOn: '2024-03-06' };
    const written = Buffer.concat([...encodeNoemie(lines, meta)]);
    expect(written.equals(readFileSync(new URL('sample.noemie', dir)))).toBe(true);
  });

  it('the émetteur of sample.noemie is Latin-1: É is byte 0xC9 and reads back as É', async () => {
    const bytes = readFileSync(new URL('sample.noemie', dir));
    // "CPAM DE L'HÉRAULT" from position 4: É is its 12th character → offset 3 + 11
    expect(bytes[14]).toBe(0xc9);
    expect(await readNoemieHeader(fixture('sample.noemie'))).toEqual({
      emitter: "CPAM DE L'HÉRAULT",
      amcNumber: '0312345678',
      fileId: 'NOE-20240306-0001',
      createdOn: '20240306',
    });
  });

  it('a consumer that stops early closes the file', async () => {
    const input = fixture('sample.noemie');
    const streams: Readable[] = [];
    const tracked: DecodeInput = {
      file: input.file,
      open: async () => {
        const s = await input.open();
        streams.push(s);
        return s;
      },
    };
    for await (const e of noemieCodec.decode(tracked)) {
      expect(e.kind).toBe('line');
      break;
    }
    expect(streams).toHaveLength(2);
    expect(streams.every((s) => s.destroyed)).toBe(true);
  });

  it('a file that cannot be read is INGEST_IO naming it', async () => {
    const missing = { file: 'gone.noemie', open: async () => createReadStream(fileURLToPath(new URL('does-not-exist.noemie', dir))) };
    await expect(decode(missing)).rejects.toMatchObject({ code: 'INGEST_IO', context: { file: 'gone.noemie' } });
  });

  it('reads the file twice (control pass, then events) and nothing else', async () => {
    let opened = 0;
    const input = fixture('sample.noemie');
    await decode({ ...input, open: () => ((opened += 1), input.open()) });
    expect(opened).toBe(2);
  });
});
