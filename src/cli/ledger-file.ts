import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { EngineState, Ledgers } from '../engine/index.js';
import { PipelineError } from '../model/errors.js';

/**
 * `--state <file>`: the family ledgers (counters, renewals, lines liquidated) carried between CLI
 * runs, so a second run sees the forfaits the first one consumed.
 *
 * Format 2 (written since session 8) is NDJSON, read and written a family at a time so a member
 * base of any size fits in bounded memory (format 1 was one JSON document: past ≈ 1.3 M lines its
 * text would not even fit in one JavaScript string):
 *   {"format":"noemie-ledgers/2"}
 *   {"family":"<adhérent>","ledger":{"counters":…,"renewals":…,"lines":…}}   one line per family
 * Format 1 (`{"format":"noemie-ledgers/1","ledgers":{…}}`) is still read, whole.
 * Written atomically (temp file, fsync, rename): a crash leaves the previous state, never half of one.
 */
const FORMAT_1 = 'noemie-ledgers/1';
const FORMAT_2 = 'noemie-ledgers/2';
const LedgersFile1Schema = z.object({ format: z.literal(FORMAT_1), ledgers: z.record(z.string(), z.unknown()) });
const HeaderSchema = z.object({ format: z.literal(FORMAT_2) });
const FamilyLineSchema = z.object({
  /** the family's key: the adhérent (or the member number an unknown beneficiary's line named) */
  family: z.string().min(1),
  /** the engine's state for the family (src/engine/types.ts EngineState): counters, renewals, line records by bucket */
  ledger: z.object({ counters: z.record(z.string(), z.string()), renewals: z.record(z.string(), z.array(z.unknown())), lines: z.record(z.string(), z.record(z.string(), z.unknown())) }),
});
/** One line of a format 2 file (schemas/ledgers-file.schema.json): the header, then one per family. */
export const LedgersFileLineSchema = z.union([HeaderSchema, FamilyLineSchema]);

/** Families per chunk handed on by the readers and asked of the writers' sources. */
export const LEDGER_CHUNK = 256;

const invalid = (file: string, line: number | null, why: string) =>
  new PipelineError('STATE_INVALID', `${file}${line === null ? '' : `:${line}`} is not a ledgers file: ${why}`, { file, ...(line === null ? {} : { line }) });

/** The ledgers of `file`, `size` families at a time (none when the file does not exist). */
export async function* readLedgerChunks(file: string | undefined, size = LEDGER_CHUNK): AsyncGenerator<Record<string, EngineState>> {
  if (!file) return;
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (handle === null) return;
  const head = Buffer.alloc(64);
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  if (!head.subarray(0, bytesRead).toString('utf8').includes(FORMAT_2)) {
    yield* chunksOf(await readFormat1(file), size);
    return;
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  let chunk: Record<string, EngineState> = {};
  let count = 0;
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
    const parsed = FamilyLineSchema.safeParse(value);
    if (!parsed.success) throw invalid(file, n, `${parsed.error.issues[0]?.path.join('.') || 'line'}: ${parsed.error.issues[0]?.message}`);
    chunk[parsed.data.family] = parsed.data.ledger as EngineState;
    if (++count >= size) {
      yield chunk;
      chunk = {};
      count = 0;
    }
  }
  if (count > 0) yield chunk;
}

/** Every ledger of `file` in memory (`noemie estimate`: one quote against a state file). */
export async function readLedgers(file: string | undefined): Promise<Ledgers> {
  const all: Record<string, EngineState> = {};
  for await (const chunk of readLedgerChunks(file)) Object.assign(all, chunk);
  return all;
}

/** Writes the ledgers `chunks` yields as format 2, atomically. */
export async function writeLedgerChunks(file: string, chunks: AsyncIterable<Readonly<Record<string, EngineState>>> | Iterable<Readonly<Record<string, EngineState>>>): Promise<number> {
  const tmp = `${file}.tmp-${process.pid}`;
  const out = await open(tmp, 'w');
  let families = 0;
  try {
    await out.write(`${JSON.stringify({ format: FORMAT_2 })}\n`);
    for await (const chunk of chunks) {
      let text = '';
      for (const [family, ledger] of Object.entries(chunk)) {
        text += `${JSON.stringify({ family, ledger })}\n`;
        families += 1;
      }
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
  return families;
}

export async function writeLedgers(file: string, ledgers: Ledgers): Promise<number> {
  return writeLedgerChunks(file, chunksOf(ledgers, LEDGER_CHUNK));
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

function* chunksOf(ledgers: Ledgers, size: number): Generator<Record<string, EngineState>> {
  let chunk: Record<string, EngineState> = {};
  let n = 0;
  for (const [family, state] of Object.entries(ledgers)) {
    chunk[family] = state;
    if (++n >= size) {
      yield chunk;
      chunk = {};
      n = 0;
    }
  }
  if (n > 0) yield chunk;
}
