import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { zipLimits, type ZipLimits } from '../config.js';
import { PipelineError, type ErrorContext } from '../model/errors.js';
import { csvCodec } from './csv/index.js';
import { invoiceCsvCodec, invoiceJsonCodec } from './invoice/index.js';
import { noemieCodec } from './noemie/index.js';
import { FORMAT_OF_EXTENSION, extensionOf, formatOfHead, readHead } from './sniff.js';
import { IngestError, type Codec, type DropFormat, type DropPart, type IngestEvent } from './types.js';
import { xmlCodec } from './xml/index.js';
import { readZipEntries } from './zip/index.js';

/**
 * A drop (one file from the inbox, or an upload) as the parts to decode: the file itself, or each
 * entry of a ZIP archive in turn. Every part is handled the same way by the caller: a part that is
 * refused (unknown extension, bytes that are not what the extension says, zip slip or bomb,
 * unreadable archive) is still yielded, and its `events` throw the IngestError when iterated; the
 * other parts go on. Consume a part's events before asking for the next part.
 */
export type CodecFormat = Exclude<DropFormat, 'zip' | 'unknown'>;

/** The dispatch table, as kafkajs picks a request version: format → codec. */
export const CODECS: Record<CodecFormat, Codec> = {
  noemie: noemieCodec,
  csv: csvCodec,
  xml: xmlCodec,
  'invoice-json': invoiceJsonCodec,
  'invoice-csv': invoiceCsvCodec,
};

export interface ReadDropOptions {
  limits?: ZipLimits;
  /** the drop's name as received, when `path` is a working copy (defaults to the path's base name) */
  name?: string;
}

export async function* readDrop(path: string, options: ReadDropOptions = {}): AsyncGenerator<DropPart> {
  const file = options.name ?? basename(path);
  const open = async (): Promise<Readable> => createReadStream(path);
  if (extensionOf(file) !== 'zip') {
    yield await partOf({ file, open });
    return;
  }
  // A .zip is sniffed like any file before node-stream-zip is given it.
  const head = await tryHead(open, { file });
  if (head instanceof IngestError) {
    yield refused({ file }, 'zip', head);
    return;
  }
  try {
    formatOfHead('zip', head, file);
  } catch (e) {
    yield refused({ file }, 'zip', asIngestError(e, { file }));
    return;
  }
  for await (const item of readZipEntries(path, file, options.limits ?? zipLimits())) {
    if ('error' in item) {
      const ext = item.entry === undefined ? 'zip' : extensionOf(item.entry);
      yield refused(item, ext === null ? 'unknown' : FORMAT_OF_EXTENSION[ext], item.error);
    } else {
      yield await partOf(item);
    }
  }
}

interface Source {
  file: string;
  entry?: string;
  open: () => Promise<Readable>;
  /** a ZIP entry: throws unless its bytes matched the archive's CRC-32 and size (read/zip.ts) */
  verify?: () => Promise<void>;
}

async function partOf(src: Source): Promise<DropPart> {
  const where = src.entry === undefined ? { file: src.file } : { file: src.file, entry: src.entry };
  const label = src.entry === undefined ? src.file : `${src.file}!${src.entry}`;
  const ext = extensionOf(src.entry ?? src.file);
  if (ext === null) {
    return refused(where, 'unknown', new IngestError('INGEST_UNKNOWN_FORMAT', `${label}: unknown file type; a drop holds .zip, .noemie, .csv or .xml files, an upload .json or .csv`, where));
  }
  if (ext === 'zip') {
    // Archives inside archives are how bombs multiply; a caisse has no reason to nest them.
    return refused(where, 'zip', new IngestError('INGEST_UNKNOWN_FORMAT', `${label}: a ZIP inside a ZIP drop is not accepted`, where));
  }
  const head = await tryHead(src.open, where);
  if (head instanceof IngestError) return refused(where, FORMAT_OF_EXTENSION[ext], head);
  let format: DropFormat;
  try {
    format = formatOfHead(ext, head, label);
  } catch (e) {
    return refused(where, FORMAT_OF_EXTENSION[ext], asIngestError(e, where));
  }
  const codec = CODECS[format as CodecFormat];
  const part: DropPart = { ...where, format, events: guarded(codec.decode({ ...where, open: src.open }), where, src.verify) };
  // Generators start when iterated: offering the rows too costs nothing to a reader of `events`.
  if (codec.rows !== undefined) part.rows = guarded(codec.rows({ ...where, open: src.open }), where, src.verify);
  return part;
}

async function tryHead(open: () => Promise<Readable>, where: ErrorContext): Promise<Buffer | IngestError> {
  try {
    return await readHead(open);
  } catch (e) {
    return asIngestError(e, where);
  }
}

function refused(where: { file: string; entry?: string }, format: DropFormat, error: IngestError): DropPart {
  const part: DropPart = { file: where.file, format, events: throwing(error) };
  if (where.entry !== undefined) part.entry = where.entry;
  return part;
}

async function* throwing(error: IngestError): AsyncGenerator<IngestEvent> {
  throw error;
}

/**
 * Every failure of a part surfaces as a typed error the caller can report and quarantine. The
 * events end only once a ZIP entry is known intact: the caller commits a part when its events end.
 */
async function* guarded<E>(events: AsyncIterable<E>, where: ErrorContext, verify?: () => Promise<void>): AsyncGenerator<E> {
  try {
    yield* events;
    await verify?.();
  } catch (e) {
    throw asIngestError(e, where);
  }
}

function asIngestError(e: unknown, where: ErrorContext): IngestError {
  if (e instanceof IngestError) return e;
  if (e instanceof PipelineError) {
    return new IngestError('INGEST_IO', e.message, { ...where, ...e.context, cause: e.code }, { cause: e });
  }
  const err = e as NodeJS.ErrnoException;
  const label = where.entry === undefined ? String(where.file) : `${String(where.file)}!${String(where.entry)}`;
  const message = `${label} cannot be read: ${err instanceof Error ? err.message : String(e)}`;
  return new IngestError('INGEST_IO', message, where, { cause: e, retriable: err?.code === 'EBUSY' || err?.code === 'EMFILE' });
}
