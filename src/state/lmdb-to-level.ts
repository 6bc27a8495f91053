import type { StateStore } from './kv-store.js';
import type { LevelStore } from './level-store.js';

/**
 * Moves a state's sub-stores from the home's LMDB store to its LevelDB store, once, for a state
 * that is the only copy of its facts (the payment state: nothing rebuilds it, unlike the
 * reconciliation and ledger states, which are dropped and rebuilt from their changelogs). The
 * steps, and why a `kill -9` or a power cut after any of them loses and duplicates nothing:
 *
 *   1. copy    every key of each sub-store, in key order, into LevelDB, `copyPerBatch` keys per
 *              synced batch (keys in order: LevelDB appends). The LMDB keys are untouched, and
 *              nothing else writes either side before the marker: a crash here copies again over
 *              the same keys (the LevelDB range is cleared first, so a key copied by an earlier
 *              attempt of a state that changed since — a downgrade in between — cannot stay).
 *   2. marker  `<marker sub-store>/<marker key>` = { layout, moved } in its own synced batch: from
 *              then on the LevelDB side is the state, the LMDB keys are dead.
 *   3. remove  the LMDB keys, `removePerCommit` per commit (each a durable LMDB transaction). A
 *              crash leaves some: the next open sees the marker and removes what is left.
 * The marker is specific to the state moved (`payments.layout`, …), not a global layout version
 * another state's move may also bump.
 *
 * A sub-store may be regrouped on the way (`into`): LMDB keys `<a>␟<b>` read in key order, the
 * values of consecutive keys with the same `into.key` become ONE LevelDB value (a list) — an
 * index scanned per line in LMDB becomes a point read per line in LevelDB.
 */
export interface MovedSubStore {
  /** the LMDB sub-store's name */
  from: string;
  /** the LevelDB sub-store's name (default: the same) */
  to?: string;
  /** regroup: the LevelDB key of an LMDB key, and the list item an LMDB (key, value) becomes */
  into?: { key: (lmdbKey: string) => string; item: (lmdbKey: string, value: unknown) => unknown };
}

export interface MoveMarker {
  layout: number;
  /** when the copy was complete */
  moved: string;
}

export interface MoveOptions {
  kv: StateStore;
  level: LevelStore;
  subs: readonly MovedSubStore[];
  marker: { sub: string; key: string; layout: number };
  copyPerBatch?: number;
  removePerCommit?: number;
  /** after each step's commit (the kill -9 tests stop there): 'copied' after every batch, then 'marked', then 'removed' after every LMDB commit */
  onStep?: (step: 'copied' | 'marked' | 'removed') => void;
  now?: () => string;
}

export const COPY_PER_BATCH = 16384;
export const REMOVE_PER_COMMIT = 65536;

/** What the move did: keys copied (0 when the marker was there), LMDB keys removed. */
export interface MoveReport {
  copied: number;
  removed: number;
}

/** The marker, when the move is done (the LevelDB side is the state). */
export function moveMarkerOf(level: LevelStore, marker: { sub: string; key: string }): MoveMarker | undefined {
  return level.sub<MoveMarker>(marker.sub).get(marker.key);
}

/** Runs the steps not done yet (module comment). Call before anything reads or writes the state. */
export async function moveLmdbToLevel(o: MoveOptions): Promise<MoveReport> {
  const copyPer = o.copyPerBatch ?? COPY_PER_BATCH;
  const removePer = o.removePerCommit ?? REMOVE_PER_COMMIT;
  const marker = o.level.sub<MoveMarker>(o.marker.sub);
  let copied = 0;
  const done = marker.get(o.marker.key);
  if (done !== undefined && done.layout > o.marker.layout) {
    throw new Error(`state layout ${o.marker.sub}/${o.marker.key} is ${done.layout}, newer than this version's ${o.marker.layout}: refusing to use it`);
  }
  if (done === undefined) {
    // nothing to move (a new home, or one whose LMDB side was never written): the marker alone
    for (const s of o.subs) {
      await o.level.sub(s.to ?? s.from).clear();
      copied += await copySub(o, s, copyPer);
    }
    await o.level.commit(() => marker.put(o.marker.key, { layout: o.marker.layout, moved: (o.now ?? (() => new Date().toISOString()))() }));
    o.onStep?.('marked');
  }
  let removed = 0;
  for (const s of o.subs) {
    const lmdb = o.kv.sub<unknown>(s.from);
    for (;;) {
      const keys = lmdb.keysAfter(null, removePer);
      if (keys.length === 0) break;
      await o.kv.commit(() => {
        for (const k of keys) lmdb.remove(k);
      });
      removed += keys.length;
      o.onStep?.('removed');
    }
  }
  return { copied, removed };
}

async function copySub(o: MoveOptions, s: MovedSubStore, copyPer: number): Promise<number> {
  const lmdb = o.kv.sub<unknown>(s.from);
  const level = o.level.sub<unknown>(s.to ?? s.from);
  let copied = 0;
  // a regrouped value is complete only once the next key's group starts: held until then
  let open: { key: string; items: unknown[] } | null = null;
  for (let after: string | null = null; ; ) {
    const entries = lmdb.entriesAfter(after, copyPer);
    if (entries.length === 0) break;
    after = entries.at(-1)![0];
    await o.level.commit(() => {
      for (const [k, v] of entries) {
        if (s.into === undefined) {
          level.put(k, v);
          continue;
        }
        const key = s.into.key(k);
        if (open !== null && open.key !== key) level.put(open.key, open.items);
        if (open === null || open.key !== key) open = { key, items: [] };
        open.items.push(s.into.item(k, v));
      }
      // the group still open is put as it is so far: a group split over two batches is put again,
      // whole, by the later one (the same key: the later batch's value wins)
      if (open !== null) level.put(open.key, open.items);
    });
    copied += entries.length;
    o.onStep?.('copied');
  }
  return copied;
}
