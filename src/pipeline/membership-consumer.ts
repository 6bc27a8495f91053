import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { stateStoreFileOf } from '../state/kv-store.js';
import type { Bus } from '../bus/index.js';
import type { Logger } from '../log.js';
import { caughtUp, endOffsetsOf } from './catch-up.js';
import type { MembershipStore } from './membership-store.js';
import { requestReliquidation } from './reliquidation-requests.js';
import { publishMembersChangelog, restoreMembership } from './membership-changelog.js';

/**
 * The membership consumer: `members` topic → membership store (one group per home, membershipGroupOf). Per batch:
 *   1. apply the events in ONE store transaction (history, applied event ids, person index, and
 *      the re-liquidation requests the batch asks for, in an outbox);
 *   2. produce the histories of the families it changed to `members-changelog` (membership-changelog.ts:
 *      marked in the same transaction, cleared once produced), then the outbox's requests to
 *      `reliquidations`, then remove them from the outbox;
 *   3. return: the bus commits the batch's offsets.
 * Before consuming, a store that `members` alone cannot bring up to date (a new home, a position
 * below what the topic's retention kept) is caught up from `members-changelog` (restoreMembership).
 * A crash before (1) commits: the batch comes again and is applied. After (1), before the offsets:
 * the batch comes again and every event id is already applied, nothing changes. Between (1) and
 * (2): the requests wait in the outbox and are produced at the next start or batch (a request
 * produced twice is harmless: re-deciding lines already re-decided publishes nothing).
 */
export const MEMBERSHIP_GROUP = 'membership';

/**
 * The group of a home's store: `membership-<12 hex of sha256(store file)>`. Every home needs EVERY
 * family's events (a liquidation anywhere may meet any member), so two homes on one Kafka must not
 * share a group, which would split the partitions between them. One home, one group.
 */
export function membershipGroupOf(store: MembershipStore): string {
  return groupOfStoreFile(store.kv.file);
}

/** The same group, named from the home (`noemie topics` shows its lag without opening the store). */
export function membershipGroupOfHome(home: string): string {
  return groupOfStoreFile(stateStoreFileOf(resolve(home)));
}

function groupOfStoreFile(file: string): string {
  return `${MEMBERSHIP_GROUP}-${createHash('sha256').update(file).digest('hex').slice(0, 12)}`;
}
const MAX_BATCH = 2000;

export interface MembershipStats {
  /** events applied */
  applied: number;
  /** events already applied (same event id) */
  duplicates: number;
  /** re-liquidation requests produced */
  requested: number;
  /** family histories produced to members-changelog */
  changelog: number;
  /** events the store took from members-changelog before consuming (a new home, or `members` lost its head) */
  restored: number;
}

async function drainOutbox(bus: Bus, store: MembershipStore, stats: MembershipStats): Promise<void> {
  stats.changelog += await publishMembersChangelog(bus, store);
  const pending = store.pendingRequests();
  if (pending.length === 0) return;
  await requestReliquidation(bus, pending);
  await store.requestsProduced(pending);
  stats.requested += pending.length;
}

function handlerOf(bus: Bus, store: MembershipStore, stats: MembershipStats, logger?: Logger) {
  return async (batch: { records: { value: import('../model/membership.js').MembershipEvent }[] }) => {
    const r = await store.apply(batch.records.map((x) => x.value));
    stats.applied += r.applied.length;
    stats.duplicates += r.duplicates;
    if (r.applied.length > 0) logger?.debug({ applied: r.applied.length, duplicates: r.duplicates, requests: r.requests.length }, 'membership: events applied');
    await drainOutbox(bus, store, stats);
  };
}

/**
 * Brings the store up to what `members` holds now (end offsets taken at start): `members import`,
 * `--once` runs and the payment run call it so they read today's membership.
 */
export async function updateMembershipStore(bus: Bus, store: MembershipStore, options: { groupId?: string; logger?: Logger } = {}): Promise<MembershipStats> {
  const groupId = options.groupId ?? membershipGroupOf(store);
  const stats: MembershipStats = { applied: 0, duplicates: 0, requested: 0, changelog: 0, restored: 0 };
  stats.restored = (await restoreMembership(bus, store, groupId, options.logger)).merged;
  await drainOutbox(bus, store, stats);
  if (await caughtUp(bus, groupId, ['members'])) return stats;
  const ends = await endOffsetsOf(bus, ['members']);
  const reached = new Map<string, number>();
  const lows = new Map((await bus.endOffsets('members')).map((p) => [p.partition, p.low]));
  for (const c of await bus.committedOffsets(groupId, 'members')) reached.set(`members/${c.partition}`, c.offset ?? lows.get(c.partition) ?? 0);
  const done = () => [...ends].every(([k, end]) => (reached.get(k) ?? 0) >= end);
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const handle = handlerOf(bus, store, stats, options.logger);
  const sub = await bus.consume({
    groupId,
    topics: ['members'],
    maxBatch: MAX_BATCH,
    handler: async (batch) => {
      await handle(batch);
      const last = batch.records.at(-1);
      if (last) reached.set(`members/${batch.partition}`, last.offset + 1);
      if (done()) finish();
    },
  });
  // another member of the group (a running service) may hold some partitions and commit them
  const others = setInterval(() => {
    void caughtUp(bus, groupId, ['members']).then((all) => all && finish(), () => undefined);
  }, 500);
  try {
    if (!done()) await Promise.race([finished, sub.done]);
  } finally {
    clearInterval(others);
  }
  await sub.stop();
  await sub.done;
  options.logger?.info({ groupId, ...stats }, 'membership: store brought up to date');
  return stats;
}

export interface MembershipConsumer {
  readonly stats: MembershipStats;
  readonly done: Promise<void>;
  /** finishes the batch in flight (store commit, requests, offsets) and leaves the group */
  stop(): Promise<void>;
}

/** The consumer running beside the services (`noemie run`, service-main): never finishes by itself. */
export async function startMembershipConsumer(options: { bus: Bus; store: MembershipStore; groupId?: string; logger?: Logger }): Promise<MembershipConsumer> {
  const stats: MembershipStats = { applied: 0, duplicates: 0, requested: 0, changelog: 0, restored: 0 };
  const groupId = options.groupId ?? membershipGroupOf(options.store);
  stats.restored = (await restoreMembership(options.bus, options.store, groupId, options.logger)).merged;
  await drainOutbox(options.bus, options.store, stats);
  const handle = handlerOf(options.bus, options.store, stats, options.logger);
  const sub = await options.bus.consume({ groupId, topics: ['members'], maxBatch: MAX_BATCH, handler: (batch) => handle(batch) });
  sub.done.catch((e: unknown) => options.logger?.error({ err: e }, 'membership: the consumer stopped'));
  return {
    stats,
    done: sub.done,
    async stop() {
      await sub.stop();
      await sub.done.catch(() => undefined);
    },
  };
}
