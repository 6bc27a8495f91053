import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { EngineState, Ledgers } from '../engine/index.js';
import { PipelineError } from '../model/errors.js';
import { assembleLedgers, piecesOf, type LedgerPiece } from '../pipeline/drop-ledger-pieces.js';

/**
 * `--state <file>`: the family ledgers (counters, renewals, lines liquidated) carried between CLI
 * runs, so a second run sees the forfaits the first one consumed.
 *
 * Format 2 (written since session 8) is NDJSON of ledger pieces (src/pipeline/drop-ledger-pieces.ts),
 * read and written a chunk at a time so a member base of any size passes in bounded memory (format 1
 * was one JSON document: past ≈ 1.3 M lines its text would not even fit in one JavaScript string):
 *   {"format":"noemie-ledgers/2"}
 *   {"family":"<adhérent>","head":{"counters":…,"renewals":…}}      one per family
 *   {"family":"<adhérent>","line":"<lineKey>","record":{…}}         one per line record, any order
 * Format 1 (`{"format":"noemie-ledgers/1","ledgers":{…}}`) is still read, whole.
 * Written atomically (temp file, fsync, rename): a crash leaves the previous state, never half of one.
 */
const FORMAT_1 = 'noemie-ledgers/1';
const FORMAT_2 = 'noemie-ledgers/2';
const LedgersFile1Schema = z.object({ format: z.literal(FORMAT_1), ledgers: z.record(z.string(), z.unknown()) });
const HeaderSchema = z.object({ format: z.literal(FORMAT_2) });
const HeadLineSchema = z.object({
  /** the family's key: the adhérent (or the member number an unknown beneficiary's line named) */
  family: z.string().min(1),
  /** what every line of the family reads (src/engine/types.ts EngineState) */
  head: z.object({ counters: z.record(z.string(), z.string()), renewals: z.record(z.string(), z.array(z.unknown())) }),
});
const RecordLineSchema = z.object({
  family: z.string().min(1),
  /** the lineKey (`source:decompte_id:line_no`) */
  line: z.string().min(1),
  /** what the line consumed and was paid, latest version (src/engine/types.ts LineRecord) */
  record: z.object({ version: z.number().int() }).passthrough(),
});
/** One line of a format 2 file (schemas/ledgers-file.schema.json). */
export const LedgersFileLineSchema = z.union([HeaderSchema, HeadLineSchema, RecordLineSchema]);
const PieceSchema = z.union([HeadLineSchema, RecordLineSchema]);

/** Pieces per chunk handed on by the readers. */
export const LEDGER_CHUNK = 1024;

const invalid = (file: string, line: number | null, why: string) =>
  new PipelineError('STATE_INVALID', `${file}${line === null ? '' : `:${line}`} is not a ledgers file: ${why}`, { file, ...(line === null ? {} : { line }) });

/** The ledger pieces of `file`, `size` at a time (none when the file does not exist). */
export async function* readLedgerPieces(file: string | undefined, size = LEDGER_CHUNK): AsyncGenerator<LedgerPiece[]> {
  if (!file) return;
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (handle === null) return;
  const head = Buffer.alloc(64);
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  if (!head.subarray(0, bytesRead).toString('utf8').includes(FORMAT_2)) {
    let chunk: LedgerPiece[] = [];
    for (const [family, state] of Object.entries(await readFormat1(file))) {
      for (const piece of piecesOf(family, state)) {
        chunk.push(piece);
        if (chunk.length >= size) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length > 0) yield chunk;
    return;
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  let chunk: LedgerPiece[] = [];
  for await (const text of lines) {
    n += 1;
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalid(file, n, 'not JSON');
    }
    if (n === 1) {
      if (!HeaderSchema.safeParse(value).success) throw invalid(file, n, `the first line is not {"format":"${FORMAT_2}"}`);
      continue;
    }
    const parsed = PieceSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0] as { path: PropertyKey[]; message: string; errors?: { path: PropertyKey[]; message: string }[][] } | undefined;
      // a union's issue: the branch that got furthest names the field
      const deepest = issue?.errors?.flat().sort((a, b) => b.path.length - a.path.length)[0] ?? issue;
      throw invalid(file, n, `${deepest?.path.join('.') || 'line'}: ${deepest?.message}`);
    }
    chunk.push(parsed.data as LedgerPiece);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** One family's ledger from `file`, read through without keeping the others (`noemie estimate`). */
export async function readFamilyLedger(file: string | undefined, family: string): Promise<EngineState | undefined> {
  const mine: LedgerPiece[] = [];
  for await (const chunk of readLedgerPieces(file)) for (const piece of chunk) if (piece.family === family) mine.push(piece);
  return mine.length === 0 ? undefined : assembleLedgers(mine)[family];
}

/** Every ledger of `file` in memory (tests, small files). */
export async function readLedgers(file: string | undefined): Promise<Ledgers> {
  const all: LedgerPiece[] = [];
  for await (const chunk of readLedgerPieces(file)) all.push(...chunk);
  return assembleLedgers(all);
}

/** Writes the pieces `chunks` yields as format 2, atomically; returns how many. */
export async function writeLedgerPieces(file: string, chunks: AsyncIterable<readonly LedgerPiece[]> | Iterable<readonly LedgerPiece[]>): Promise<number> {
  const tmp = `${file}.tmp-${process.pid}`;
  const out = await open(tmp, 'w');
  let pieces = 0;
  try {
    await out.write(`${JSON.stringify({ format: FORMAT_2 })}\n`);
    for await (const chunk of chunks) {
      let text = '';
      for (const piece of chunk) text += `${JSON.stringify(piece)}\n`;
      pieces += chunk.length;
      if (text !== '') await out.write(text);
    }
    await out.sync();
  } catch (e) {
    await out.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await out.close();
  await rename(tmp, file);
  return pieces;
}

/** Writes whole ledgers as format 2 (tests, tools). */
export async function writeLedgers(file: string, ledgers: Ledgers): Promise<number> {
  return writeLedgerPieces(file, [Object.entries(ledgers).flatMap(([family, state]) => [...piecesOf(family, state)])]);
}

async function readFormat1(file: string): Promise<Ledgers> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw invalid(file, null, 'not JSON');
  }
  const parsed = LedgersFile1Schema.safeParse(value);
  if (!parsed.success) throw invalid(file, null, `${parsed.error.issues[0]?.path.join('.') || 'document'}: ${parsed.error.issues[0]?.message}`);
  return parsed.data.ledgers as Ledgers;
}
