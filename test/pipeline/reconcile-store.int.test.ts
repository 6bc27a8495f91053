import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus, BusRecord } from '../../src/bus/index.js';
import type { ReconOutcome } from '../../src/model/reconciliation.js';
import type { Settlement } from '../../src/model/settlement.js';
import type { TpClaim } from '../../src/model/tp-claim.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { ReconStore } from '../../src/pipeline/reconcile-store.js';
import { compositeKey, StateStore } from '../../src/state/kv-store.js';
import { LevelStore } from '../../src/state/level-store.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService, type ReconcileService, type ReconcileServiceOptions } from '../../src/pipeline/reconcile-service.js';
import { decide, initialReconState, nextDeadline, reconKeyOf, type ReconEvent, type ReconState } from '../../src/reconcile/index.js';
import { partitionFor } from '../../src/bus/topics.js';
import { entryRecordText, entryText } from '../../src/reconcile/entry-codec.js';
import { encodeReconStateText } from '../../src/reconcile/state-codec.js';
import { claim, readAll, readChangelog, settlement, tempDir } from './stages-given.js';

/**
 * The reconcile service's state in the home's state store (reconcile-store.ts): a restart reads
 * only the changelog past the store's marker; a crash between the produces and the store commit,
 * or between the store commit and the offset commit, ends — once restarted — with exactly the
 * states and the outcomes (deduped on outcomeId, copies identical) of the pure decider folded over
 * the same records; the deadline index always names each state's next deadline.
 *
 * The events come in two waves (claims, then settlements), each beneficiary's events on one
 * partition of one topic per wave: whatever the batching and the restarts, each beneficiary sees
 * its events in the same order, so the reference is the decider folded per beneficiary over the
 * records read back from the bus, in that order, at their bus timestamps.
 */
let dir = '';
let cleanup: () => Promise<void>;
let bus: Bus;
let service: ReconcileService | undefined;
const home = () => join(dir, 'home');

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('recon-store-'));
  bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await bus.close();
  await cleanup();
});

const nirOf = (i: number) => `1850575${String(100000 + i).slice(-6)}`;
const BENEFICIARIES = 12;

/** Claims for the even beneficiaries: C0 claims 25.00 (indu 6.00 against 19.00), the others 19.00. */
function claims(): TpClaim[] {
  const out: TpClaim[] = [];
  for (let i = 0; i < BENEFICIARIES; i += 2) out.push(claim({ tpClaimId: `C${i}`, nir: nirOf(i), amcAmountClaimed: i === 0 ? '25.00' : '19.00' }));
  return out;
}

/**
 * Per beneficiary a tp 15 line (AMC 19.00: matched when an even one's claim waits, else held);
 * every third a version 2 at 15.00 (the claim of 19.00 becomes an indu of 4.00); i % 4 = 1 also a
 * member line (tp 00) paid 9.00, then annulled (annulation-indu 9.00).
 */
function settlements(): Settlement[] {
  const out: Settlement[] = [];
  for (let i = 0; i < BENEFICIARIES; i++) {
    const beneficiary = { nir: nirOf(i), rang: 1 };
    out.push(settlement({ lineKey: `noemie-1:D${i}:1`, beneficiary }));
    if (i % 3 === 0) out.push(settlement({ lineKey: `noemie-1:D${i}:1`, beneficiary, amcAmount: '15.00', version: 2 }));
    if (i % 4 === 1) {
      const member = { lineKey: `noemie-1:M${i}:1`, beneficiary, adherentId: `A${i}`, tp: '00', payee: 'member', amcAmount: '9.00' } as const;
      out.push(settlement(member), settlement({ ...member, operation: 'A', version: 2 }));
    }
  }
  return out;
}

async function caughtUp(): Promise<void> {
  await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 15_000);
}

async function records<T extends 'settlements' | 'tp-claims'>(topic: T): Promise<BusRecord<T>[]> {
  const out: BusRecord<T>[] = [];
  for (const { partition, low, high } of await bus.endOffsets(topic)) {
    if (high > low) for await (const batch of bus.readRange(topic, partition, { from: low, to: high })) out.push(...batch);
  }
  return out;
}

