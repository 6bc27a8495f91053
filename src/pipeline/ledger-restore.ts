import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Bus, PartitionOffsets } from '../bus/bus.js';
import { decodeSnapshot } from './ledgers.js';
import type { LedgerStore } from './ledger-store.js';

/**
 * Keeps a LedgerStore current with `counters-changelog`. A marker file (`marker.json` in the
 * store's folder) records, per changelog partition, the first offset NOT yet in the store. At
 * start the service reads only the tail from there (all of it when the marker is missing,
 * unreadable, made for another bus, or out of the partition's range: the store is wiped and
 * rebuilt from the first offset; a v1 marker, from before ledgers were split in pieces, too). The tail is streamed, batch by batch, last piece per key of
 * each batch written to disk: memory stays one batch whatever the changelog size.
 *
 * Why the marker can be trusted: the service is the changelog's only writer while it runs (replay
 * must not run beside it), and it writes a snapshot to the changelog (durable) before the store.
 * So when `checkpoint` reads the end offsets after the store writes of a batch, every entry below
 * them is in the store. A crash between checkpoints leaves the marker behind the store: the next
 * start replays entries the store already has, in order, which ends on the same last value.
 */
const MarkerSchema = z.object({
  v: z.literal(2),
  /** which bus the store mirrors (embedded, or Kafka + topic prefix): another bus means rebuild */
  bus: z.string(),
  next: z.record(z.string(), z.number().int().min(0)),
});
type Marker = z.infer<typeof MarkerSchema>;

export interface RestoreResult {
  /** the store was wiped and rebuilt from the first offset */
  rebuilt: boolean;
  why: string;
  /** changelog entries read */
  read: number;
}

const markerPath = (store: LedgerStore) => join(store.dir, 'marker.json');

async function readMarker(store: LedgerStore): Promise<Marker | string> {
  let text: string;
  try {
    text = await readFile(markerPath(store), 'utf8');
  } catch {
    return 'no marker';
  }
  try {
    const parsed = MarkerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable marker';
  } catch {
    return 'unreadable marker';
  }
}

/** Where to start per partition, or why the store must be rebuilt. */
function startOffsets(marker: Marker | string, busId: string, ends: PartitionOffsets[]): Map<number, number> | string {
  if (typeof marker === 'string') return marker;
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
  let from = startOffsets(await readMarker(store), busId, ends);
  let why = 'marker: reading the changelog tail';
  const rebuilt = typeof from === 'string';
  if (typeof from === 'string') {
    why = from;
    await store.clear();
    from = new Map(ends.map((e) => [e.partition, e.low]));
  }
  let read = 0;
  for (const { partition, high } of ends) {
    const start = from.get(partition) ?? 0;
    if (high <= start) continue;
    for await (const batch of bus.readRange('counters-changelog', partition, { from: start, to: high })) {
      const last = new Map<string, string | null>();
      for (const r of batch) {
        // Checked before anything is written: a bad entry stops the restore with its offset.
        if (r.value.value !== null) decodeSnapshot(r.value.value, { partition, offset: r.offset });
        last.delete(r.value.key);
        last.set(r.value.key, r.value.value);
      }
      await store.putMany(last);
      read += batch.length;
    }
  }
  await store.flush();
  await writeMarker(store, busId, ends);
  return { rebuilt, why, read };
}

/** Records the changelog's current end as applied; call only once the store has every entry below it. */
export async function checkpointLedgers(bus: Bus, store: LedgerStore, busId: string): Promise<void> {
  const ends = await bus.endOffsets('counters-changelog');
  await store.flush();
  await writeMarker(store, busId, ends);
}

async function writeMarker(store: LedgerStore, busId: string, ends: PartitionOffsets[]): Promise<void> {
  const marker: Marker = { v: 2, bus: busId, next: Object.fromEntries(ends.map((e) => [String(e.partition), e.high])) };
  const path = markerPath(store);
  const fh = await open(`${path}.tmp`, 'w');
  try {
    await fh.writeFile(JSON.stringify(marker));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(`${path}.tmp`, path);
}
