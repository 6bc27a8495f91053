import type { Bus, OutgoingMessage, PartitionOffsets } from '../bus/bus.js';
import { changelogKey, changelogText } from '../bus/messages.js';
import { partitionFor } from '../bus/topics.js';
import { decodeSnapshot, familyOfKey, familyOfPiece, rollbackOf, storedPiece, unfinished, type HeadPiece, type LedgerPiece } from './ledgers.js';
import type { LedgerMarker, LedgerStore } from './ledger-store.js';

/**
 * Keeps a LedgerStore current with `counters-changelog`. The store's marker (`ledger.marker/<bus>`,
 * written in the SAME transaction as the pieces it describes: ledger-store.ts `write`) records,
 * per changelog partition, the first offset NOT in the store. At start the service reads only the
 * tail from there (all of it when the marker is missing, made for another bus, or out of the
 * partition's range: the namespace is wiped and rebuilt from the first offset). The tail is
 * streamed, batch by batch, each read batch one transaction (its last piece per key, and the
 * marker moved past it): memory stays one batch whatever the changelog size, and a crash during
 * a rebuild resumes where the last committed batch ended.
 *
 * Why the marker can be trusted: a changelog partition has one writer at a time (the group member
 * that owns the matching line partition; replay must not run beside the service), which produces
 * its pieces to the changelog (durable) before it commits them to the store, and the marker moves
 * with the pieces in one LMDB transaction: it says exactly what the store holds, never more.
 */
export interface RestoreResult {
  /** the store was wiped and rebuilt from the first offset */
  rebuilt: boolean;
  why: string;
  /** changelog entries read */
  read: number;
  /** per changelog partition, the first offset not in the store (the changelog's end at restore) */
  positions: Map<number, number>;
}

/** Where to start per partition, or why the store must be rebuilt. */
function startOffsets(marker: LedgerMarker | undefined, busId: string, ends: PartitionOffsets[]): Map<number, number> | string {
  if (marker === undefined) return 'no marker';
  if (marker.v !== 5 || typeof marker.next !== 'object' || marker.next === null) return 'unreadable marker';
  if (marker.bus !== busId) return `marker of another bus (${marker.bus})`;
  const out = new Map<number, number>();
  for (const { partition, low, high } of ends) {
    const next = marker.next[String(partition)] ?? 0;
    if (next > high) return `marker past the end of counters-changelog[${partition}] (${next} > ${high}): the topic was recreated`;
    if (next < low && next > 0) return `counters-changelog[${partition}] no longer holds offset ${next}`;
    out.set(partition, Math.max(next, low));
  }
  return out;
}

export async function restoreLedgers(bus: Bus, store: LedgerStore, busId: string): Promise<RestoreResult> {
  const ends = await bus.endOffsets('counters-changelog');
  let from = startOffsets(store.marker(), busId, ends);
  let why = 'marker: reading the changelog tail';
  const rebuilt = typeof from === 'string';
  if (typeof from === 'string') {
    why = from;
    await store.clear();
    from = new Map(ends.map((e) => [e.partition, e.low]));
  }
  let read = 0;
  const positions = new Map<number, number>();
  for (const { partition, high } of ends) {
    read += await applyChangelog(bus, store, busId, partition, from.get(partition) ?? 0, high);
    positions.set(partition, high);
  }
  // Every partition's position in the marker, even one with nothing to read (a fresh store).
  // Left-overs found are settled by the service before it writes their partition (healLedgers),
  // not here: on Kafka the partition may be another member's, in the middle of its write.
  await store.write([], positions, busId);
  return { rebuilt, why, read, positions };
}

