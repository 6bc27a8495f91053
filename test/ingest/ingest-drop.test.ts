import { describe, expect, it } from 'vitest';
import { ingestDrop, fullyRead, anyPartRead } from '../../src/ingest/ingest-drop.js';
import type { IngestSink, LineEvent, PartRef } from '../../src/ingest/sink.js';
import { IngestError, type PartSummary } from '../../src/ingest/types.js';
import type { RejectedRecord } from '../../src/model/issues.js';
import { fakeReader, lineEv, rejectEv } from './ingest-drop.fakes.js';

/** Records every call, in order, so staging (begin/commit/abort) can be asserted. */
class RecordingSink implements IngestSink {
  calls: string[] = [];
  lines: LineEvent[] = [];
  rejects: RejectedRecord[] = [];
  summaries: PartSummary[] = [];
  beginPart(p: PartRef) { this.calls.push(`begin ${p.entry ?? p.file}`); }
  line(ev: LineEvent) { this.calls.push(`line ${ev.origin.record}`); this.lines.push(ev); }
  reject(r: RejectedRecord) { this.calls.push(`reject ${r.origin.record}`); this.rejects.push(r); }
  commitPart(s: PartSummary) { this.calls.push(`commit ${s.entry ?? s.file}`); this.summaries.push(s); }
  abortPart(s: PartSummary) { this.calls.push(`abort ${s.entry ?? s.file}`); this.summaries.push(s); }
  close() { this.calls.push('close'); }
}

const SHA = 'a'.repeat(64);

