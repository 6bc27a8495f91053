import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { partitionFor } from '../../src/bus/topics.js';
import { lineRecord, type LineRecord } from '../../src/engine/index.js';
import { lineBucket } from '../../src/engine/state.js';
import { LedgerSnapshotSchema, assemble, decodeSnapshot, encodeChange, encodeFamily, rollbackOf, type Family, type HeadPiece, type LinePiece } from '../../src/pipeline/ledgers.js';
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

  it('round-trips a ledger as pieces (line records, then the head) and names the offset of a value that is not one', () => {
    const family: Family = { state: { counters: { 'k|x|c|count|2025': '2' }, renewals: {}, lines: { [lineBucket('L1')]: { L1: record(1) } } }, applied: { 'decompte-lines:1': 41 }, seq: 0 };
    const msgs = encodeFamily('A001', family);
    // One line piece then the head, both on the family's partition, each under its own compaction key.
    expect(msgs.map((m) => m.key)).toEqual(['A001#L1', 'A001']);
    expect(new Set(msgs.map((m) => m.partition))).toEqual(new Set([partitionFor('A001')]));
    const [line, head] = msgs.map((m) => decodeSnapshot(m.value.value!, { partition: 1, offset: 7 }, m.key)) as [LinePiece, HeadPiece];
    expect(head).toEqual({ v: 3, piece: 'head', seq: 1, counters: { 'k|x|c|count|2025': '2' }, renewals: {}, applied: { 'decompte-lines:1': 41 } });
    // The line piece is written positional (line-piece.ts), its lineKey read from the piece key.
    expect(msgs[0]!.value.value).toEqual([4, 1, [1, 'I', null, null, null, null, null, null, null, null, null, 'h1'], null]);
    expect(line).toEqual({ v: 4, piece: 'line', line: 'L1', seq: 1, record: record(1), undo: null });
    expect(assemble(head, [line])).toEqual({ ...family, seq: 1 });
    // The object form earlier builds wrote reads as the same piece.
    const old = decodeSnapshot(JSON.stringify({ v: 3, piece: 'line', line: 'L1', seq: 1, record: record(1), undo: null }), { partition: 1, offset: 6 }, 'A001#L1');
    expect({ ...old, v: 4 }).toEqual(line);
    // A tuple is checked like the object: a key naming no line, a record without its fields, a bad tuple.
    expect(() => decodeSnapshot([4, 1, [1, 'I', null, null, null, null, null, null, null, null, null, 'h1'], null], { partition: 1, offset: 9 }, 'A001')).toThrow(/@9: a line piece under key A001/);
    expect(() => decodeSnapshot([4, 1, [1, 'X'], null], { partition: 1, offset: 9 }, 'A001#L1')).toThrow(/@9: not a ledger piece: record\.operation/);
    expect(() => decodeSnapshot([4, 1, [1, 'I', null, null, null, null, null, null, null, null, null, 'h1']], { partition: 1, offset: 9 }, 'A001#L1')).toThrow(/@9: not a ledger piece/);
    expect(() => decodeSnapshot('{"v":1}', { partition: 1, offset: 7 })).toThrow(PipelineStageError);
    expect(() => decodeSnapshot('{"v":1}', { partition: 1, offset: 7 })).toThrow(/counters-changelog\[1\]@7/);
    // The layout before (v2: 16 buckets per family) is refused, not misread.
    expect(() => decodeSnapshot('{"v":2,"piece":"bucket","bucket":"3","seq":1,"lines":{},"undo":{}}', { partition: 1, offset: 8 })).toThrow(/@8: not a ledger piece/);
  });

  it('a line written without its head (crash between them) is read as the version its head knows', () => {
    // Write 1: L1 (version 1), counter at 2. Write 2 changes L1 to version 2, adds L2, counter 3.
    const one = encodeChange('A001', undefined, { counters: { c: '2' }, renewals: {}, lines: { L1: record(1) } }, { 'decompte-lines:0': 10 });
    const two = encodeChange('A001', one.family, { counters: { c: '3' }, renewals: {}, lines: { L1: record(2), L2: record(1) } }, { 'decompte-lines:0': 12 });
    const [l1, l2, head2] = two.pieces.map(([, p]) => p) as [LinePiece, LinePiece, HeadPiece];
    // The undo of write 2 is the previous record of each line it wrote: L1 at version 1, L2 absent.
    expect([l1.undo, l2.undo]).toEqual([record(1), null]);
    const head1 = one.pieces[1]![1] as HeadPiece;
    // Crash after the lines of write 2, before its head: head seq 1 → write 1's ledger.
    expect(assemble(head1, [l1, l2])).toEqual({ state: { counters: { c: '2' }, renewals: {}, lines: { [lineBucket('L1')]: { L1: record(1) } } }, applied: { 'decompte-lines:0': 10 }, seq: 1 });
    // Both written: write 2's ledger.
    expect(lineRecord(assemble(head2, [l1, l2]).state, 'L1')).toEqual(record(2));
    expect(lineRecord(assemble(head2, [l1, l2]).state, 'L2')).toEqual(record(1));
    // The rollback a restore writes for a left-over: its undo at the head's number, or nothing (a tombstone).
    expect(rollbackOf(l1, head1)).toEqual({ v: 4, piece: 'line', line: 'L1', seq: 1, record: record(1), undo: record(1) });
    expect(rollbackOf(l2, head1)).toBeNull();
  });
});

function record(version: number): LineRecord {
  return { version, operation: 'I', inputHash: `h${version}` } as unknown as LineRecord;
}
