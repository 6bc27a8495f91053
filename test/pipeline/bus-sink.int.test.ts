import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { PipelineStageError } from '../../src/pipeline/errors.js';
import type { PartSummary } from '../../src/ingest/types.js';
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
    expect(sink.stats).toEqual({ lines: { 'decompte-lines': 3, 'invoice-lines': 1 }, rejects: 2, partsCommitted: 1, partsAborted: 1 });
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
});
