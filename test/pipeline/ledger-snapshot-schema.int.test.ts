import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LedgerSnapshotSchema, decodeSnapshot, encodeSnapshot } from '../../src/pipeline/ledgers.js';
import { PipelineStageError } from '../../src/pipeline/errors.js';

/**
 * schemas/topics/ledger-snapshot.schema.json (the value string of a counters-changelog entry
 * written by the liquidation service) is generated from LedgerSnapshotSchema; this fails when
 * they drift. Regenerate: UPDATE_SCHEMAS=1 npx vitest run test/pipeline/ledger-snapshot-schema.int.test.ts
 */
const FILE = join(import.meta.dirname, '../../schemas/topics/ledger-snapshot.schema.json');

describe('ledger snapshot', () => {
  it('matches its published JSON Schema', async () => {
    const generated = { ...z.toJSONSchema(LedgerSnapshotSchema, { target: 'draft-2020-12' }), $id: 'ledger-snapshot.schema.json' };
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(FILE, `${JSON.stringify(generated, null, 2)}\n`);
    expect(JSON.parse(await readFile(FILE, 'utf8'))).toEqual(generated);
  });

  it('round-trips a ledger and its watermark, and names the offset of a value that is not one', () => {
    const family = { state: { counters: { 'k|x|c|count|2025': '2' }, renewals: {}, lines: {} }, applied: { 'decompte-lines:1': 41 } };
    const msg = encodeSnapshot('A001', family);
    expect(msg.key).toBe('A001');
    expect(decodeSnapshot(msg.value.value!, { partition: 1, offset: 7 })).toEqual(family);
    expect(() => decodeSnapshot('{"v":2}', { partition: 1, offset: 7 })).toThrow(PipelineStageError);
    expect(() => decodeSnapshot('{"v":2}', { partition: 1, offset: 7 })).toThrow(/counters-changelog\[1\]@7/);
  });
});
