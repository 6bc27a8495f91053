import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { partitionFor } from '../../src/bus/topics.js';
import type { LineRecord } from '../../src/engine/index.js';
import { LedgerSnapshotSchema, assemble, decodeSnapshot, encodeChange, encodeFamily, type BucketPiece, type Family, type HeadPiece } from '../../src/pipeline/ledgers.js';
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

  it('round-trips a ledger as pieces (buckets, then the head) and names the offset of a value that is not one', () => {
    const family: Family = { state: { counters: { 'k|x|c|count|2025': '2' }, renewals: {}, lines: { '3': { L1: record(1) } } }, applied: { 'decompte-lines:1': 41 }, seq: 0, stamps: {} };
    const msgs = encodeFamily('A001', family);
    // One bucket then the head, both on the family's partition, each under its own compaction key.
    expect(msgs.map((m) => m.key)).toEqual(['A001#3', 'A001']);
    expect(new Set(msgs.map((m) => m.partition))).toEqual(new Set([partitionFor('A001')]));
    const [bucket, head] = msgs.map((m) => decodeSnapshot(m.value.value!, { partition: 1, offset: 7 })) as [BucketPiece, HeadPiece];
    expect(head).toEqual({ v: 2, piece: 'head', seq: 1, counters: { 'k|x|c|count|2025': '2' }, renewals: {}, buckets: { '3': 1 }, applied: { 'decompte-lines:1': 41 } });
    expect(bucket).toMatchObject({ piece: 'bucket', bucket: '3', seq: 1, lines: { L1: record(1) }, undo: { L1: null } });
    expect(assemble('A001', head, new Map([['3', bucket]]))).toEqual({ ...family, seq: 1, stamps: { '3': 1 } });
    expect(() => decodeSnapshot('{"v":1}', { partition: 1, offset: 7 })).toThrow(PipelineStageError);
    expect(() => decodeSnapshot('{"v":1}', { partition: 1, offset: 7 })).toThrow(/counters-changelog\[1\]@7/);
  });

  it('a bucket written without its head (crash between them) is rolled back to the version its head knows', () => {
    // Write 1: L1 (version 1) in bucket 3, counter at 2. Write 2 changes L1 to version 2, adds L2, counter 3.
    const one = encodeChange('A001', undefined, { counters: { c: '2' }, renewals: {}, buckets: { '3': { L1: record(1) } }, touched: ['L1'] }, { 'decompte-lines:0': 10 });
    const two = encodeChange('A001', one.family, { counters: { c: '3' }, renewals: {}, buckets: { '3': { L1: record(2), L2: record(1) } }, touched: ['L1', 'L2'] }, { 'decompte-lines:0': 12 });
    const [bucket2, head2] = two.pieces.map(([, p]) => p) as [BucketPiece, HeadPiece];
    // The undo of write 2 is the previous record of each line it wrote: L1 at version 1, L2 absent.
    expect(bucket2.undo).toEqual({ L1: record(1), L2: null });
    const head1 = one.pieces[1]![1] as HeadPiece;
    // Crash after bucket 2, before head 2: the store holds bucket seq 2 and head seq 1 → write 1's ledger.
    expect(assemble('A001', head1, new Map([['3', bucket2]]))).toEqual({ state: { counters: { c: '2' }, renewals: {}, lines: { '3': { L1: record(1) } } }, applied: { 'decompte-lines:0': 10 }, seq: 1, stamps: { '3': 1 } });
    // Both written: write 2's ledger.
    expect(assemble('A001', head2, new Map([['3', bucket2]])).state.lines).toEqual({ '3': { L1: record(2), L2: record(1) } });
    // A bucket whose first write lost its head is no state at all.
    expect(assemble('A001', { ...head1, buckets: {} }, new Map([['3', bucket2]])).state.lines).toEqual({});
  });
});

function record(version: number): LineRecord {
  return { version, operation: 'I', inputHash: `h${version}` } as unknown as LineRecord;
}
