import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDrop } from '../../src/ingest/drop.js';
import { decodeCsvRow } from '../../src/ingest/csv/index.js';
import { ingestDrop } from '../../src/ingest/ingest-drop.js';
import type { IngestSink } from '../../src/ingest/sink.js';
import type { CsvRowEvent, IngestEvent } from '../../src/ingest/types.js';
import { RowDecodePool } from '../../src/pipeline/row-decoder.js';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { DropMarks } from '../../src/pipeline/publication-marks.js';
import type { Bus } from '../../src/bus/bus.js';
import { PipelineStageError } from '../../src/pipeline/errors.js';
import { tempDir, zipBuffer } from '../ingest/zip-support.js';

/**
 * The ingest's row decoder (src/pipeline/row-decoder.ts, after `npm run build`: its worker is
 * dist/workers/decode-rows.worker.js) yields, in file order, exactly what the CSV codec's
 * `decode` yields on the service's thread — lines (same keys in the same order), rejects and
 * their issues, origins with their ZIP entry — across many batches, and throws what the part's
 * rows throw after the events before it.
 */
const GOLDEN = join(import.meta.dirname, '../../fixtures/golden/csv/decomptes.csv');
const pool = new RowDecodePool();
afterAll(() => pool.close());

/** A CSV of `n` data rows from the golden file's, each variant a row of its own: some valid, some rejected in every way a row can be. */
async function bigCsv(n: number): Promise<string> {
  const [header, ...rows] = (await readFile(GOLDEN, 'utf8')).split('\n').filter((l) => l !== '');
  const out = [header!];
  for (let i = 0; i < n; i++) {
    const base = rows[i % rows.length]!.split(';');
    base[0] = `D${1000 + i}`; // decompte_id
    if (i % 97 === 5) base[19] = 'abc'; // expense not an amount
    if (i % 131 === 7) base.pop(); // a field short
    if (i % 211 === 9) out.push(''); // a blank line: skipped, its number counted
    if (i % 307 === 11) base[9] = '"ADH;"QUOTE'; // unreadable quoting
    out.push(base.join(';'));
  }
  out.push('x'.repeat(20 * 1024)); // longer than a row may be: rejected by the framing
  out.push(rows[0]!);
  return `${out.join('\n')}\n`;
}

/**
 * The pooled events without the lines' JSON the worker adds (`json`), after checking that each is
 * `JSON.stringify` of its line: what is left must be the codec's events exactly.
 */
function withoutJson(events: IngestEvent[]): IngestEvent[] {
  return events.map((ev) => {
    if (ev.kind !== 'line') return ev;
    expect(ev.json).toBe(JSON.stringify(ev.line));
    const { json: _json, ...rest } = ev;
    return rest;
  });
}

