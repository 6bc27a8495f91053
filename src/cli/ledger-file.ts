import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Ledgers } from '../engine/index.js';
import { PipelineError } from '../model/errors.js';

/**
 * `--state <file>`: the family ledgers (counters, renewals, lines liquidated) carried between CLI
 * runs, so a second run sees the forfaits the first one consumed. Written whole, atomically
 * (temp file + rename): a crash leaves the previous state, never half of one.
 */
const LedgersFileSchema = z.object({ format: z.literal('noemie-ledgers/1'), ledgers: z.record(z.string(), z.unknown()) });

export async function readLedgers(file: string | undefined): Promise<Ledgers> {
  if (!file) return {};
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  const parsed = LedgersFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new PipelineError('STATE_INVALID', `${file} is not a ledgers file: ${parsed.error.issues[0]?.message}`, { file });
  return parsed.data.ledgers as Ledgers;
}

export async function writeLedgers(file: string, ledgers: Ledgers): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify({ format: 'noemie-ledgers/1', ledgers }));
  await rename(tmp, file);
}
