import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { PipelineStageError } from '../../src/pipeline/errors.js';
import type { PartSummary } from '../../src/ingest/types.js';
import type { BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { DropMarks } from '../../src/pipeline/publication-marks.js';
import type { Bus } from '../../src/bus/bus.js';
import { handLine, readTopic } from './liquidation-support.js';

/** The ingest → bus sink: staging per part, topics by source, keys by adhérent, rejects kept. */
const summary: PartSummary = { file: 'd.csv', format: 'csv', records: 0, accepted: 0, rejected: 0, decomptes: 0, expense: '0.00', roAmount: '0.00' };
const line = (lineNo: number, source: 'noemie' | 'invoice' = 'noemie') => ({
  kind: 'line' as const,
  line: { ...handLine(), lineNo, source, ...(source === 'invoice' ? { caisse: null, psSpecialty: null } : {}) },
  origin: { file: 'd.csv', record: lineNo + 1, textLine: 99 },
});

describe('BusIngestSink', () => {
  let dir: string;
  let bus: EmbeddedBus;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noemie-sink-'));
    bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: false });
  });
  afterEach(async () => {
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes a committed part by source, keyed by adhérent, with origin headers; an aborted part publishes nothing but its rejects', async () => {
    const sink = new BusIngestSink(bus, { batch: 2, spoolDir: dir });
    await sink.beginPart({ file: 'd.csv', format: 'csv' });
    for (const n of [1, 2, 3]) await sink.line(line(n));
    await sink.line(line(4, 'invoice'));
    await sink.reject({ origin: { file: 'd.csv', record: 9 }, issues: [{ code: 'custom', path: ['nir'], message: 'bad NIR' }] });
    expect(await readTopic(bus, 'decompte-lines')).toHaveLength(0); // nothing before the commit
    await sink.commitPart(summary);

    await sink.beginPart({ file: 'e.csv', format: 'csv' });
    for (const n of [5, 6]) await sink.line(line(n));
    await sink.reject({ origin: { file: 'e.csv', record: 3 }, issues: [{ code: 'custom', path: ['br'], message: 'bad BR' }] });
    await sink.abortPart({ ...summary, file: 'e.csv' });
    await sink.close();

    const decomptes = await readTopic(bus, 'decompte-lines');
    expect(decomptes.map((r) => r.value.line.lineNo)).toEqual([1, 2, 3]);
    for (const r of decomptes) {
      expect(r.key).toBe('A001');
      expect(r.partition).toBe(partitionFor('A001'));
      expect(r.headers).toEqual({ file: 'd.csv', record: r.value.line.lineNo + 1, lineKey: `noemie-011751001:HAND0001:${r.value.line.lineNo}` });
    }
    expect((await readTopic(bus, 'invoice-lines')).map((r) => r.value.line.lineNo)).toEqual([4]);
    // keyed by file: two files, maybe two partitions, so compared as a set
    expect((await readTopic(bus, 'rejects')).map((r) => r.value.origin).sort((a, b) => a.file.localeCompare(b.file))).toEqual([{ file: 'd.csv', record: 9 }, { file: 'e.csv', record: 3 }]);
    expect(sink.stats).toEqual({ lines: { 'decompte-lines': 3, 'invoice-lines': 1 }, rejects: 2, partsCommitted: 1, partsAborted: 1, alreadyPublished: 0 });
    expect((await readdir(dir)).filter((f) => f.endsWith('.ndjson'))).toEqual([]); // spools removed
  });

  it('refuses a part whose spool outgrows its limit', async () => {
    // Room for one and a half spooled lines (a line's message as JSON, plus its newline).
    const one = JSON.stringify({ line: line(1).line, origin: { file: 'd.csv', record: 2 } }).length + 1;
    const sink = new BusIngestSink(bus, { spoolDir: dir, maxSpoolBytes: Math.floor(one * 1.5) });
    await sink.beginPart({ file: 'd.csv', format: 'csv' });
    await sink.line(line(1));
    await expect(sink.line(line(2))).rejects.toSatisfy((e) => e instanceof PipelineStageError && e.code === 'PIPELINE_SPOOL_FULL');
    await sink.abortPart(summary);
    await sink.close();
    expect(await readTopic(bus, 'decompte-lines')).toHaveLength(0);
  });

  it('keys a line by the adhérent of the membership file, not by the member number printed on it', async () => {
    // The hand line says A001; the membership file puts this NIR + rang in family B002.
    const byNirRang = (nir: string, rang: number) => (nir === handLine().nir && rang === 1 ? { adherentId: 'B002' } : undefined);
    const members = { byNirRang, adherentOf: (nir: string, rang: number) => byNirRang(nir, rang)?.adherentId } as Pick<BeneficiaryIndex, 'byNirRang' | 'adherentOf'>;
    const sink = new BusIngestSink(bus, { spoolDir: dir, members });
    await sink.beginPart({ file: 'd.csv', format: 'csv' });
    await sink.line(line(1));
    await sink.line({ ...line(2), line: { ...line(2).line, rang: 2 } }); // unknown to the membership: its own number
    await sink.commitPart(summary);
    await sink.close();
    const got = await readTopic(bus, 'decompte-lines');
    const byLine = new Map(got.map((r) => [r.value.line.lineNo, r]));
    expect(byLine.get(1)?.key).toBe('B002');
    expect(byLine.get(1)?.partition).toBe(partitionFor('B002'));
    expect(byLine.get(2)?.key).toBe('A001');
  });

  it('a drop read again after a failed publication resumes where the bus stopped: each line once, stable record ids', async () => {
    const sha256 = 'ab'.repeat(32);
    const marksDir = join(dir, 'marks');
    // A bus whose 5th line produce call fails (the process dies there): parts of 5 lines, 2 per call.
    let calls = 0;
    const failing = new Proxy(bus, {
      get(target, prop, receiver) {
        if (prop === 'produce') {
          return async (topic: string, messages: unknown[]) => {
            if (topic === 'decompte-lines' && ++calls === 5) throw new Error('killed');
            return (target.produce as (t: string, m: unknown[]) => Promise<unknown>).call(target, topic, messages);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    }) as Bus;
    const ingest = async (sink: BusIngestSink) => {
      for (const part of [1, 2]) {
        await sink.beginPart({ file: `p${part}.csv`, format: 'csv' });
        for (let n = 1; n <= 5; n++) await sink.line(line(part * 10 + n));
        await sink.reject({ origin: { file: `p${part}.csv`, record: 99 }, issues: [{ code: 'custom', path: ['br'], message: 'bad BR' }] });
        await sink.commitPart({ ...summary, file: `p${part}.csv` });
      }
    };
    const first = new BusIngestSink(failing, { batch: 2, spoolDir: dir, drop: { sha256, marks: await DropMarks.open(marksDir, sha256) } });
    // Part 1: calls 1–3 (2 + 2 + 1 lines); part 2: call 4 (lines 1–2) then call 5 fails.
    await expect(ingest(first)).rejects.toThrow('killed');
    await first.close();
    expect((await readTopic(bus, 'decompte-lines')).length).toBe(5 + 2);

    const again = new BusIngestSink(bus, { batch: 2, spoolDir: dir, drop: { sha256, marks: await DropMarks.open(marksDir, sha256) } });
    await ingest(again);
    await again.close();
    const got = await readTopic(bus, 'decompte-lines');
    // 10 lines, each once: part 1 skipped whole (5), part 2 resumed after its first 2.
    expect(got.map((r) => r.value.line.lineNo).sort((a, b) => a - b)).toEqual([11, 12, 13, 14, 15, 21, 22, 23, 24, 25]);
    expect(got.map((r) => r.value.recordId).sort()).toEqual([...[1, 2, 3, 4, 5].map((n) => `abababababababab:1:${n}`), ...[1, 2, 3, 4, 5].map((n) => `abababababababab:2:${n}`)]);
    expect(again.stats.alreadyPublished).toBe(5 + 2);
    // Rejects of a part whose publication had started are not sent twice: p1 once, p2 once.
    expect((await readTopic(bus, 'rejects')).map((r) => r.value.origin.file).sort()).toEqual(['p1.csv', 'p2.csv']);
    expect((await readdir(dir)).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
  });

  it('a part mixing décompte and invoice lines, cut when its topic changes, resumes at the first line not on the bus', async () => {
    const sha256 = 'cd'.repeat(32);
    const marksDir = join(dir, 'marks');
    // The process dies on the part's first invoice-lines produce call, right after the décompte lines before it were produced.
    const failing = new Proxy(bus, {
      get(target, prop, receiver) {
        if (prop === 'produce') {
          return async (topic: string, messages: unknown[]) => {
            if (topic === 'invoice-lines') throw new Error('killed');
            return (target.produce as (t: string, m: unknown[]) => Promise<unknown>).call(target, topic, messages);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    }) as Bus;
    const ingest = async (sink: BusIngestSink) => {
      await sink.beginPart({ file: 'mixed.csv', format: 'csv' });
      for (const [n, source] of [[1, 'noemie'], [2, 'noemie'], [3, 'invoice'], [4, 'noemie']] as const) await sink.line(line(n, source));
      await sink.commitPart({ ...summary, file: 'mixed.csv' });
    };
    const first = new BusIngestSink(failing, { batch: 10, spoolDir: dir, drop: { sha256, marks: await DropMarks.open(marksDir, sha256) } });
    await expect(ingest(first)).rejects.toThrow('killed');
    await first.close();
    expect((await readTopic(bus, 'decompte-lines')).map((r) => r.value.line.lineNo)).toEqual([1, 2]);

    const again = new BusIngestSink(bus, { batch: 10, spoolDir: dir, drop: { sha256, marks: await DropMarks.open(marksDir, sha256) } });
    await ingest(again);
    await again.close();
    // every line once: the invoice line that was not produced is not taken for published
    expect((await readTopic(bus, 'decompte-lines')).map((r) => r.value.line.lineNo).sort()).toEqual([1, 2, 4]);
    expect((await readTopic(bus, 'invoice-lines')).map((r) => r.value.line.lineNo)).toEqual([3]);
    expect(again.stats.alreadyPublished).toBe(2);
  });
});