/**
 * Settles the line pieces read above their head's write number (`ledger.suspect` marks, written
 * with them by `applyChangelog`): one whose head has caught up since (a later read batch held it)
 * is current; one still above its head is the left-over of a write cut before its head
 * (ledgers.ts), and its rollback — its `undo` at the head's write number, or a tombstone when the
 * line had no record — is produced to the changelog and read back into the store, so that no later
 * head of the family can make it look current. The service runs it for a partition before it
 * writes anything there (its catch-up, at every batch: `suspected(partition)` is one empty range
 * read when there is nothing to settle): the partition is then this member's alone, and the next
 * write of the family comes after the rollback. A crash in between leaves the marks, settled again
 * the next time (a rollback produced twice is the same value). Returns the rollbacks produced.
 */
export async function healLedgers(bus: Bus, store: LedgerStore, busId: string, partition?: number): Promise<number> {
  let produced = 0;
  for (let round = 0; round < 2; round++) {
    const settled: string[] = [];
    const rollbacks: OutgoingMessage<'counters-changelog'>[] = [];
    for (const key of await store.suspected(partition)) {
      const piece = store.linePiece(key);
      const family = familyOfKey(key);
      const head = store.headSummary(family);
      if (!piece || !unfinished(piece, head)) {
        settled.push(key);
        continue;
      }
      const back = rollbackOf(piece, head);
      rollbacks.push({ key, partition: partitionFor(family), value: { value: back === null ? null : storedPiece(back) } });
    }
    if (settled.length > 0) await store.write([], new Map(), busId, { remove: settled });
    if (rollbacks.length === 0 || round === 1) break;
    for (let i = 0; i < rollbacks.length; i += 1_000) await bus.produce('counters-changelog', rollbacks.slice(i, i + 1_000));
    produced += rollbacks.length;
    // Read back: the store takes the rollbacks (and its marker moves past them) like any changelog entry.
    const marker = store.marker();
    for (const p of new Set(rollbacks.map((m) => m.partition!))) {
      const end = (await bus.endOffsets('counters-changelog')).find((e) => e.partition === p)!.high;
      await applyChangelog(bus, store, busId, p, marker?.next[String(p)] ?? 0, end);
    }
  }
  return produced;
}

/**
 * Copies counters-changelog[partition] entries [from, to) into the store, each read batch one
 * transaction with the marker moved past it (memory: one batch). Returns how many entries were read.
 */
export async function applyChangelog(bus: Bus, store: LedgerStore, busId: string, partition: number, from: number, to: number, afterBatch?: () => Promise<void>): Promise<number> {
  if (to <= from) return 0;
  let read = 0;
  for await (const batch of bus.readRange('counters-changelog', partition, { from, to })) {
    const last = new Map<string, readonly [string, LedgerPiece | null, string | null]>();
    const parsed = new Map<string, LedgerPiece>();
    const heads = new Map<string, HeadPiece>();
    for (const r of batch) {
      // Either form of record (bus/messages.ts): the key in the value (earlier builds) or the record's.
      const key = changelogKey(r);
      last.delete(key);
      parsed.delete(key);
      // Checked before anything is written: a bad entry stops the restore with its offset.
      if (r.value.value !== null) {
        const piece = decodeSnapshot(r.value.value, { partition, offset: r.offset }, key);
        parsed.set(key, piece);
        if (piece.piece === 'head') heads.set(key, piece);
      }
      // Not cached (piece null): the cache keeps what the service uses. The store keeps the piece's
      // JSON text whichever form the record had (a string's is the text itself).
      last.set(key, [key, null, changelogText(r.value.value)] as const);
    }
    // A line above its family's head as of this batch's end may be a left-over: marked with it, settled by healLedgers.
    const suspects: string[] = [];
    for (const [key, piece] of parsed) {
      if (piece.piece !== 'line') continue;
      const family = familyOfPiece(key, piece);
      if (unfinished(piece, heads.get(family) ?? store.headSummary(family))) suspects.push(key);
    }
    const next = batch.length > 0 ? batch[batch.length - 1]!.offset + 1 : to;
    await store.write(last.values(), new Map([[partition, next]]), busId, { add: suspects });
    read += batch.length;
    await afterBatch?.();
  }
  return read;
}
