import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { encodeCsv, encodeNoemie, encodeXml } from '../ingest/index.js';
import { addDays } from '../model/dates.js';
import type { ActLine } from '../model/act-line.js';
import { BadPlan, type BadRecord } from './bad-plan.js';
import { flattenLines, generateDecomptes, type GeneratedDecompte } from './decomptes.js';
import { injectCsv, injectNoemie, injectXml, type Where } from './inject.js';
import type { Nomenclature } from './nomenclature.js';
import type { Population } from './population.js';
import { batched, writeChunks } from './write.js';

/**
 * A caisse drop on disk: one file in one encoding, or a ZIP whose entries (NOEMIE, CSV, XML)
 * split the same stream of décomptes in three (never inside a décompte). Bad records are planned on
 * the décompte stream and written into the encoded text.
 */
export type DropFileFormat = 'noemie' | 'csv' | 'xml';
export type DropFormatOption = DropFileFormat | 'zip';

export interface DropOptions {
  format: DropFormatOption;
  /** file path of the drop */
  out: string;
  seed: number;
  lines: number;
  bad: number;
  population: Population;
  nomenclature: Nomenclature;
  /** hospital lines carry the establishment's FINESS; the CSV then has the optional finess column */
  finess?: boolean;
}

export interface PartCount {
  entry?: string;
  format: DropFileFormat;
  lines: number;
  decomptes: number;
}

export interface DropResult {
  path: string;
  bytes: number;
  lines: number;
  decomptes: number;
  parts: PartCount[];
  /** the bad records as written, in stream order */
  bad: BadRecord[];
  /** fewer than asked when the stream had no room for them all */
  badWanted: number;
}

const ZIP_PARTS: readonly DropFileFormat[] = ['noemie', 'csv', 'xml'];

export async function writeDrop(o: DropOptions): Promise<DropResult> {
  const plan = new BadPlan(o.lines, o.bad, o.seed);
  const decomptes = plan.mark(generateDecomptes({ seed: o.seed, lines: o.lines, population: o.population, nomenclature: o.nomenclature, ...(o.finess ? { finess: true } : {}) }));
  const file = basename(o.out);
  const meta = (part: number) => ({
    emitter: 'CPAM - CENTRE DE TRAITEMENT NOÉMIE',
    amcNumber: '075000123',
    fileId: `G${o.seed}-${o.lines}-${part}`.slice(0, 20),
    createdOn: addDays(o.population.window.to, 70),
  });
  let parts: PartCount[];
  let bytes: number;
  if (o.format === 'zip') {
    ({ parts, bytes } = await writeZip(o.out, decomptes, o.lines, (fmt, ds, where, i) => encodePart(fmt, ds, where, plan, o.bad > 0, meta(i), o.finess === true)));
  } else {
    const count: PartCount = { format: o.format, lines: 0, decomptes: 0 };
    bytes = await writeChunks(o.out, encodePart(o.format, counted(decomptes, count), { file }, plan, o.bad > 0, meta(1), o.finess === true));
    parts = [count];
  }
  return {
    path: o.out,
    bytes,
    lines: parts.reduce((s, p) => s + p.lines, 0),
    decomptes: parts.reduce((s, p) => s + p.decomptes, 0),
    parts,
    bad: plan.placed,
    badWanted: plan.wanted,
  };
}

function encodePart(format: DropFileFormat, ds: Iterable<GeneratedDecompte>, where: Where, plan: BadPlan, inject: boolean, meta: Parameters<typeof encodeNoemie>[1], finess: boolean): Iterable<string | Buffer> {
  const lines: Iterable<ActLine> = flattenLines(ds);
  switch (format) {
    case 'noemie':
      return inject ? injectNoemie(encodeNoemie(lines, meta), plan, where) : encodeNoemie(lines, meta);
    case 'csv':
      {
        const csv = encodeCsv(lines, finess ? { optionalColumns: ['finess'] } : {});
        return batched(inject ? injectCsv(csv, plan, where) : csv);
      }
    case 'xml':
      return batched(inject ? injectXml(encodeXml(lines), plan, where) : encodeXml(lines));
    default: {
      const unreachable: never = format;
      return unreachable;
    }
  }
}

function* counted(ds: Iterable<GeneratedDecompte>, count: PartCount): Generator<GeneratedDecompte> {
  for (const d of ds) {
    if (d.lines.length === 0) continue;
    count.lines += d.lines.length;
    count.decomptes += 1;
    yield d;
  }
}

type PartEncoder = (format: DropFileFormat, ds: Iterable<GeneratedDecompte>, where: Where, index: number) => Iterable<string | Buffer>;

/**
 * The entries share one décompte stream, consumed in turn: yazl asks for an entry's stream only
 * once the previous entry is written (addReadStreamLazy), so nothing is held between entries.
 */
async function writeZip(out: string, decomptes: Iterable<GeneratedDecompte>, total: number, encode: PartEncoder): Promise<{ parts: PartCount[]; bytes: number }> {
  const source = decomptes[Symbol.iterator]();
  const stem = basename(out, extname(out));
  // The same seed must give the same bytes on any machine: a fixed mtime built from local fields
  // (DOS timestamps are local time) and no extended UTC timestamp (forceDosTimestamp).
  const mtime = new Date(2026, 0, 1, 0, 0, 0);
  const zip = new yazl.ZipFile();
  const parts: PartCount[] = [];
  let consumed = 0;
  ZIP_PARTS.forEach((format, i) => {
    const entry = `${stem}-${i + 1}.${format}`;
    const count: PartCount = { entry, format, lines: 0, decomptes: 0 };
    parts.push(count);
    const limit = i === ZIP_PARTS.length - 1 ? total : Math.floor(((i + 1) * total) / ZIP_PARTS.length);
    const slice = function* (): Generator<GeneratedDecompte> {
      while (consumed < limit) {
        const r = source.next();
        if (r.done) return;
        consumed += r.value.lines.length;
        yield r.value;
      }
    };
    zip.addReadStreamLazy(entry, { mtime, mode: 0o100644, compress: true, forceDosTimestamp: true }, (cb) => {
      cb(null, Readable.from(encode(format, counted(slice(), count), { file: basename(out), entry }, i + 1)));
    });
  });
  zip.end();
  // An entry stream that fails (an encoder refusing a value) fails the zip, rather than leaving the output open.
  (zip as unknown as NodeJS.EventEmitter).on('error', (e: Error) => (zip.outputStream as unknown as Readable).destroy(e));
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.part`;
  try {
    await pipeline(zip.outputStream, createWriteStream(tmp));
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { parts, bytes: (await stat(out)).size };
}
