import type { Bus } from '../bus/bus.js';
import type { Logger } from '../log.js';
import { isLevelLocked } from '../state/level-store.js';
import { healLedgers, restoreLedgers } from './ledger-restore.js';
import { LedgerStore } from './ledger-store.js';
import { loadFamilies, type Family } from './ledgers.js';

/**
 * Where a replay (replay.ts) reads the ledgers of the families its range touches: given each
 * family's lineKeys in the range, their ledgers with (at least) those lines' records; a family
 * without a ledger is left out.
 */
export type FamilyLedgers = (wanted: ReadonlyMap<string, ReadonlySet<string>>) => Promise<Map<string, Family>>;

/**
 * The whole `counters-changelog` read through, the wanted families kept whole: needs nothing but
 * the bus, and costs the topic's history. What a replay beside a running service reads (its
 * ledger store is the service's, possibly behind what it has produced).
 */
export function changelogLedgers(bus: Bus): FamilyLedgers {
  return (wanted) => loadFamilies(bus, new Set(wanted.keys()));
}

/**
 * The home's ledger store (the one the liquidation service keeps, LevelDB), first brought up to
 * the changelog's end from its marker (`restoreLedgers`: what is new since the service last wrote,
 * nothing on a home whose service stopped cleanly), then each family's head and the records of the
 * range's lines, point reads — as the service reads a batch. So a replay costs its range, not the
 * history. Before a real replay (`heal`), the left-overs of a write cut by a crash are rolled back
 * on the changelog first (`healLedgers`), as the service does before it writes a partition: the
 * replay's new heads must not make such a left-over look current.
 *
 * The store is opened for the read and closed after it; the catch-up it makes is the one the
 * service would make at its next start (the marker moves with it). When another process holds the
 * home's LevelDB (a liquidation service on Kafka beside this command), the changelog is read instead.
 */
export function storeLedgers(o: { bus: Bus; home: string; busId: string; heal: boolean; logger?: Logger }): FamilyLedgers {
  return async (wanted) => {
    let store: LedgerStore;
    try {
      store = await LedgerStore.open({ home: o.home, namespace: o.busId });
    } catch (e) {
      if (!isLevelLocked(e)) throw e;
      o.logger?.warn({ home: o.home }, 'replay: the ledger store is held by another process; reading the families from counters-changelog');
      return changelogLedgers(o.bus)(wanted);
    }
    try {
      const restored = await restoreLedgers(o.bus, store, o.busId);
      if (o.heal) await healLedgers(o.bus, store, o.busId);
      o.logger?.info({ read: restored.read, rebuilt: restored.rebuilt }, 'replay: ledger store current with counters-changelog');
      return await store.getMany(wanted.keys(), (id) => wanted.get(id) ?? []);
    } finally {
      await store.close();
    }
  };
}
