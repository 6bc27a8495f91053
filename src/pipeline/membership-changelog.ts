import type { Bus } from '../bus/index.js';
import { TRUSTED } from '../bus/index.js';
import type { Logger } from '../log.js';
import type { MembersChangelogValue } from '../model/membership.js';
import type { MembershipStore } from './membership-store.js';

/**
 * `members-changelog` (compacted, keyed by adhérent): each family's whole history as the membership
 * store holds it. It lets `members` keep a finite retention (src/bus/topics.ts): a new home — or a
 * home whose position on `members` fell behind what the topic still holds — starts from the
 * changelog, then reads `members` from where it stands, every event deduped by its id.
 *
 * Written after the store, from the store: the batch's transaction marks each family it changed
 * (`members.changelog-due`) with its events; the marks are produced (the family's history read
 * from the store), then cleared; only then does the consumer produce the batch's re-liquidation
 * requests and return, and the bus commit the offsets (membership-consumer.ts). A crash:
 * - before the store commit: nothing happened; the batch comes again;
 * - after the commit, before the produce: the marks are in the store; the next batch or the next
 *   start produces them (`publishMembersChangelog`) — the events are applied, so a redelivered
 *   batch would change nothing and could not be what writes them;
 * - after the produce, before the marks are cleared: produced again, the same value (read from the
 *   same store): compaction keeps one.
 * A value is the family's whole history, so a later value always holds an earlier one's events.
 */

/** Produces the histories the store owes to the changelog, then clears their marks. */
export async function publishMembersChangelog(bus: Bus, store: MembershipStore): Promise<number> {
  const due = store.dueChangelog().filter((v) => v.events.length > 0);
  if (due.length === 0) return 0;
  for (let i = 0; i < due.length; i += 500) await bus.produce('members-changelog', due.slice(i, i + 500).map((value) => ({ value })), TRUSTED);
  await store.changelogWritten(due);
  return due.length;
}

export interface MembershipRestore {
  /** why the changelog was read (null: it was not) */
  why: string | null;
  /** changelog records read */
  read: number;
  /** events added to the store from them */
  merged: number;
}

/**
 * Before a store consumes `members`: reads the changelog into it when `members` alone cannot bring
 * it up to date — the store knows no family while the changelog has some (a new home, a new Kafka
 * member with its own home, a store file removed), or on some partition the group's position is
 * below the first offset `members` still holds (retention removed events this store never applied).
 * Every changelog record is merged (events not applied yet, by id), batch by batch: memory is one
 * read batch, whatever the portfolio. `members` is then consumed from the group's position (a new
 * group: its first offset), and what the changelog already gave is skipped by event id.
 */
export async function restoreMembership(bus: Bus, store: MembershipStore, groupId: string, logger?: Logger): Promise<MembershipRestore> {
  const changelog = await bus.endOffsets('members-changelog');
  if (changelog.every((p) => p.high <= p.low)) return { why: null, read: 0, merged: 0 };
  const why = await restoreReason(bus, store, groupId);
  if (why === null) return { why, read: 0, merged: 0 };
  let read = 0;
  let merged = 0;
  for (const { partition, low, high } of changelog) {
    if (high <= low) continue;
    for await (const records of bus.readRange('members-changelog', partition, { from: low, to: high })) {
      const values: MembersChangelogValue[] = [];
      for (const r of records) if (r.value !== null) values.push(r.value);
      read += records.length;
      merged += await store.merge(values);
    }
  }
  logger?.info({ why, read, merged }, 'membership: store caught up from members-changelog');
  return { why, read, merged };
}

async function restoreReason(bus: Bus, store: MembershipStore, groupId: string): Promise<string | null> {
  if (!store.hasFamilies()) return 'the store knows no family';
  const committed = new Map((await bus.committedOffsets(groupId, 'members')).map((c) => [c.partition, c.offset]));
  for (const { partition, low } of await bus.endOffsets('members')) {
    if (low === 0) continue;
    const at = committed.get(partition) ?? null;
    if (at === null || at < low) return `members partition ${partition} starts at ${low}, past this store's position ${at ?? 'none'}`;
  }
  return null;
}
