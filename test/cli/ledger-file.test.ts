import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LedgersFileLineSchema, readFamilyLedger, readLedgerPieces, readLedgers, writeLedgerPieces, writeLedgers } from '../../src/cli/ledger-file.js';
import { piecesOf, type LedgerPiece } from '../../src/pipeline/drop-ledger-pieces.js';
import type { EngineState } from '../../src/engine/index.js';
import { lineBucket } from '../../src/engine/state.js';
import { PipelineError } from '../../src/model/errors.js';

/** `noemie liquidate --state`: family ledgers carried between runs, read and written a chunk of families at a time. */
const ledger = (n: number): EngineState => ({
  counters: { [`CCN-HLA-OPT2|1840994098201-1|optique.verres|budget|2025`]: `${n}.00` },
  renewals: {},
  // a record sits in the bucket its lineKey hashes to (engine/state.ts)
  lines: { [lineBucket(`D${n}|1`)]: { [`D${n}|1`]: { version: 1, inputHash: `h${n}`, consumed: [], renewals: [], amc: `${n}.00` } as never } },
});

async function chunksOf(file: string, size: number): Promise<LedgerPiece[][]> {
  const out: LedgerPiece[][] = [];
  for await (const chunk of readLedgerPieces(file, size)) out.push(chunk);
  return out;
}

describe('--state ledgers file', () => {
  it('each line matches its published JSON Schema (regenerate: UPDATE_SCHEMAS=1 npx vitest run test/cli/ledger-file.test.ts)', async () => {
    const file = join(import.meta.dirname, '../../schemas/ledgers-file.schema.json');
    const generated = { ...z.toJSONSchema(LedgersFileLineSchema, { target: 'draft-2020-12' }), $id: 'ledgers-file.schema.json' };
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(file, `${JSON.stringify(generated, null, 2)}\n`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(generated);
  });

  it('format 2 is NDJSON of pieces (a head per family, a line per record, any order), read back in chunks of the size asked, replaced atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-file-'));
    const file = join(dir, 'state.ndjson');
    const families = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`ADH${i}`, ledger(i)]));
    // records of ADH0 after ADH1's head: a family's pieces need not be together
    const pieces = [...piecesOf('ADH1', families.ADH1!), ...piecesOf('ADH0', families.ADH0!)];
    const [head0, record0] = pieces.splice(2, 2);
    async function* source(): AsyncGenerator<LedgerPiece[]> {
      yield [head0!, ...pieces];
      yield [...Object.entries(families).slice(2).flatMap(([f, l]) => [...piecesOf(f, l)]), record0!];
    }
    expect(await writeLedgerPieces(file, source())).toBe(10);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ format: 'noemie-ledgers/2' });
    expect(lines).toHaveLength(11);
    expect(JSON.parse(lines[1]!)).toEqual({ family: 'ADH0', head: { counters: families.ADH0!.counters, renewals: {} } });
    // 10 pieces in chunks of 4: 4 + 4 + 2
    expect((await chunksOf(file, 4)).map((c) => c.length)).toEqual([4, 4, 2]);
    expect(await readLedgers(file)).toEqual(families);
    expect(await readFamilyLedger(file, 'ADH0')).toEqual(families.ADH0);
    expect(await readFamilyLedger(file, 'ADH9')).toBeUndefined();
    // no temp file left beside it
    expect(await readdir(dir)).toEqual(['state.ndjson']);
    // whole ledgers written and read back
    await writeLedgers(file, families);
    expect(await readLedgers(file)).toEqual(families);
  });

  it('a format 1 file (one JSON document) is still read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-file-'));
    const file = join(dir, 'state.json');
    await writeFile(file, JSON.stringify({ format: 'noemie-ledgers/1', ledgers: { ADH7: ledger(7), ADH8: ledger(8) } }));
    // 2 families of a head and one record each: 4 pieces
    expect((await chunksOf(file, 1)).map((c) => c.map((p) => [p.family, 'head' in p ? 'head' : p.line]))).toEqual([[['ADH7', 'head']], [['ADH7', 'D7|1']], [['ADH8', 'head']], [['ADH8', 'D8|1']]]);
    expect(await readLedgers(file)).toEqual({ ADH7: ledger(7), ADH8: ledger(8) });
  });

  it('no file: no ledgers; a bad line: STATE_INVALID naming the file, the line and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-file-'));
    expect(await readLedgers(join(dir, 'missing.ndjson'))).toEqual({});
    const file = join(dir, 'state.ndjson');
    await writeFile(file, [JSON.stringify({ format: 'noemie-ledgers/2' }), JSON.stringify({ family: 'ADH1', head: { counters: {}, renewals: {} } }), JSON.stringify({ family: 'ADH2', head: { counters: { k: 3 }, renewals: {} } })].join('\n'));
    const error = await readLedgers(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).code).toBe('STATE_INVALID');
    expect((error as Error).message).toContain(`${file}:3`);
    expect((error as Error).message).toContain('head.counters.k');
    await writeFile(file, 'not json at all');
    expect(((await readLedgers(file).catch((e: unknown) => e)) as PipelineError).code).toBe('STATE_INVALID');
  });
});