async function eventsOf(path: string, withPool: boolean): Promise<{ parts: { events: IngestEvent[]; error?: string }[] }> {
  const parts: { events: IngestEvent[]; error?: string }[] = [];
  for await (const part of readDrop(path)) {
    const where = part.entry === undefined ? { file: part.file } : { file: part.file, entry: part.entry };
    const events: IngestEvent[] = [];
    const result: { events: IngestEvent[]; error?: string } = { events };
    try {
      for await (const ev of withPool && part.rows ? pool.decode(part.rows, where) : part.events) events.push(ev);
    } catch (e) {
      result.error = `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    if (withPool) result.events = withoutJson(events);
    parts.push(result);
  }
  return { parts };
}

describe('ingest row decoder (worker thread)', () => {
  it('yields what the codec yields on a 3 000-row file: lines, rejects, blank lines and an over-long line, in order', async () => {
    const dir = await tempDir();
    try {
      const path = await dir.write('big.csv', await bigCsv(3000));
      const inThread = await eventsOf(path, false);
      const pooled = await eventsOf(path, true);
      const events = inThread.parts[0]!.events;
      expect(events.length).toBe(3002);
      expect(events.filter((e) => e.kind === 'reject').length).toBeGreaterThan(50);
      // exactly, key order included (the bus writes the line's JSON as its keys come)
      expect(JSON.stringify(pooled)).toBe(JSON.stringify(inThread));
      expect(pooled).toEqual(inThread);
    } finally {
      await dir.remove();
    }
  });

  it('names the ZIP entry in each origin, part by part', async () => {
    const dir = await tempDir();
    try {
      const csv = await bigCsv(700);
      const path = await dir.write('drop.zip', await zipBuffer([{ name: 'a.csv', data: csv }, { name: 'b.csv', data: csv.split('\n').slice(0, 40).join('\n') }]));
      const inThread = await eventsOf(path, false);
      const pooled = await eventsOf(path, true);
      expect(inThread.parts.length).toBe(2);
      expect(JSON.stringify(pooled)).toBe(JSON.stringify(inThread));
      expect((pooled.parts[1]!.events[0] as { kind: 'line'; origin: { entry?: string } }).origin.entry).toBe('b.csv');
    } finally {
      await dir.remove();
    }
  });

  it('a refused part (a bad header) throws the same error', async () => {
    const path = join(import.meta.dirname, '../../fixtures/golden/csv/bad-header.csv');
    const inThread = await eventsOf(path, false);
    const pooled = await eventsOf(path, true);
    expect(inThread.parts[0]!.error).toMatch(/^INGEST_/);
    expect(pooled).toEqual(inThread);
  });

  it('rows that throw mid-part: every event before the throw, in order, then the error', async () => {
    const [header, ...rows] = (await readFile(GOLDEN, 'utf8')).split('\n').filter((l) => l !== '');
    const names = header!.split(';');
    const { CSV_COLUMN_NAMES, CSV_COLUMNS } = await import('../../src/model/act-line.js');
    const layout = { positions: CSV_COLUMN_NAMES.map((c) => [CSV_COLUMNS[c], names.indexOf(c)] as const), width: names.length };
    const boom = new Error('the entry failed its CRC check');
    async function* source(): AsyncGenerator<CsvRowEvent> {
      yield { kind: 'layout', layout };
      for (let i = 0; i < 1300; i++) yield { kind: 'row', record: i + 2, text: rows[i % rows.length]! };
      throw boom;
    }
    const got: IngestEvent[] = [];
    await expect((async () => {
      for await (const ev of pool.decode(source(), { file: 'f.csv' })) got.push(ev);
    })()).rejects.toBe(boom);
    expect(withoutJson(got)).toEqual(Array.from({ length: 1300 }, (_, i) => decodeCsvRow(rows[i % rows.length]!, { file: 'f.csv', record: i + 2 }, layout)));
  });

  it('ingestDrop with the decoder hands the sink the same calls and sums the same totals', async () => {
    const dir = await tempDir();
    try {
      const path = await dir.write('big.csv', await bigCsv(1500));
      const run = async (decode: boolean) => {
        const calls: unknown[] = [];
        const sink: IngestSink = {
          beginPart: async (p) => void calls.push(['begin', p]),
          line: async (ev) => void calls.push(['line', decode ? withoutJson([ev])[0] : ev]),
          reject: async (r) => void calls.push(['reject', r]),
          commitPart: async (s) => void calls.push(['commit', s]),
          abortPart: async (s) => void calls.push(['abort', s]),
          close: async () => undefined,
        };
        const result = await ingestDrop(path, { sink, ...(decode ? { decodeRows: pool.decode } : {}) });
        return { calls, result };
      };
      const a = await run(false);
      const b = await run(true);
      expect(a.calls.length).toBe(1502 + 2);
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    } finally {
      await dir.remove();
    }
  });

  it('the bus sink writes the same bytes to decompte-lines from the worker\'s JSON as from the line', async () => {
    const dir = await tempDir();
    try {
      const path = await dir.write('big.csv', await bigCsv(1500));
      const logOf = async (decode: boolean) => {
        const home = dir.path(decode ? 'pooled' : 'here');
        const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
        try {
          const sha256 = 'ab'.repeat(32);
          const sink = new BusIngestSink(bus, { spoolDir: join(home, 'spool'), drop: { sha256, marks: await DropMarks.open(join(home, 'marks'), sha256) } });
          await ingestDrop(path, { sink, sha256, ...(decode ? { decodeRows: pool.decode } : {}) });
          await sink.close();
        } finally {
          await bus.close();
        }
        const topic = join(home, 'bus', 'decompte-lines');
        const logs = (await readdir(topic)).filter((f) => f.endsWith('.log')).sort();
        // the append time aside, every byte of every record
        return (await Promise.all(logs.map((f) => readFile(join(topic, f), 'utf8')))).map((text) => text.replace(/"t":\d+/g, '"t":0'));
      };
      const here = await logOf(false);
      const pooled = await logOf(true);
      expect(here.join('').split('\n').length).toBeGreaterThan(800); // the golden rows' rejects aside
      expect(pooled).toEqual(here);
    } finally {
      await dir.remove();
    }
  });
});

/**
 * Runs (`RowDecodePool.decodeRuns` → `BusIngestSink.lineRun`, what `noemie run` uses): the worker
 * hands consecutive lines over as the sink's spool texts and the summary's figures. What reaches
 * the bus, the rejects, the drop's summary and a resumed publication must be what the codec's own
 * line events give.
 */
describe('ingest row decoder, lines handed over as runs', () => {
  /** bigCsv with annulations (signed sums) and a few décomptes of several lines */
  async function mixedCsv(n: number): Promise<string> {
    const [header, ...rows] = (await bigCsv(n)).split('\n');
    return `${[header, ...rows.map((r, i) => {
      const f = r.split(';');
      if (f.length < 20) return r;
      if (i % 5 === 2) f[2] = 'A';
      if (i % 3 !== 0) f[0] = `D${1000 + i - (i % 3)}`; // three lines a décompte
      if (i % 11 === 4) f[19] = '987654321098.76'; // a large expense
      return f.join(';');
    })].join('\n')}`;
  }

  type Mode = 'codec' | 'lines' | 'runs';
  /** ingests the drop into a fresh embedded bus with the bus sink; what the topics hold (append times aside) and the result */
  async function publish(dir: Awaited<ReturnType<typeof tempDir>>, path: string, mode: Mode, name: string, options: { batch?: number; failOnCall?: number; maxSpoolBytes?: number } = {}) {
    const home = dir.path(name);
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    const sha256 = 'cd'.repeat(32);
    try {
      const ingest = async (target: Bus) => {
        const sink = new BusIngestSink(target, { spoolDir: join(home, 'spool'), ...(options.batch ? { batch: options.batch } : {}), ...(options.maxSpoolBytes ? { maxSpoolBytes: options.maxSpoolBytes } : {}), drop: { sha256, marks: await DropMarks.open(join(home, 'marks'), sha256) } });
        try {
          return await ingestDrop(path, { sink, sha256, ...(mode === 'lines' ? { decodeRows: pool.decode } : mode === 'runs' ? { decodeRows: pool.decode, decodeRowRuns: pool.decodeRuns } : {}) });
        } finally {
          await sink.close();
        }
      };
      let failure: string | undefined;
      let error: unknown;
      if (options.failOnCall !== undefined) {
        let calls = 0;
        const failing = new Proxy(bus, {
          get(target, prop, receiver) {
            if (prop === 'produce') {
              return async (topic: string, messages: unknown[], ...rest: unknown[]) => {
                if (topic === 'decompte-lines' && ++calls === options.failOnCall) throw new Error('killed');
                return (target.produce as (t: string, m: unknown[], ...r: unknown[]) => Promise<unknown>).call(target, topic, messages, ...rest);
              };
            }
            return Reflect.get(target, prop, receiver);
          },
        }) as Bus;
        failure = await ingest(failing).then(() => 'no failure', (e: Error) => e.message);
      }
      const result = await ingest(bus).catch((e: unknown) => void (error = e));
      const topicText = async (topic: string) => {
        const at = join(home, 'bus', topic);
        const logs = (await readdir(at).catch(() => [] as string[])).filter((f) => f.endsWith('.log')).sort();
        return (await Promise.all(logs.map((f) => readFile(join(at, f), 'utf8')))).map((text) => text.replace(/"t":\d+/g, '"t":0'));
      };
      return { result, failure, error, lines: await topicText('decompte-lines'), rejects: await topicText('rejects') };
    } finally {
      await bus.close();
    }
  }

  it('the same decompte-lines and rejects, byte for byte, and the same summary (counts, décomptes, signed sums) as the codec\'s lines, over a ZIP of two entries', async () => {
    const dir = await tempDir();
    try {
      const csv = await mixedCsv(3000);
      const path = await dir.write('drop.zip', await zipBuffer([{ name: 'a.csv', data: csv }, { name: 'b.csv', data: csv.split('\n').slice(0, 700).join('\n') }]));
      const codec = await publish(dir, path, 'codec', 'codec');
      const runs = await publish(dir, path, 'runs', 'runs');
      expect(codec.result!.totals.accepted).toBeGreaterThan(2000);
      expect(codec.lines.join('')).toContain('"operation":"A"');
      expect(runs.result).toEqual(codec.result);
      expect(runs.lines.join('').length).toBeGreaterThan(1_000_000);
      expect(runs.lines).toEqual(codec.lines);
      expect(runs.rejects).toEqual(codec.rejects);
    } finally {
      await dir.remove();
    }
  });

  it('a publication killed on its 4th produce call, read again: each line once with the ids of an uninterrupted publication', async () => {
    const dir = await tempDir();
    try {
      const path = await dir.write('big.csv', await mixedCsv(2000));
      const whole = await publish(dir, path, 'lines', 'whole', { batch: 300 });
      const resumed = await publish(dir, path, 'runs', 'resumed', { batch: 300, failOnCall: 4 });
      expect(resumed.failure).toBe('killed');
      const records = (logs: string[]) => logs.join('').split('\n').filter((l) => l !== '').map((l) => l.replace(/^\{"o":\d+,/, '{')).sort();
      expect(records(whole.lines).length).toBeGreaterThan(1100);
      expect(records(resumed.lines)).toEqual(records(whole.lines));
      expect(resumed.result).toEqual(whole.result);
    } finally {
      await dir.remove();
    }
  });

  it('a spool over its limit refuses the part naming the same record as line by line', async () => {
    const dir = await tempDir();
    try {
      const path = await dir.write('big.csv', await mixedCsv(1200));
      const lines = await publish(dir, path, 'lines', 'lines', { maxSpoolBytes: 300_000 });
      const runs = await publish(dir, path, 'runs', 'runs', { maxSpoolBytes: 300_000 });
      expect(lines.error).toBeInstanceOf(PipelineStageError);
      expect((lines.error as PipelineStageError).code).toBe('PIPELINE_SPOOL_FULL');
      expect((lines.error as PipelineStageError).context.record).toBeGreaterThan(100);
      expect(runs.error).toEqual(lines.error);
      expect((runs.error as PipelineStageError).context).toEqual((lines.error as PipelineStageError).context);
      expect(runs.lines.join('')).toBe('');
      expect(runs.rejects).toEqual(lines.rejects);
    } finally {
      await dir.remove();
    }
  });
});
