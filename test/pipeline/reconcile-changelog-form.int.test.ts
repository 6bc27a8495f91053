import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { TRUSTED } from '../../src/bus/index.js';
import { partitionFor } from '../../src/bus/topics.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { ReconStore, restoreReconStates } from '../../src/pipeline/reconcile-store.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService } from '../../src/pipeline/reconcile-service.js';
import { entryRecordText, parseEntryRecord } from '../../src/reconcile/entry-codec.js';
import { claim, readAll, readChangelog, settlement, tempDir } from './stages-given.js';

/**
 * The form of a write's changelog records since session 14 (README "Reconciliation state"): the
 * records of the entries a write changed, the LAST one carrying the beneficiary's head; an entry
 * that existed before carries its undo (its tuple before the write) — except on the last record,
 * which commits the write and so is never read above its head: its undo is written null. A store
 * rebuilt from the changelog alone holds the states the service kept; so does one rebuilt from a
 * changelog of the earlier form (the last record with its undo), which homes written before hold.
 */
let dir = '';
let cleanup: () => Promise<void>;
let bus: Bus;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('recon-form-'));
  bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
});

afterEach(async () => {
  await bus.close();
  await cleanup();
});

const NIR = '1850575000001';
const B = `${NIR}-1`;

async function statesRebuiltFrom(changelog: Bus, name: string): Promise<Map<string, unknown>> {
  const store = await ReconStore.open(join(dir, name));
  try {
    const restored = await restoreReconStates(changelog, store, 'embedded');
    expect(restored.rebuilt).toBe(true);
    return await store.states();
  } finally {
    await store.close();
  }
}

describe('reconcile-changelog: a write’s records', () => {
  it('carry the undo of an entry that existed, but not on the last record (it carries the head); both forms rebuild the same states', async () => {
    // two claims wait (write 1), then their two lines come in one batch (write 2: L1, L2, C1, C2)
    const beneficiary = { nir: NIR, rang: 1 };
    await bus.produce('tp-claims', [{ value: claim({ tpClaimId: 'C1', nir: NIR, actCode: 'G' }) }, { value: claim({ tpClaimId: 'C2', nir: NIR, actCode: 'C' }) }]);
    const service = await startReconcileService({ bus, home: join(dir, 'home'), busId: 'embedded' });
    try {
      await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 15_000);
      await bus.produce('settlements', [{ value: settlement({ lineKey: 'noemie-1:L1:1', beneficiary, actCode: 'G' }) }, { value: settlement({ lineKey: 'noemie-1:L2:1', beneficiary, actCode: 'C' }) }]);
      await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 15_000);
    } finally {
      await service.stop();
    }
    expect((await readAll(bus, 'reconciliation')).map((o) => o.outcomeId).sort()).toEqual(['matched|noemie-1:L1:1@1|C1#1', 'matched|noemie-1:L2:1@1|C2#1']);

    const log = await readChangelog(bus, 'reconcile-changelog');
    // written as JSON in the record, keyed by the record's key (not a string of it with the key again)
    expect(log.map((r) => r.form)).toEqual(log.map(() => 'json'));
    expect(log.map((r) => r.key)).toEqual([`${B}#C#C1`, `${B}#C#C2`, `${B}#L#noemie-1:L1:1`, `${B}#L#noemie-1:L2:1`, `${B}#C#C1`, `${B}#C#C2`]);
    const second = log.slice(2).map((r) => parseEntryRecord(B, r.key.split('#')[1] as 'L' | 'C', r.value!));
    expect(second.map((r) => r.w)).toEqual([2, 2, 2, 2]);
    // new lines: no undo; C1 existed (pending) and is not last: its undo is the pending claim
    expect(second[0]!.undo).toBeNull();
    expect(second[1]!.undo).toBeNull();
    expect(second[2]!.undo).toEqual(parseEntryRecord(B, 'C', log[0]!.value!).entry);
    expect(second[2]!.seq).toBeUndefined();
    // C2 existed too, but its record is the last of the write: the head, no undo
    expect(JSON.parse(log[5]!.value!)).toEqual([3, 2, expect.any(Array), null, 2]);

    const kept = await (async () => {
      const store = await ReconStore.open(join(dir, 'home'));
      try {
        return await store.states();
      } finally {
        await store.close();
      }
    })();
    expect(kept.get(B)?.claims.C2?.lineKey).toBe('noemie-1:L2:1');
    expect(await statesRebuiltFrom(bus, 'rebuilt')).toEqual(kept);

    // the earlier form: the last record of write 2 with C2's undo (its pending tuple), as homes written before hold
    const old = await openEmbeddedBus({ dir: join(dir, 'old-bus') });
    try {
      const pendingC2 = JSON.parse(log[1]!.value!) as unknown[];
      const last = JSON.parse(log[5]!.value!) as unknown[];
      // and in the record form of earlier builds: the record as a string, the key in the value
      const earlier = log.map((r, i) => ({ key: r.key, value: i === 5 ? entryRecordText(2, JSON.stringify(last[2]), JSON.stringify(pendingC2[2]), 2) : r.value }));
      expect(JSON.parse(earlier[5]!.value!)[3]).toEqual(pendingC2[2]);
      await old.produce('reconcile-changelog', earlier.map((value) => ({ value, partition: partitionFor(B) })), TRUSTED);
      expect(await statesRebuiltFrom(old, 'rebuilt-old')).toEqual(kept);
    } finally {
      await old.close();
    }
  });
});