/** The decider folded per beneficiary over the waves' records (claims, then settlements), then the tick. */
async function reference(tickAt: string): Promise<{ states: Map<string, ReconState>; outcomes: Map<string, ReconOutcome>; ticked: ReconOutcome[] }> {
  const states = new Map<string, ReconState>();
  const outcomes = new Map<string, ReconOutcome>();
  const fold = (event: ReconEvent, key: string) => {
    const d = decide(states.get(key) ?? initialReconState(), event);
    if (d.state !== (states.get(key) ?? null)) states.set(key, d.state);
    for (const o of d.outcomes) outcomes.set(o.outcomeId, o);
    return d.outcomes;
  };
  for (const r of await records('tp-claims')) {
    const event: ReconEvent = { kind: 'claim', claim: r.value, at: new Date(r.timestamp).toISOString() };
    fold(event, reconKeyOf(event)!);
  }
  for (const r of await records('settlements')) {
    const event: ReconEvent = { kind: 'settlement', settlement: r.value, at: new Date(r.timestamp).toISOString() };
    fold(event, reconKeyOf(event)!);
  }
  const ticked = [...states.keys()].sort().flatMap((key) => fold({ kind: 'tick', now: tickAt }, key));
  return { states, outcomes, ticked };
}

/** Outcomes on the topic, deduped on outcomeId; every copy of an id must be the same outcome. */
async function published(): Promise<Map<string, ReconOutcome>> {
  const out = new Map<string, ReconOutcome>();
  for (const o of await readAll(bus, 'reconciliation')) {
    const seen = out.get(o.outcomeId);
    if (seen) expect(o).toEqual(seen);
    out.set(o.outcomeId, o);
  }
  return out;
}

async function storeOf(h: string): Promise<{ states: Map<string, ReconState>; index: [string, string][]; keys: number }> {
  const store = await ReconStore.open(h);
  try {
    return { states: await store.states(), index: await store.deadlineIndex(), keys: store.keys };
  } finally {
    await store.close();
  }
}

/**
 * The index holds exactly one entry per line or claim whose wait runs: a held line with no
 * exception raised yet, a pending claim likewise (what nextDeadline takes the minimum of), under
 * `<deadline>␟<NIR-rang>␟<L|C>␟<id>`; so each state's first index entry is its nextDeadline.
 */
function expectIndexOf(states: Map<string, ReconState>, index: [string, string][]): void {
  const expected: [string, string][] = [];
  for (const [key, s] of states) {
    for (const l of Object.values(s.lines)) if (l.status === 'held' && !l.exceptionRaised && l.deadline !== null) expected.push([l.deadline, compositeKey(key, 'L', l.lineKey)]);
    for (const c of Object.values(s.claims)) if (c.lineKey === null && !c.exceptionRaised && c.deadline !== null) expected.push([c.deadline, compositeKey(key, 'C', c.claim.tpClaimId)]);
  }
  expected.sort((a, b) => (compositeKey(...a) < compositeKey(...b) ? -1 : 1));
  expect(index).toEqual(expected);
  for (const [key, s] of states) {
    const first = index.find(([, k]) => k.startsWith(compositeKey(key, '')));
    expect(first?.[0] ?? null).toBe(nextDeadline(s));
  }
}

async function start(o: Partial<ReconcileServiceOptions> = {}): Promise<ReconcileService> {
  service = await startReconcileService({ bus, home: home(), maxBatch: 3, ...o });
  return service;
}

async function changelogLength(): Promise<number> {
  return (await bus.endOffsets('reconcile-changelog')).reduce((s, e) => s + e.high - e.low, 0);
}

const TICK_AT = '2030-01-01T00:00:00.000Z';

/** The store's record text of an entry (layout 4: the home's LevelDB). */
async function rawEntry(beneficiary: string, kind: 'L' | 'C', id: string): Promise<string | undefined> {
  const level = await LevelStore.open(home());
  try {
    return level.sub<string>('reconcile.person', 'text').get(compositeKey(beneficiary, kind, id));
  } finally {
    await level.close();
  }
}