describe('ingestDrop', () => {
  it('sums accepted lines per part, signed by operation, and counts décomptes by change', async () => {
    // Part a.csv:
    //   D1 line 1  I expense 30.00 RO 21.00
    //   D1 line 2  I expense 50.00 RO 35.00
    //   record 3 rejected (not counted in sums)
    //   D2 line 1  I expense 120.50 RO 84.35
    //   D2 line 2  A expense 30.00 RO 21.00   (annulation: subtracts)
    // expense = 30 + 50 + 120.50 − 30 = 170.50 ; RO = 21 + 35 + 84.35 − 21 = 119.35 ; décomptes D1, D2 = 2
    // Part b.csv: D1 of ANOTHER caisse (same id, different caisse = another décompte) then D3 → 2 décomptes
    //   expense 10.00 + 5.55 = 15.55 ; RO 7.00 + 3.33 = 10.33
    const reader = fakeReader([
      {
        file: 'drop.zip', entry: 'a.csv', format: 'csv', events: [
          lineEv('drop.zip', 2, { decompteId: 'D1', lineNo: 1 }, 'a.csv'),
          lineEv('drop.zip', 3, { decompteId: 'D1', lineNo: 2, expense: '50.00', roAmount: '35.00' }, 'a.csv'),
          rejectEv('drop.zip', 4, 'expense', '12,30', 'expected an amount', 'a.csv'),
          lineEv('drop.zip', 5, { decompteId: 'D2', lineNo: 1, expense: '120.50', roAmount: '84.35' }, 'a.csv'),
          lineEv('drop.zip', 6, { decompteId: 'D2', lineNo: 2, operation: 'A' }, 'a.csv'),
        ],
      },
      {
        file: 'drop.zip', entry: 'b.csv', format: 'csv', events: [
          lineEv('drop.zip', 2, { decompteId: 'D1', caisse: '011931001', expense: '10.00', roAmount: '7.00' }, 'b.csv'),
          lineEv('drop.zip', 3, { decompteId: 'D3', caisse: '011931001', expense: '5.55', roAmount: '3.33' }, 'b.csv'),
        ],
      },
    ]);
    const sink = new RecordingSink();
    const result = await ingestDrop('/x/drop.zip', { sink, reader, sha256: SHA });
    expect(result.parts).toEqual([
      { file: 'drop.zip', entry: 'a.csv', format: 'csv', records: 5, accepted: 4, rejected: 1, decomptes: 2, expense: '170.50', roAmount: '119.35' },
      { file: 'drop.zip', entry: 'b.csv', format: 'csv', records: 2, accepted: 2, rejected: 0, decomptes: 2, expense: '15.55', roAmount: '10.33' },
    ]);
    // totals: 170.50 + 15.55 = 186.05 ; 119.35 + 10.33 = 129.68
    expect(result.totals).toEqual({ parts: 2, refusedParts: 0, records: 7, accepted: 6, rejected: 1, decomptes: 4, expense: '186.05', roAmount: '129.68' });
    expect(result).toMatchObject({ file: 'drop.zip', sha256: SHA });
    expect(sink.calls).toEqual(['begin a.csv', 'line 2', 'line 3', 'reject 4', 'line 5', 'line 6', 'commit a.csv', 'begin b.csv', 'line 2', 'line 3', 'commit b.csv']);
    expect(fullyRead(result)).toBe(true);
  });

  it('counts a décompte again when its lines are not consecutive (documented: lines of a décompte are consecutive)', async () => {
    const reader = fakeReader([{ file: 'f.csv', format: 'csv', events: [
      lineEv('f.csv', 2, { decompteId: 'D1' }), lineEv('f.csv', 3, { decompteId: 'D2' }), lineEv('f.csv', 4, { decompteId: 'D1' }),
    ] }]);
    const result = await ingestDrop('f.csv', { reader, sha256: SHA });
    expect(result.parts[0]!.decomptes).toBe(3);
  });

  it('aborts a part refused midway, keeps its rejects, and goes on with the next part', async () => {
    const refusal = new IngestError('INGEST_ZIP_BOMB', 'entry b.noemie inflates past 10 bytes', { file: 'drop.zip', entry: 'b.noemie' });
    const reader = fakeReader([
      { file: 'drop.zip', entry: 'a.noemie', format: 'noemie', events: [lineEv('drop.zip', 3, {}, 'a.noemie')] },
      { file: 'drop.zip', entry: 'b.noemie', format: 'noemie', events: [
        lineEv('drop.zip', 3, {}, 'b.noemie'),
        rejectEv('drop.zip', 4, 'nir', '1850375123456', 'bad key', 'b.noemie'),
        lineEv('drop.zip', 5, {}, 'b.noemie'),
        refusal,
      ] },
      { file: 'drop.zip', entry: 'c.noemie', format: 'noemie', events: [lineEv('drop.zip', 3, { expense: '12.30' }, 'c.noemie')] },
    ]);
    const sink = new RecordingSink();
    const result = await ingestDrop('drop.zip', { sink, reader, sha256: SHA });
    expect(sink.calls).toEqual([
      'begin a.noemie', 'line 3', 'commit a.noemie',
      'begin b.noemie', 'line 3', 'reject 4', 'line 5', 'abort b.noemie',
      'begin c.noemie', 'line 3', 'commit c.noemie',
    ]);
    expect(sink.rejects).toHaveLength(1);
    const refused = result.parts[1]!;
    // nothing of b is published: accepted and sums are zero; records/rejects say how far it went
    expect(refused).toEqual({
      file: 'drop.zip', entry: 'b.noemie', format: 'noemie', records: 3, accepted: 0, rejected: 1, decomptes: 0, expense: '0.00', roAmount: '0.00',
      error: { code: 'INGEST_ZIP_BOMB', message: 'entry b.noemie inflates past 10 bytes', context: { file: 'drop.zip', entry: 'b.noemie' } },
    });
    // totals: a 30.00 + c 12.30 = 42.30 expense; records 1 + 3 + 1 = 5
    expect(result.totals).toMatchObject({ parts: 3, refusedParts: 1, records: 5, accepted: 2, rejected: 1, expense: '42.30' });
    expect(fullyRead(result)).toBe(false);
    expect(anyPartRead(result)).toBe(true);
  });

  it('records a drop the reader cannot list at all', async () => {
    const reader = fakeReader(new IngestError('INGEST_UNKNOWN_FORMAT', 'not a zip, noemie, csv or xml file', { file: 'x.bin' }));
    const result = await ingestDrop('x.bin', { reader, sha256: SHA });
    expect(result.parts).toEqual([]);
    expect(result.error).toMatchObject({ code: 'INGEST_UNKNOWN_FORMAT' });
    expect(fullyRead(result)).toBe(false);
    expect(anyPartRead(result)).toBe(false);
  });

  it('aborts the part and throws when the sink fails (not the drop\'s fault)', async () => {
    const reader = fakeReader([{ file: 'f.csv', format: 'csv', events: [lineEv('f.csv', 2), lineEv('f.csv', 3)] }]);
    const sink = new RecordingSink();
    sink.line = (ev: LineEvent) => {
      sink.calls.push(`line ${ev.origin.record}`);
      if (ev.origin.record === 3) throw new Error('broker down');
    };
    await expect(ingestDrop('f.csv', { sink, reader, sha256: SHA })).rejects.toThrow('broker down');
    expect(sink.calls).toEqual(['begin f.csv', 'line 2', 'line 3', 'abort f.csv']);
  });

  it('waits for the sink before reading the next record (backpressure)', async () => {
    const reader = fakeReader([{ file: 'f.csv', format: 'csv', events: [lineEv('f.csv', 2), lineEv('f.csv', 3)] }]);
    const order: string[] = [];
    const sink = new RecordingSink();
    sink.line = async (ev: LineEvent) => {
      order.push(`start ${ev.origin.record}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${ev.origin.record}`);
    };
    await ingestDrop('f.csv', { sink, reader, sha256: SHA });
    expect(order).toEqual(['start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('reports progress every N records and at the end of each part', async () => {
    const events = Array.from({ length: 5 }, (_, i) => lineEv('f.csv', i + 2));
    const reader = fakeReader([{ file: 'f.csv', format: 'csv', events }]);
    const seen: number[] = [];
    await ingestDrop('f.csv', { reader, sha256: SHA, progressEvery: 2, onProgress: (p) => seen.push(p.total) });
    expect(seen).toEqual([2, 4, 5]);
  });

  it('stops between records when aborted, aborting the part in the sink', async () => {
    const controller = new AbortController();
    const reader = fakeReader([{ file: 'f.csv', format: 'csv', events: [lineEv('f.csv', 2), lineEv('f.csv', 3)] }]);
    const sink = new RecordingSink();
    const line = sink.line.bind(sink);
    sink.line = (ev: LineEvent) => { line(ev); controller.abort(); };
    await expect(ingestDrop('f.csv', { sink, reader, sha256: SHA, signal: controller.signal })).rejects.toThrow();
    expect(sink.calls).toEqual(['begin f.csv', 'line 2', 'abort f.csv']);
  });
});
