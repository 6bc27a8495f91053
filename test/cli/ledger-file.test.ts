import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LedgersFileLineSchema, readLedgerChunks, readLedgers, writeLedgerChunks } from '../../src/cli/ledger-file.js';
import type { EngineState } from '../../src/engine/index.js';
import { PipelineError } from '../../src/model/errors.js';

/** `noemie liquidate --state`: family ledgers carried between runs, read and written a chunk of families at a time. */
const ledger = (n: number): EngineState => ({
  counters: { [`CCN-HLA-OPT2|1840994098201-1|optique.verres|budget|2025`]: `${n}.00` },
  renewals: {},
  lines: { a: { [`D${n}|1`]: { version: 1, inputHash: `h${n}`, consumed: [], renewals: [], amc: `${n}.00` } as never } },
});

async function chunksOf(file: string, size: number): Promise<Record<string, EngineState>[]> {
  const out: Record<string, EngineState>[] = [];
  for await (const chunk of readLedgerChunks(file, size)) out.push(chunk);
  return out;
}

describe('--state ledgers file', () => {
  it('each line matches its published JSON Schema (regenerate: UPDATE_SCHEMAS=1 npx vitest run test/cli/ledger-file.test.ts)', async () => {
    const file = join(import.meta.dirname, '../../schemas/ledgers-file.schema.json');
    const generated = { ...z.toJSONSchema(LedgersFileLineSchema, { target: 'draft-2020-12' }), $id: 'ledgers-file.schema.json' };
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(file, `${JSON.stringify(generated, null, 2)}\n`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(generated);
  });

  it('format 2 is NDJSON, one family per line, read back in chunks of the size asked, and replaced atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-file-'));
    const file = join(dir, 'state.ndjson');
    const families = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`ADH${i}`, ledger(i)]));
    async function* source(): AsyncGenerator<Record<string, EngineState>> {
      yield { ADH0: families.ADH0!, ADH1: families.ADH1! };
      yield { ADH2: families.ADH2!, ADH3: families.ADH3!, ADH4: families.ADH4! };
    }
    expect(await writeLedgerChunks(file, source())).toBe(5);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ format: 'noemie-ledgers/2' });
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[3]!)).toEqual({ family: 'ADH2', ledger: families.ADH2 });
    // 5 families in chunks of 2: 2 + 2 + 1
    const chunks = await chunksOf(file, 2);
    expect(chunks.map((c) => Object.keys(c))).toEqual([['ADH0', 'ADH1'], ['ADH2', 'ADH3'], ['ADH4']]);
    expect(await readLedgers(file)).toEqual(families);
    // no temp file left beside it
    expect(await readdir(dir)).toEqual(['state.ndjson']);
  });

  it('a format 1 file (one JSON document) is still read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-file-'));
    const file = join(dir, 'state.json');
    await writeFile(file, JSON.stringify({ format: 'noemie-ledgers/1', ledgers: { ADH7: ledger(7), ADH8: ledger(8) } }));
    expect((await chunksOf(file, 1)).map((c) => Object.keys(c))).toEqual([['ADH7'], ['ADH8']]);
    expect(await readLedgers(file)).toEqual({ ADH7: ledger(7), ADH8: ledger(8) });
  });

  it('no file: no ledgers; a bad line: STATE_INVALID naming the file, the line and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-file-'));
    expect(await readLedgers(join(dir, 'missing.ndjson'))).toEqual({});
    const file = join(dir, 'state.ndjson');
    await writeFile(file, [JSON.stringify({ format: 'noemie-ledgers/2' }), JSON.stringify({ family: 'ADH1', ledger: ledger(1) }), JSON.stringify({ family: 'ADH2', ledger: { counters: { k: 3 }, renewals: {}, lines: {} } })].join('\n'));
    const error = await readLedgers(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).code).toBe('STATE_INVALID');
    expect((error as Error).message).toContain(`${file}:3`);
    expect((error as Error).message).toContain('ledger.counters.k');
    await writeFile(file, 'not json at all');
    expect(((await readLedgers(file).catch((e: unknown) => e)) as PipelineError).code).toBe('STATE_INVALID');
  });
});
