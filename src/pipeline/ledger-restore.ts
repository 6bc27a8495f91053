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
 * Why the marker can be trusted: a changelog partition has one writer at a time (the group member
 * that owns the matching line partition; replay must not run beside the service), which writes a
 * snapshot to the changelog (durable) before the store, and the marker records per partition the
 * position the store has really reached (liquidation-service.ts keeps it: its own writes, and the
 * catch-up when a partition arrives from another member). A crash between checkpoints leaves the
 * marker behind the store: the next start replays entries the store already has, in order, which
 * ends on the same last value.
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
  /** per changelog partition, the first offset not in the store (the changelog's end at restore) */
  positions: Map<number, number>;
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
  const positions = new Map<number, number>();
  for (const { partition, high } of ends) {
    read += await applyChangelog(bus, store, partition, from.get(partition) ?? 0, high);
    positions.set(partition, high);
  }
  await checkpointLedgers(store, busId, positions);
  return { rebuilt, why, read, positions };
}

/**
 * Copies counters-changelog[partition] entries [from, to) into the store, batch by batch, the last
 * piece per key of each batch (memory: one batch). Returns how many entries were read.
 */
export async function applyChangelog(bus: Bus, store: LedgerStore, partition: number, from: number, to: number, afterBatch?: () => Promise<void>): Promise<number> {
  if (to <= from) return 0;
  let read = 0;
  for await (const batch of bus.readRange('counters-changelog', partition, { from, to })) {
    const last = new Map<string, string | null>();
    for (const r of batch) {
      // Checked before anything is written: a bad entry stops the restore with its offset.
      if (r.value.value !== null) decodeSnapshot(r.value.value, { partition, offset: r.offset });
      last.delete(r.value.key);
      last.set(r.value.key, r.value.value);
    }
    await store.putMany(last);
    read += batch.length;
    await afterBatch?.();
  }
  return read;
}

/**
 * Makes the store durable and records `positions` (per changelog partition, the first offset not
 * in the store) as the marker. Call only once the store has every entry below them.
 */
export async function checkpointLedgers(store: LedgerStore, busId: string, positions: ReadonlyMap<number, number>): Promise<void> {
  await store.flush();
  await writeMarker(store, busId, positions);
}

async function writeMarker(store: LedgerStore, busId: string, positions: ReadonlyMap<number, number>): Promise<void> {
  const marker: Marker = { v: 2, bus: busId, next: Object.fromEntries([...positions].map(([p, next]) => [String(p), next])) };
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