/** A beneficiary's last write number in the store. */
async function headW(beneficiary: string): Promise<number> {
  const level = await LevelStore.open(home());
  try {
    return (JSON.parse(level.sub<string>('reconcile.person', 'text').get(compositeKey(beneficiary, 'H'))!) as [number, number])[0];
  } finally {
    await level.close();
  }
}

/** The LMDB store's keys of the reconcile sub-stores (a home of layouts 1–3 kept its state there). */
async function lmdbReconKeys(): Promise<string[]> {
  const kv = StateStore.open(home());
  try {
    return ['reconcile.person', 'reconcile.deadline', 'reconcile.suspect', 'reconcile.state', 'reconcile.marker'].flatMap((name) => [...kv.sub<unknown>(name).keys()].map((k) => `${name}/${k}`));
  } finally {
    await kv.close();
  }
}

describe('reconcile service state in the state store', () => {
  it('a restart reads only the changelog past the marker; another bus or a recreated topic rebuilds from the first offset', async () => {
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await start();
    await caughtUp();
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await caughtUp();
    expect(service!.stats.restored).toBe(0);
    await service!.stop();
    const total = await changelogLength();
    expect(total).toBeGreaterThan(BENEFICIARIES);

    // a clean stop left the store at the changelog's end: nothing to read again
    await start();
    expect(service!.stats.restored).toBe(0);
    expect(service!.keys).toBe(BENEFICIARIES);
    await service!.stop();

    // a store made for another bus (the home talked to Kafka before): wiped, the whole changelog read
    await start({ busId: 'kafka-default' });
    expect(service!.stats.restored).toBe(total);
    expect(service!.keys).toBe(BENEFICIARIES);
    await service!.stop();

    // the embedded bus of the home deleted and made again (empty topics): the marker is past the end
    await bus.close();
    bus = await openEmbeddedBus({ dir: join(dir, 'bus2') });
    await start({ busId: 'kafka-default' });
    expect(service!.stats.restored).toBe(0);
    expect(service!.keys).toBe(0);
    await service!.stop();
    expect((await storeOf(home())).states.size).toBe(0);
  });

  it('a home of the previous layout (v1 marker, whole-object states, whole-object changelog) is rebuilt into compact states equal to the decider\'s', async () => {
    // the previous build's home: each state published whole (JSON of the object) and kept as { s, d } under a v1 marker
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    const { states } = await reference(TICK_AT);
    expect(states.size).toBe(BENEFICIARIES);
    await bus.produce('reconcile-changelog', [...states].map(([key, state]) => ({ value: { key, value: JSON.stringify(state) } })));
    const next = Object.fromEntries((await bus.endOffsets('reconcile-changelog')).map((e) => [String(e.partition), e.high]));
    const kv = StateStore.open(home());
    await kv.commit(() => {
      for (const [key, state] of states) kv.sub<{ s: ReconState; d: string | null }>('reconcile.state').put(key, { s: state, d: nextDeadline(state) });
      kv.sub('reconcile.marker').put('changelog', { v: 1, bus: 'embedded', next, keys: states.size });
    });
    await kv.close();

    // this build: the v1 store is wiped and rebuilt from the whole changelog, then every record is
    // delivered to the new group and changes nothing (the states hold them already)
    await start();
    expect(service!.stats.restored).toBe(BENEFICIARIES);
    await caughtUp();
    await service!.stop();
    expect((await published()).size).toBe(0);
    const after = await storeOf(home());
    expect(after.states).toEqual(states);
    expect(after.keys).toBe(BENEFICIARIES);
    expectIndexOf(after.states, after.index);
    // the values are layout 4 now (in the home's LevelDB, none left in LMDB): one record per line and per claim, [3, w, tuple], the NIR not repeated inside
    expect(await lmdbReconKeys()).toEqual([]);
    const raw = await LevelStore.open(home());
    try {
      const entries: [string, string][] = [];
      for await (const [key, text] of raw.sub<string>('reconcile.person', 'text').entries()) if (['L', 'C'].includes(key.split('\u001f')[1]!)) entries.push([key, text]);
      expect(entries).toHaveLength([...states.values()].reduce((n, st) => n + Object.keys(st.lines).length + Object.keys(st.claims).length, 0));
      for (const [key, text] of entries) {
        expect(text.startsWith('[3,1,')).toBe(true); // each whole state read as its beneficiary's first write
        expect(text).not.toContain(key.split('-')[0]);
      }
    } finally {
      await raw.close();
    }
  });

  it('a home of layout 3 (its state in the LMDB store) is rebuilt into the home\'s LevelDB from the changelog, and its LMDB keys removed', async () => {
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await start();
    await caughtUp();
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await caughtUp();
    await service!.stop();
    const total = await changelogLength();
    const outcomes = (await published()).size;
    // the previous build's home: the same keys in LMDB under a v3 marker at the changelog's end, no LevelDB folder
    const level = await LevelStore.open(home());
    const copied: [string, string, string][] = [];
    for (const name of ['reconcile.person', 'reconcile.deadline']) for await (const [k, v] of level.sub<string>(name, 'text').entries()) copied.push([name, k, v]);
    await level.close();
    expect(copied.length).toBeGreaterThan(BENEFICIARIES);
    await rm(join(home(), 'state', 'level'), { recursive: true });
    const next = Object.fromEntries((await bus.endOffsets('reconcile-changelog')).map((e) => [String(e.partition), e.high]));
    const kv = StateStore.open(home());
    await kv.commit(() => {
      for (const [name, k, v] of copied) kv.sub<string>(name).put(k, v);
      kv.sub('reconcile.marker').put('changelog', { v: 3, bus: 'embedded', next, keys: BENEFICIARIES });
    });
    await kv.close();
    expect((await lmdbReconKeys()).length).toBe(copied.length + 1);

    // this build: no LevelDB marker, so the whole changelog is read into LevelDB; the LMDB keys are gone
    await start();
    expect(service!.stats.restored).toBe(total);
    expect(service!.keys).toBe(BENEFICIARIES);
    await caughtUp();
    const ticked = await service!.tick(TICK_AT);
    await service!.stop();
    expect(await lmdbReconKeys()).toEqual([]);
    const ref = await reference(TICK_AT);
    const after = await storeOf(home());
    expect(after.states).toEqual(ref.states);
    expectIndexOf(after.states, after.index);
    // nothing decided twice: the records delivered again changed nothing, the tick raised the waits once
    expect(ticked.map((o) => o.outcomeId).sort()).toEqual(ref.ticked.map((o) => o.outcomeId).sort());
    expect((await published()).size).toBe(outcomes + ticked.length);
    expect(await published()).toEqual(ref.outcomes);
  });

  it('kill -9 of the service process twice while it commits batches, then a restart: the states and outcomes of the decider folded once', async () => {
    // the claims' wave first (the reference folds each person's claims before their settlements)
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await start();
    await caughtUp();
    await service!.stop();
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    const total = (await bus.endOffsets('settlements')).reduce((n, e) => n + e.high, 0);
    await bus.close();
    // The service in a child process on the home's LevelDB, batches of 2 records, a pause after each
    // produce and each store commit so the kills land between them, killed after a few commits.
    const modules = { bus: resolve('dist/src/bus/embedded/embedded-bus.js'), service: resolve('dist/src/pipeline/reconcile-service.js') };
    const script = `
      const { openEmbeddedBus } = await import(${JSON.stringify(modules.bus)});
      const { startReconcileService } = await import(${JSON.stringify(modules.service)});
      const pause = () => new Promise((r) => setTimeout(r, 20));
      const bus = await openEmbeddedBus({ dir: process.argv[1] });
      await startReconcileService({ bus, home: process.argv[2], maxBatch: 2, faults: { afterProduce: pause, afterStoreCommit: async () => { process.stdout.write('c\\n'); await pause(); } } });
      setInterval(() => {}, 1000);`;
    for (const commits of [3, 4]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, join(dir, 'bus'), home()], { stdio: ['ignore', 'pipe', 'inherit'] });
      let seen = 0;
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => {
          seen += d.toString().split('\n').filter(Boolean).length;
          if (seen >= commits) res();
        });
        child.once('exit', () => rej(new Error(`the service exited before ${commits} commits (${seen})`)));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
    await start();
    await caughtUp();
    // the kills landed mid-way: the last run still had records to decide
    expect(service!.stats.events).toBeGreaterThan(0);
    expect(service!.stats.events).toBeLessThan(total);
    const ticked = await service!.tick(TICK_AT);
    await service!.stop();
    const ref = await reference(TICK_AT);
    const after = await storeOf(home());
    expect(after.states).toEqual(ref.states);
    expect(after.keys).toBe(ref.states.size);
    expectIndexOf(after.states, after.index);
    expect(ticked.map((o) => o.outcomeId).sort()).toEqual(ref.ticked.map((o) => o.outcomeId).sort());
    expect(await published()).toEqual(ref.outcomes);
  }, 60_000);

  it('a home of layout 2 (compact whole states) is rebuilt from its changelog; then a claim for a held line writes that line and the claim only', async () => {
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    const { states } = await reference(TICK_AT);
    // the previous build's home: each state published whole in the compact form, kept as [d, text] under a v2 marker
    await bus.produce('reconcile-changelog', [...states].map(([key, state]) => ({ value: { key, value: encodeReconStateText(key, state).text } })));
    const next = Object.fromEntries((await bus.endOffsets('reconcile-changelog')).map((e) => [String(e.partition), e.high]));
    const kv = StateStore.open(home());
    await kv.commit(() => {
      for (const [key, state] of states) kv.sub<[string | null, string]>('reconcile.state').put(key, [nextDeadline(state), encodeReconStateText(key, state).text]);
      kv.sub('reconcile.marker').put('changelog', { v: 2, bus: 'embedded', next, keys: states.size });
    });
    await kv.close();

    await start();
    expect(service!.stats.restored).toBe(BENEFICIARIES);
    await caughtUp();
    expect((await published()).size).toBe(0); // every record delivered again changes nothing
    let after = await storeOf(home());
    expect(after.states).toEqual(states);
    expectIndexOf(after.states, after.index);

    // beneficiary 1: line D1 (tp 15, 19.00) held, member line M1 annulled. A claim of 19.00 for D1:
    // matched (19.00 = 19.00), D1 linked, the claim linked: two entry records (the last with the head), not M1.
    const key1 = `${nirOf(1)}-1`;
    const m1Before = await rawEntry(key1, 'L', 'noemie-1:M1:1');
    // a beneficiary's records are on one partition, in write order
    const ofKey1 = async () => (await readChangelog(bus, 'reconcile-changelog')).filter((r) => r.key.startsWith(`${key1}#`)).map((r) => r.key);
    const before = (await ofKey1()).length;
    const total = await changelogLength();
    await bus.produce('tp-claims', [{ value: claim({ tpClaimId: 'C1', nir: nirOf(1), amcAmountClaimed: '19.00' }) }]);
    await caughtUp();
    await service!.stop();
    expect(await changelogLength()).toBe(total + 2);
    const written = (await ofKey1()).slice(before);
    expect(written).toEqual([`${key1}#L#noemie-1:D1:1`, `${key1}#C#C1`]);
    expect(await rawEntry(key1, 'L', 'noemie-1:M1:1')).toBe(m1Before);
    const claimRecord = (await records('tp-claims')).find((r) => r.value.tpClaimId === 'C1')!;
    const expected = decide(states.get(key1)!, { kind: 'claim', claim: claimRecord.value, at: new Date(claimRecord.timestamp).toISOString() });
    expect(expected.outcomes.map((o) => o.outcomeId)).toEqual(['matched|noemie-1:D1:1@1|C1#1']);
    // the last record of the write carries the head (write number, outcome count): [3, w, tuple, undo, seq]
    const last = (await readChangelog(bus, 'reconcile-changelog')).filter((r) => r.key === `${key1}#C#C1`).at(-1)!;
    expect(last.form).toBe('json');
    expect(JSON.parse(last.value!)).toEqual([3, await headW(key1), expect.any(Array), null, expected.state.seq]);
    after = await storeOf(home());
    expect(after.states.get(key1)).toEqual(expected.state);
    expect((await published()).get('matched|noemie-1:D1:1@1|C1#1')?.owed).toBe('19.00');
    expectIndexOf(after.states, after.index);
  });

  it('a write cut between its entries and its head is rolled back at restart, so a later write of the person does not adopt it', async () => {
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await start();
    await caughtUp();
    await service!.stop();
    const key1 = `${nirOf(1)}-1`;
    const good = (await storeOf(home())).states.get(key1)!;
    const d1 = good.lines['noemie-1:D1:1']!;
    expect(d1.status).toBe('held');
    // what a crash inside the changelog produce can leave: the entries of write w+1 (D1 linked to a
    // claim CX, CX new), not its head
    const w = await headW(key1);
    const cx = { claim: claim({ tpClaimId: 'CX', nir: nirOf(1), amcAmountClaimed: '19.00' }), revision: 1, receivedAt: d1.heldSince!, lineKey: d1.lineKey, deadline: null, exceptionRaised: false };
    const linked = { ...d1, status: 'linked' as const, claimId: 'CX', owed: '19.00', heldSince: null, deadline: null };
    await bus.produce('reconcile-changelog', [
      { value: { key: `${key1}#L#${d1.lineKey}`, value: entryRecordText(w + 1, entryText(key1, 'L', linked), entryText(key1, 'L', d1)) }, partition: partitionFor(key1) },
      { value: { key: `${key1}#C#CX`, value: entryRecordText(w + 1, entryText(key1, 'C', cx), null) }, partition: partitionFor(key1) },
    ]);

    // restart: the left-overs are read, found above their head and rolled back
    await start();
    expect(service!.stats.restored).toBe(2);
    expect((await storeOf(home())).states.get(key1)).toEqual(good);
    // the person's next write (write number w+1 again) touches another line only
    await bus.produce('settlements', [{ value: settlement({ lineKey: 'noemie-1:E1:1', beneficiary: { nir: nirOf(1), rang: 1 }, careDate: '2025-02-02' }) }]);
    await caughtUp();
    await service!.stop();
    expect(await headW(key1)).toBe(w + 1);
    const live = (await storeOf(home())).states.get(key1)!;
    expect(live.lines['noemie-1:D1:1']).toEqual(d1);
    expect(live.claims['CX']).toBeUndefined();
    // read from the changelog alone (another bus id: wiped and rebuilt): D1 still held, CX absent —
    // without the rollback, the head of w+1 would make both current
    await start({ busId: 'rebuild' });
    await service!.stop();
    const rebuilt = (await storeOf(home())).states.get(key1)!;
    expect(rebuilt).toEqual(live);
    expect(rebuilt.lines['noemie-1:E1:1']?.status).toBe('held');
  });

  for (const where of ['afterProduce', 'afterStoreCommit'] as const) {
    it(`a crash ${where === 'afterProduce' ? 'between the produces and the store commit' : 'between the store commit and the offset commit'}: same states and outcomes as the decider folded once`, async () => {
      await bus.produce('tp-claims', claims().map((value) => ({ value })));
      await start();
      await caughtUp();
      await service!.stop();

      // the third batch of the settlement wave that changes state "crashes" at `where`
      let calls = 0;
      const crash = () => {
        calls += 1;
        if (calls === 3) throw new Error(`crash ${where}`);
      };
      await bus.produce('settlements', settlements().map((value) => ({ value })));
      await start({ faults: { [where]: crash } });
      await expect(service!.done).rejects.toThrow(`crash ${where}`);
      await service!.stop();
      expect(calls).toBe(3);
      const statesAtCrash = (await storeOf(home())).states.size;
      expect(statesAtCrash).toBeGreaterThan(0);

      // restart: the store reads what the crashed batch produced past its marker (nothing when committed)
      const lengthAtCrash = await changelogLength();
      await start();
      if (where === 'afterProduce') expect(service!.stats.restored).toBeGreaterThan(0);
      else expect(service!.stats.restored).toBe(0);
      await caughtUp();
      expect(await changelogLength()).toBeGreaterThanOrEqual(lengthAtCrash);
      const ticked = await service!.tick(TICK_AT);
      await service!.stop();

      const ref = await reference(TICK_AT);
      const after = await storeOf(home());
      expect(after.states).toEqual(ref.states);
      expect(after.keys).toBe(ref.states.size);
      expectIndexOf(after.states, after.index);
      // the exceptions of the held lines (odd beneficiaries without a claim): 6, each once
      expect(ticked.map((o) => o.outcomeId).sort()).toEqual(ref.ticked.map((o) => o.outcomeId).sort());
      expect(ticked.filter((o) => o.kind === 'exception')).toHaveLength(6);
      expect(await published()).toEqual(ref.outcomes);
    });
  }

  for (const where of ['afterProduce', 'afterStoreCommit'] as const) {
    it(`a batch taken in slices, a crash ${where === 'afterProduce' ? 'between a later slice\'s produces and its commit' : 'after a later slice\'s commit'}: the redelivered batch ends with the decider's states and outcomes`, async () => {
      await bus.produce('tp-claims', claims().map((value) => ({ value })));
      await start();
      await caughtUp();
      await service!.stop();

      // batches of up to 8 settlements, slices of 3: the second slice of the first batch "crashes"
      // at `where`, its first slice committed — the batch is delivered again whole
      let calls = 0;
      const crash = () => {
        calls += 1;
        if (calls === 2) throw new Error(`crash ${where}`);
      };
      await bus.produce('settlements', settlements().map((value) => ({ value })));
      await start({ maxBatch: 8, sliceSize: 3, faults: { [where]: crash } });
      await expect(service!.done).rejects.toThrow(`crash ${where}`);
      await service!.stop();
      expect(calls).toBe(2);

      await start({ maxBatch: 8, sliceSize: 3 });
      if (where === 'afterProduce') expect(service!.stats.restored).toBeGreaterThan(0);
      await caughtUp();
      const ticked = await service!.tick(TICK_AT);
      await service!.stop();

      const ref = await reference(TICK_AT);
      const after = await storeOf(home());
      expect(after.states).toEqual(ref.states);
      expectIndexOf(after.states, after.index);
      expect(ticked.map((o) => o.outcomeId).sort()).toEqual(ref.ticked.map((o) => o.outcomeId).sort());
      expect(await published()).toEqual(ref.outcomes);
    });
  }

  it('decides on the entries a batch reaches exactly as the decider on whole states: many versions, corrections, annulations and pairings of a few people (seeded)', async () => {
    // A seeded mix for 3 beneficiaries over 2 care dates × 2 professionals × 2 acts: lines in
    // tiers payant or not, new versions that move a line to another care event, reviews,
    // annulations, claims (paid or not) resent with corrected content. Waves of one topic at a time,
    // so each person's events come in one order, which the reference folds over whole states.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed >>> 16) % n; // the high bits: the low ones of this generator repeat with a short period
    };
    const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;
    const dates = ['2025-03-03', '2025-03-04'];
    const pss = ['10000001', '10000002'];
    const acts = ['G', 'C'];
    const versions = new Map<string, number>();
    const waves: { topic: 'settlements' | 'tp-claims'; from: Map<number, number>; to: Map<number, number> }[] = [];
    await start({ maxBatch: 4 });
    for (let wave = 0; wave < 12; wave++) {
      const topic = wave % 2 === 0 ? 'settlements' : 'tp-claims';
      const from = new Map((await bus.endOffsets(topic)).map((e) => [e.partition, e.high]));
      const to = new Map<number, number>();
      waves.push({ topic, from, to });
      for (let n = 0; n < 10; n++) {
        const i = rand(3);
        const beneficiary = { nir: nirOf(100 + i), rang: 1 };
        if (topic === 'settlements') {
          const lineKey = `noemie-9:R${i}:${rand(4)}`;
          const version = (versions.get(lineKey) ?? 0) + 1;
          versions.set(lineKey, version);
          const operation = version > 1 && rand(5) === 0 ? 'A' : 'I';
          const tp = pick(['15', '15', '00'] as const);
          await bus.produce('settlements', [{ value: settlement({ lineKey, beneficiary, version, operation, careDate: pick(dates), psId: pick(pss), actCode: pick(acts), tp, payee: tp === '00' ? 'member' : `ps:${pick(pss)}`, adherentId: `A${i}`, status: rand(6) === 0 ? 'review' : 'paid', amcAmount: pick(['19.00', '15.00']) }) }]);
        } else {
          await bus.produce('tp-claims', [{ value: claim({ tpClaimId: `K${i}-${rand(4)}`, nir: beneficiary.nir, careDate: pick(dates), psId: pick(pss), actCode: pick(acts), amcAmountClaimed: pick(['19.00', '25.00']), paidOn: rand(3) === 0 ? '2025-03-10' : null }) }]);
        }
      }
      for (const e of await bus.endOffsets(topic)) to.set(e.partition, e.high);
      await caughtUp();
    }
    await service!.stop();

    // the reference: whole states, each wave's records in their order
    const states = new Map<string, ReconState>();
    const outcomes = new Map<string, ReconOutcome>();
    for (const { topic, from, to } of waves) {
      for (const [partition, high] of to) {
        const start = from.get(partition) ?? 0;
        if (high <= start) continue;
        for await (const batch of bus.readRange(topic, partition, { from: start, to: high })) {
          for (const r of batch) {
            const at = new Date(r.timestamp).toISOString();
            const event: ReconEvent = topic === 'settlements' ? { kind: 'settlement', settlement: r.value as Settlement, at } : { kind: 'claim', claim: r.value as TpClaim, at };
            const key = reconKeyOf(event)!;
            const d = decide(states.get(key) ?? initialReconState(), event);
            states.set(key, d.state);
            for (const o of d.outcomes) outcomes.set(o.outcomeId, o);
          }
        }
      }
    }
    const kinds = new Set([...outcomes.values()].map((o) => o.kind));
    expect([...kinds].sort()).toEqual(['annulation-indu', 'held', 'indu', 'matched']);
    const after = await storeOf(home());
    expect(after.states).toEqual(states);
    expectIndexOf(after.states, after.index);
    expect(await published()).toEqual(outcomes);
  });

  it('a tick decides only the beneficiaries whose wait ran out, read from the deadline index', async () => {
    await bus.produce('tp-claims', claims().map((value) => ({ value })));
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await start();
    await caughtUp();
    const { states, index } = await storeOf(home());
    expectIndexOf(states, index);
    // every held line and every pending claim waits 30 days from its record's instant
    expect(index.length).toBeGreaterThan(0);
    const first = index[0]![0];
    // one millisecond before the first deadline nothing is due: nothing decided, nothing written
    const before = await changelogLength();
    expect(await service!.tick(new Date(Date.parse(first) - 1).toISOString())).toEqual([]);
    expect(await changelogLength()).toBe(before);
    const ticked = await service!.tick(TICK_AT);
    const dueKeys = new Set(index.map(([, key]) => key.split('\u001f')[0]));
    expect(ticked.length).toBeGreaterThan(0);
    for (const o of ticked) expect(dueKeys.has(`${o.beneficiary.nir}-${o.beneficiary.rang}`)).toBe(true);
    // the changelog received exactly the entries that were due (their exception raised), the last
    // of each beneficiary carrying its head: nothing of the rest of their history
    expect((await changelogLength()) - before).toBe(index.length);
    await service!.stop();
    const after = await storeOf(home());
    expectIndexOf(after.states, after.index);
    expect(after.index).toEqual([]); // every wait's exception is raised: nothing left to tick
  });
});
