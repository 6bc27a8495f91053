import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.js';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { generateFixtures } from '../../src/generate/index.js';
import { ingestDrop } from '../../src/ingest/ingest-drop.js';
import { loadBeneficiaries, type BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { healLedgers, restoreLedgers } from '../../src/pipeline/ledger-restore.js';
import { partitionFor } from '../../src/bus/topics.js';
import { LedgerStore } from '../../src/pipeline/ledger-store.js';
import { utf8Views } from '../../src/pipeline/task-bytes.js';
import { encodeChange, ledgerChange, loadFamilies, type Family } from '../../src/pipeline/ledgers.js';
import { compositeKey, StateStore } from '../../src/state/kv-store.js';
import { isLineTuple, linePieceOfTuple } from '../../src/pipeline/line-piece.js';
import { lineRecord, type LineRecord } from '../../src/engine/index.js';
import { LiquidationService, type LiquidationServiceOptions } from '../../src/pipeline/liquidation-service.js';
import type { ReferencePaths } from '../../src/pipeline/reference.js';
import { byPartition, copyReference, readTopic, waitIdle } from './liquidation-support.js';

/**
 * The liquidation service's ledger store (src/pipeline/ledger-store.ts, ledger-restore.ts; the
 * home's LMDB state store, a bounded cache of parsed pieces in front):
 * a cache of 3 ledgers over a drop of ~24 families decides exactly as an unbounded cache, and a
 * restart reads only the changelog tail past the store's marker (all of it when the marker is bad).
 */

describe('ledger store: bounded cache and restart from the local store', () => {
  let dir: string;
  let reference: ReferencePaths;
  let beneficiaries: BeneficiaryIndex;
  let drops: [string, string];
  const buses: Bus[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noemie-ledger-store-'));
    reference = await copyReference(dir);
    // Two drops over ONE population of 24 families (same populationSeed), different lines.
    const common = { lines: 200, format: 'csv' as const, nomenclaturePath: reference.nomenclatureFile, families: 24, populationSeed: 5 };
    drops = [join(dir, 'drop1.csv'), join(dir, 'drop2.csv')];
    await generateFixtures({ ...common, seed: 21, out: drops[0], beneficiaries: reference.beneficiariesFile });
    await generateFixtures({ ...common, seed: 22, out: drops[1] });
    beneficiaries = (await loadBeneficiaries(reference.beneficiariesFile)).index;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function freshBus(): Promise<{ home: string; bus: Bus }> {
    const home = await mkdtemp(join(dir, 'home-'));
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    buses.push(bus);
    return { home, bus };
  }
  async function ingest(bus: Bus, drop: string): Promise<void> {
    const sink = new BusIngestSink(bus, { batch: 64 });
    await ingestDrop(drop, { sink }).finally(() => sink.close());
  }
  async function run(bus: Bus, settings: Partial<LiquidationServiceOptions>) {
    let maxCached = 0;
    const service = await LiquidationService.start({
      bus, beneficiaries, reference, workers: 0, taskLines: 1000, maxBatch: 40, ...settings,
      onBatch: () => (maxCached = Math.max(maxCached, service.ledgerStats.cached)),
    });
    await waitIdle(bus);
    const ledgerStats = service.ledgerStats;
    await service.stop();
    return { maxCached, ledgerStats };
  }
  /** Both drops liquidated by one service that was never stopped: what a restart must end as. */
  async function uninterruptedRun() {
    const single = await freshBus();
    await ingest(single.bus, drops[0]);
    await ingest(single.bus, drops[1]);
    await run(single.bus, { ledgers: { cacheSize: 3, fsync: false } });
    return single;
  }

  /** A home whose service liquidated the first drop and stopped (its ledgers in the home's store). */
  async function afterFirstDrop() {
    const { home, bus } = await freshBus();
    const ledgers = { home, cacheSize: 3, fsync: false };
    await ingest(bus, drops[0]);
    await run(bus, { ledgers });
    return { home, bus, ledgers };
  }
  const familiesIn = async (bus: Bus) => {
    const ids = new Set<string>();
    for (const r of await readTopic(bus, 'decompte-lines')) {
      // one ledger per adhérent; an unknown beneficiary's lines keep theirs under the member number they name
      const b = beneficiaries.byNirRang(r.value.line.nir, r.value.line.rang);
      ids.add(b ? b.adherentId : r.value.line.amcMemberId);
    }
    return ids;
  };

  /** Both drops liquidated with an unbounded cache (the reference), and a second bus with both drops ingested. */
  async function unboundedAndFresh() {
    const unbounded = await freshBus();
    await ingest(unbounded.bus, drops[0]);
    await ingest(unbounded.bus, drops[1]);
    await run(unbounded.bus, { ledgers: { cacheSize: 1_000_000, fsync: false } });
    const small = await freshBus();
    await ingest(small.bus, drops[0]);
    await ingest(small.bus, drops[1]);
    return { unbounded, small };
  }

  it('a cache of 3 ledgers gives the settlements and ledgers of an unbounded cache, over 20+ families', async () => {
    const { unbounded, small } = await unboundedAndFresh();
    const families = await familiesIn(small.bus);
    expect(families.size).toBeGreaterThanOrEqual(20);
    const { maxCached, ledgerStats } = await run(small.bus, { ledgers: { cacheSize: 3, fsync: false } });
    // The bound held between batches, and ledgers went back to the store and were read again:
    // with 3 slots for 20+ families, more store reads than families (each first read is one).
    expect(maxCached).toBeLessThanOrEqual(3);
    expect(ledgerStats.reads).toBeGreaterThan(families.size);

    const want = byPartition(await readTopic(unbounded.bus, 'settlements'));
    expect(Object.values(want).flat()).toHaveLength(400);
    expect(byPartition(await readTopic(small.bus, 'settlements'))).toEqual(want);
    const a = await loadFamilies(unbounded.bus);
    const b = await loadFamilies(small.bus);
    expect(b.size).toBe(families.size);
    expect(new Map([...b].map(([k, f]) => [k, f.state]))).toEqual(new Map([...a].map(([k, f]) => [k, f.state])));
  }, 60_000);

  it('a byte bound of 2 KiB of ledger text holds while families age, with the decisions of an unbounded cache', async () => {
    const { unbounded, small } = await unboundedAndFresh();
    const bound = 2 * 1024;
    let maxBytes = 0;
    const service = await LiquidationService.start({
      bus: small.bus, beneficiaries, reference, workers: 0, taskLines: 1000, maxBatch: 40,
      ledgers: { cacheSize: 1_000_000, cacheBytes: bound, fsync: false },
      onBatch: () => (maxBytes = Math.max(maxBytes, service.ledgerStats.cachedBytes)),
    });
    await waitIdle(small.bus);
    const stats = service.ledgerStats;
    await service.stop();
    // 400 lines over 24 families is far more than 2 KiB of ledger text (a line record alone is
    // ~200 B, a head ~150 B), so the count bound (a million) never binds and the byte bound must
    // have evicted heads, read again from the store by their family's next batch.
    expect(maxBytes).toBeGreaterThan(0);
    expect(maxBytes).toBeLessThanOrEqual(bound);
    expect(stats.reads).toBeGreaterThan(24);
    expect(byPartition(await readTopic(small.bus, 'settlements'))).toEqual(byPartition(await readTopic(unbounded.bus, 'settlements')));
  }, 60_000);

  it('a restart reads only the changelog tail past the marker, and ends as a single uninterrupted run', async () => {
    const single = await uninterruptedRun();
    const { bus, ledgers } = await afterFirstDrop();
    // Stopped: the marker (committed with the pieces) says the store holds the whole changelog.
    const ends = await bus.endOffsets('counters-changelog');
    const store = await LedgerStore.open(ledgers);
    expect(store.marker()!.next).toEqual(Object.fromEntries(ends.map((e) => [String(e.partition), e.high])));

    // A ledger change written by someone else (a replay) after the marker, touching no line:
    // one piece, the head; the tail is that one entry.
    const changelog = await loadFamilies(bus);
    const [id, family] = [...changelog][0]!;
    const noLines = ledgerChange(family.state, family.state);
    expect(noLines.lines).toEqual({});
    const edited = encodeChange(id, family, noLines, { ...family.applied, 'decompte-lines:99': 7 });
    expect(edited.messages.map((m) => m.key)).toEqual([id]);
    await bus.produce('counters-changelog', edited.messages);
    const tail = await restoreLedgers(bus, store, 'embedded');
    expect(tail).toMatchObject({ rebuilt: false, read: 1 });
    expect(await store.get(id)).toEqual(edited.family);
    expect(edited.family).toMatchObject({ state: family.state, seq: family.seq + 1, applied: { 'decompte-lines:99': 7 } });
    // Back to the service's own watermark, so the second run decides as the single run did.
    await bus.produce('counters-changelog', encodeChange(id, edited.family, noLines, family.applied).messages);
    expect(await restoreLedgers(bus, store, 'embedded')).toMatchObject({ rebuilt: false, read: 1 });
    await store.close();

    await ingest(bus, drops[1]);
    await run(bus, { ledgers });
    expect(byPartition(await readTopic(bus, 'settlements'))).toEqual(byPartition(await readTopic(single.bus, 'settlements')));
  }, 60_000);

  it('a changelog in the record form of earlier builds (each piece a JSON string, its key in the value) restores the same ledgers and store texts, and the next drop on it settles as an uninterrupted run', async () => {
    const single = await uninterruptedRun();
    const { home, bus } = await afterFirstDrop();
    // This build writes the piece as JSON in the record, keyed by the record's key only.
    const records = await readTopic(bus, 'counters-changelog');
    expect(records.length).toBeGreaterThan(24);
    for (const r of records) {
      expect(r.value.key).toBeUndefined();
      expect(typeof r.value.value).toBe('object');
    }
    // The same home as an earlier build left it: the same lines, and its changelog with each piece
    // as a string of its JSON and the key in the value (the form written before session 16).
    const old = await freshBus();
    await ingest(old.bus, drops[0]);
    const legacy = records.map((r) => ({ key: r.key, partition: r.partition, value: { key: r.key, value: JSON.stringify(r.value.value) } }));
    await old.bus.produce('counters-changelog', legacy);
    expect((await readTopic(old.bus, 'counters-changelog')).every((r) => typeof r.value.value === 'string' && r.value.key === r.key)).toBe(true);
    expect(await loadFamilies(old.bus)).toEqual(await loadFamilies(bus));
    // Restored into a store: the same texts, byte for byte, as the store this build wrote itself.
    const ledgers = { home: old.home, cacheSize: 3, fsync: false };
    const store = await LedgerStore.open(ledgers);
    expect(await restoreLedgers(old.bus, store, 'embedded')).toMatchObject({ rebuilt: true, read: records.length });
    const own = await LedgerStore.open({ home, cacheSize: 3, fsync: false });
    for (const r of records) {
      const k = compositeKey('embedded', r.key);
      expect(store.kv.sub('ledger.piece', 'text').get(k)).toBe(own.kv.sub('ledger.piece', 'text').get(k));
    }
    await own.close();
    await store.close();
    // The next drop liquidated on that home: the first drop's lines are under the restored
    // watermarks (nothing settled twice), the second's settle as the uninterrupted run settled them.
    await ingest(old.bus, drops[1]);
    await run(old.bus, { ledgers });
    const json = (rs: readonly { value: unknown }[]) => rs.map((r) => JSON.stringify(r.value)).sort();
    const first = await readTopic(bus, 'settlements');
    const next = await readTopic(old.bus, 'settlements');
    expect(next).toHaveLength(200);
    expect([...json(first), ...json(next)].sort()).toEqual(json(await readTopic(single.bus, 'settlements')));
  }, 60_000);

  it('line pieces in the object form of earlier builds (before session 17), on the changelog and in the store, read as the same ledgers, and the next drop on them settles as an uninterrupted run', async () => {
    const single = await uninterruptedRun();
    const { home, bus } = await afterFirstDrop();
    // This build writes each line piece positional (line-piece.ts), a head as its object.
    const records = await readTopic(bus, 'counters-changelog');
    const lines = records.filter((r) => r.key.includes('#'));
    expect(lines.length).toBeGreaterThan(24);
    expect(lines.every((r) => isLineTuple(r.value.value))).toBe(true);
    expect(records.filter((r) => !r.key.includes('#')).every((r) => (r.value.value as { piece?: string }).piece === 'head')).toBe(true);
    // The same home as a session-16 build left it: its line pieces `{"v":3,"piece":"line","line":…}`.
    const old = await freshBus();
    await ingest(old.bus, drops[0]);
    const objectForm = (key: string, value: unknown) => {
      if (!isLineTuple(value)) return value as Record<string, unknown>;
      const { v: _v, ...piece } = linePieceOfTuple(key.slice(key.indexOf('#') + 1), value);
      return { v: 3, ...piece };
    };
    await old.bus.produce('counters-changelog', records.map((r) => ({ key: r.key, partition: r.partition, value: { value: objectForm(r.key, r.value.value) } })));
    const written = await readTopic(old.bus, 'counters-changelog');
    expect(written.filter((r) => r.key.includes('#')).every((r) => (r.value.value as { v?: number }).v === 3)).toBe(true);
    expect(await loadFamilies(old.bus)).toEqual(await loadFamilies(bus));
    // Restored into a store: it keeps the object-form texts (the store's values as the older build wrote them), and reads them as the same pieces.
    const ledgers = { home: old.home, cacheSize: 3, fsync: false };
    const store = await LedgerStore.open(ledgers);
    expect(await restoreLedgers(old.bus, store, 'embedded')).toMatchObject({ rebuilt: true, read: records.length });
    const own = await LedgerStore.open({ home, cacheSize: 3, fsync: false });
    for (const r of lines) {
      expect(store.kv.sub('ledger.piece', 'text').get(compositeKey('embedded', r.key))).toMatch(/^\{"v":3,"piece":"line"/);
      expect({ ...store.linePiece(r.key), v: 4 }).toEqual(own.linePiece(r.key));
    }
    await own.close();
    await store.close();
    // The next drop liquidated on that home reads the old pieces (their records become the new pieces' undo):
    // nothing of the first drop settled again, the second's settled as the uninterrupted run settled them.
    await ingest(old.bus, drops[1]);
    await run(old.bus, { ledgers });
    const json = (rs: readonly { value: unknown }[]) => rs.map((r) => JSON.stringify(r.value)).sort();
    const next = await readTopic(old.bus, 'settlements');
    expect(next).toHaveLength(200);
    const first = await readTopic(bus, 'settlements');
    expect([...json(first), ...json(next)].sort()).toEqual(json(await readTopic(single.bus, 'settlements')));
    // and it ends with the ledgers (and settlements) of the same two runs on the home this build wrote
    // itself: counters, renewals and line records (write numbers and order of arrival aside: they follow the batches)
    await ingest(bus, drops[1]);
    await run(bus, { ledgers: { home, cacheSize: 3, fsync: false } });
    expect([...json(first), ...json(next)].sort()).toEqual(json(await readTopic(bus, 'settlements')));
    const content = (families: Map<string, Family>) =>
      new Map([...families].map(([id, f]) => [id, { ...f.state, lines: Object.values(f.state.lines).flatMap((b) => Object.entries(b)).map(([k, r]) => [k, JSON.stringify(r, (name, v) => (name === 'n' ? undefined : v))]).sort() }]));
    expect(content(await loadFamilies(old.bus))).toEqual(content(await loadFamilies(bus)));
  }, 60_000);

  it('rebuilds the whole store from offset 0 when the marker is corrupt or made for another bus', async () => {
    const { home, bus } = await freshBus();
    await ingest(bus, drops[0]);
    await run(bus, { ledgers: { home, cacheSize: 3, fsync: false } });
    const entries = (await bus.endOffsets('counters-changelog')).reduce((n, e) => n + e.high, 0);
    const changelog = await loadFamilies(bus);

    const store = await LedgerStore.open({ home, cacheSize: 3, fsync: false });
    expect(await restoreLedgers(bus, store, 'kafka-other')).toMatchObject({ rebuilt: true, read: entries });
    // A marker of an earlier layout (v3: 16 line buckets per family) cannot be read as this one.
    await store.kv.commit(() => store.kv.sub('ledger.marker').put('embedded', { v: 3, bus: 'embedded', next: {} }));
    expect(await restoreLedgers(bus, store, 'embedded')).toMatchObject({ rebuilt: true, read: entries });
    for (const [id, f] of changelog) expect(await store.get(id)).toEqual(f);
    await store.close();
  }, 60_000);

  it('line pieces staged as UTF-8 bytes (what a worker sends back) read as their text before and after the commit, and the store keeps that text', async () => {
    const { home, bus } = await freshBus();
    const store = await LedgerStore.open({ home, fsync: false });
    await restoreLedgers(bus, store, 'embedded');
    // a record with a non-ASCII text: the bytes are UTF-8, not one byte per UTF-16 unit
    const record = { version: 1, operation: 'I', status: 'review', payee: 'member', expense: '10.00', roAmount: '0.00', amcAmount: '0.00', restToPay: '10.00', parts: [], consumed: [], renewals: [], inputHash: 'fnv1a64:0', reason: 'bénéficiaire inconnu — à vérifier' } as unknown as LineRecord;
    const family: Family = { state: { counters: {}, renewals: {}, lines: { a: { L1: record } } }, applied: { 'decompte-lines:0': 0 }, seq: 0 };
    const change = encodeChange('F2', undefined, ledgerChange(undefined, family.state), family.applied);
    const partition = change.messages[0]!.partition!;
    await bus.produce('counters-changelog', change.messages);
    const { views } = utf8Views(change.texts);
    // as the service stages a worker's pieces: line pieces as bytes, the head as text
    store.stage(change.pieces.map(([key, piece], k) => [key, key === 'F2' ? piece : undefined, key === 'F2' ? change.texts[k]! : views[k]!] as const), new Map([[partition, 1]]));
    expect(lineRecord((await store.get('F2', ['L1']))!.state, 'L1')).toEqual(record);
    await store.flush('embedded');
    await store.close();
    const again = await LedgerStore.open({ home, fsync: false });
    expect(lineRecord((await again.get('F2', ['L1']))!.state, 'L1')).toEqual(record);
    // the stored value is the changelog's text itself
    const stored = again.kv.sub('ledger.piece', 'text').get(compositeKey('embedded', 'F2#L1'));
    expect(stored).toBe(change.texts[change.messages.findIndex((m) => m.key === 'F2#L1')]);
    await again.close();
  }, 60_000);

  it('pieces staged and not committed yet are read from memory only; lost by a crash, they are read back from the changelog', async () => {
    const { home, bus } = await freshBus();
    const store = await LedgerStore.open({ home, fsync: false });
    expect(await restoreLedgers(bus, store, 'embedded')).toMatchObject({ read: 0 });
    const family: Family = { state: { counters: { 'k|family|2025|amount': '10.00' }, renewals: {}, lines: {} }, applied: { 'decompte-lines:0': 4 }, seq: 0 };
    const change = encodeChange('F1', undefined, ledgerChange(undefined, family.state), family.applied);
    // As the service does: produced to the changelog first, then staged with the end it reaches.
    await bus.produce('counters-changelog', change.messages);
    const partition = change.messages[0]!.partition!;
    const end = (await bus.endOffsets('counters-changelog')).find((e) => e.partition === partition)!.high;
    expect(end).toBe(1);
    const due = store.stage(change.pieces.map(([key, piece], k) => [key, piece, change.texts[k]!] as const), new Map([[partition, end]]));
    expect(due).toBe(false); // one family, one batch: far below every bound
    expect(await store.get('F1')).toEqual(change.family);
    // Not in the store, and the marker still says offset 0: a crash now (close, no flush) loses nothing.
    expect(store.marker()!.next[String(partition)]).toBe(0);
    await store.close();
    const again = await LedgerStore.open({ home, fsync: false });
    expect(await again.get('F1')).toBeUndefined();
    expect(await restoreLedgers(bus, again, 'embedded')).toMatchObject({ rebuilt: false, read: 1 });
    expect(await again.get('F1')).toEqual(change.family);
    // A flush commits what is staged with the marker, in one transaction.
    const next = encodeChange('F1', change.family, ledgerChange(change.family.state, change.family.state), { 'decompte-lines:0': 9 });
    await bus.produce('counters-changelog', next.messages);
    again.stage(next.pieces.map(([key, piece], k) => [key, piece, next.texts[k]!] as const), new Map([[partition, 2]]));
    await again.flush('embedded');
    expect(again.marker()!.next[String(partition)]).toBe(2);
    await again.close();
    const third = await LedgerStore.open({ home, fsync: false });
    expect(await third.get('F1')).toEqual(next.family);
    expect(await restoreLedgers(bus, third, 'embedded')).toMatchObject({ rebuilt: false, read: 0 });
    await third.close();
  });

  it('pieces of another partition staged while a flush commits stay staged, are read from memory, and go with the next flush', async () => {
    // On Kafka the service handles batches of several partitions at once (partitionsAtOnce): one
    // batch's flush may be committing while another stages its pieces.
    const { home, bus } = await freshBus();
    const store = await LedgerStore.open({ home, fsync: false });
    await restoreLedgers(bus, store, 'embedded');
    const ids = ['F1', 'F2', 'F3', 'F4', 'F5', 'F6'];
    const first = ids[0]!;
    const second = ids.find((id) => partitionFor(id) !== partitionFor(first))!;
    const changeOf = (id: string, amount: string) => {
      const family: Family = { state: { counters: { [`k|family|2025|amount`]: amount }, renewals: {}, lines: {} }, applied: { [`decompte-lines:${partitionFor(id)}`]: 3 }, seq: 0 };
      return encodeChange(id, undefined, ledgerChange(undefined, family.state), family.applied);
    };
    const a = changeOf(first, '10.00');
    const b = changeOf(second, '20.00');
    await bus.produce('counters-changelog', a.messages);
    await bus.produce('counters-changelog', b.messages);
    const staged = (c: typeof a) => c.pieces.map(([key, piece], k) => [key, piece, c.texts[k]!] as const);
    const [pa, pb] = [partitionFor(first), partitionFor(second)];
    store.stage(staged(a), new Map([[pa, 1]]));
    const flushing = store.flush('embedded');
    // staged while the commit of `first` is under way
    store.stage(staged(b), new Map([[pb, 1]]));
    await flushing;
    expect(store.marker()!.next[String(pa)]).toBe(1);
    // `second` was not in that commit: still staged, still read (from memory), its marker not moved
    expect(store.staging).toBe(b.pieces.length);
    expect(store.marker()!.next[String(pb)]).toBe(0);
    expect(await store.get(second)).toEqual(b.family);
    await store.flush('embedded');
    expect(store.staging).toBe(0);
    expect(store.marker()!.next[String(pb)]).toBe(1);
    await store.close();
    const again = await LedgerStore.open({ home, fsync: false });
    expect(await again.get(first)).toEqual(a.family);
    expect(await again.get(second)).toEqual(b.family);
    expect(await restoreLedgers(bus, again, 'embedded')).toMatchObject({ rebuilt: false, read: 0 });
    await again.close();
  });

  it('a write cut between its line records and its head is rolled back on the changelog before the family is written again', async () => {
    const { home, bus } = await freshBus();
    const record = (version: number) => ({ version, operation: 'I', inputHash: `h${version}` }) as unknown as LineRecord;
    // Write 1 of F1: L1 version 1, counter 1.
    const one = encodeChange('F1', undefined, { counters: { c: '1' }, renewals: {}, lines: { L1: record(1) } }, { 'decompte-lines:0': 3 });
    await bus.produce('counters-changelog', one.messages);
    // Write 2 cut by a crash: its line records (L1 → version 2, new L2) produced, its head not.
    const cut = encodeChange('F1', one.family, { counters: { c: '3' }, renewals: {}, lines: { L1: record(2), L2: record(1) } }, { 'decompte-lines:0': 5 });
    await bus.produce('counters-changelog', cut.messages.slice(0, -1));
    // The restart: the store reads the tail and marks L1 and L2, above their head; before writing
    // the partition, the service rolls them back ON THE CHANGELOG (and the store reads that back).
    const store = await LedgerStore.open({ home, fsync: false });
    const restored = await restoreLedgers(bus, store, 'embedded');
    expect(restored).toMatchObject({ read: 4 });
    expect((await store.suspected(partitionFor('F1'))).sort()).toEqual(['F1#L1', 'F1#L2']);
    expect(await healLedgers(bus, store, 'embedded', partitionFor('F1'))).toBe(2);
    expect(await store.suspected()).toEqual([]);
    const family = (await store.get('F1'))!;
    expect(family).toEqual(one.family);
    // The family's next write (the redelivered batch, here touching another line only) is write 2 again, with L3.
    const next = encodeChange('F1', family, { counters: { c: '2' }, renewals: {}, lines: { L3: record(1) } }, { 'decompte-lines:0': 5 });
    await bus.produce('counters-changelog', next.messages);
    await store.close();
    // Read from the changelog alone (replay, a new home, a Kafka member): head 2 must not adopt the
    // cut write's L1 version 2 and L2, also written at number 2. Without the rollback, it did.
    const ledger = (await loadFamilies(bus)).get('F1')!;
    expect(ledger.state.counters).toEqual({ c: '2' });
    expect([lineRecord(ledger.state, 'L1'), lineRecord(ledger.state, 'L2'), lineRecord(ledger.state, 'L3')]).toEqual([record(1), undefined, record(1)]);
    const rebuilt = await LedgerStore.open({ home: join(home, 'again'), fsync: false });
    expect(await restoreLedgers(bus, rebuilt, 'embedded')).toMatchObject({ rebuilt: true });
    expect(await rebuilt.get('F1')).toEqual(ledger);
    await rebuilt.close();
  });

  it('the service rolls back a write cut before its head before it writes the family again, and ends as a single uninterrupted run', async () => {
    const single = await uninterruptedRun();
    const { bus, ledgers } = await afterFirstDrop();
    // A write of every family cut after its line pieces (a crash before the heads): a record of a
    // line no drop has, at the next write number. The second drop writes each family again at that
    // same number without this line, so only a rollback keeps its head from adopting it.
    const before = await loadFamilies(bus);
    const cut = [...before].flatMap(([id, family]) => encodeChange(id, family, { counters: family.state.counters, renewals: family.state.renewals, lines: { 'cut:1:1': { version: 1, operation: 'I', inputHash: 'cut' } as unknown as LineRecord } }, family.applied).messages.slice(0, -1));
    expect(cut).toHaveLength(before.size);
    await bus.produce('counters-changelog', cut);
    await ingest(bus, drops[1]);
    await run(bus, { ledgers });
    const after = await loadFamilies(bus);
    for (const [, f] of after) expect(lineRecord(f.state, 'cut:1:1')).toBeUndefined();
    // (Ledgers are not compared whole with the single run: a line's order of arrival records the batch it came in.)
    expect(after.size).toBeGreaterThanOrEqual(before.size);
    expect(byPartition(await readTopic(bus, 'settlements'))).toEqual(byPartition(await readTopic(single.bus, 'settlements')));
  }, 60_000);

  it('every head a batch reads (staged by the service without parsing it, cached, or read back) says what its text says', async () => {
    // The service stages each head a worker wrote with the write number and watermarks it sent for
    // it (the text is not parsed on its thread): that summary must be the text's, or the next
    // batch of the family decides its watermark check and its write number on a wrong head.
    const { bus } = await freshBus();
    await ingest(bus, drops[0]);
    await ingest(bus, drops[1]);
    const ids = [...(await familiesIn(bus))];
    let checked = 0;
    const mismatches: string[] = [];
    const service = await LiquidationService.start({
      bus, beneficiaries, reference, workers: 0, taskLines: 1000, maxBatch: 40, ledgers: { cacheSize: 1_000, fsync: false },
      onBatch: () => {
        // The service's own store (private): what its next batch would read, staged or cached.
        const store = (service as unknown as { store: LedgerStore }).store;
        for (const [id, head] of store.getBatch(ids, () => [])) {
          const text = JSON.parse(head.text) as { seq: number; applied: Record<string, number>; outbox?: unknown };
          checked += 1;
          if (head.seq !== text.seq || JSON.stringify(head.applied) !== JSON.stringify(text.applied) || (head.outbox === undefined) !== (text.outbox === undefined)) mismatches.push(`${id}: ${head.seq}/${JSON.stringify(head.applied)} vs ${text.seq}/${JSON.stringify(text.applied)}`);
        }
      },
    });
    await waitIdle(bus);
    await service.stop();
    // 400 lines in batches of 40 over 24 families: every batch checks every family written so far.
    expect(checked).toBeGreaterThan(100);
    expect(mismatches).toEqual([]);
  }, 60_000);

  it("a head written by another writer (a catch-up's, a rollback's: given as text only) replaces the one the cache holds", async () => {
    const { home } = await freshBus();
    const store = await LedgerStore.open({ home, fsync: false });
    const record = (version: number) => ({ version, operation: 'I', inputHash: `h${version}` }) as unknown as LineRecord;
    const one = encodeChange('F1', undefined, { counters: { c: '1' }, renewals: {}, lines: { L1: record(1) } }, { 'decompte-lines:0': 3 });
    const p = partitionFor('F1');
    store.stage(one.pieces.map(([key, piece], k) => [key, piece, one.texts[k]!] as const), new Map([[p, 2]]));
    await store.flush('embedded');
    // Read once: now cached (head text and summary, and L1's piece).
    const first = store.getBatch(['F1'], () => ['L1']).get('F1')!;
    expect([first.seq, first.applied, first.lines]).toEqual([1, { 'decompte-lines:0': 3 }, { L1: record(1) }]);
    const reads = store.stats.reads;
    expect(store.getBatch(['F1'], () => ['L1']).get('F1')!.text).toBe(first.text);
    expect(store.stats.reads).toBe(reads); // a cache hit
    // Another member wrote F1 meanwhile (write 2: L1 version 2, watermark 7); the catch-up
    // (applyChangelog) stores its entries as text only. The batch must see write 2, not the cached write 1.
    const two = encodeChange('F1', one.family, { counters: { c: '2' }, renewals: {}, lines: { L1: record(2) } }, { 'decompte-lines:0': 7 });
    await store.write(two.messages.map((m, k) => [m.key!, null, two.texts[k]!] as const), new Map([[p, 4]]), 'embedded');
    const second = store.getBatch(['F1'], () => ['L1']).get('F1')!;
    expect([second.seq, second.applied, second.lines, second.text]).toEqual([2, { 'decompte-lines:0': 7 }, { L1: record(2) }, two.texts[1]]);
    // A left-over of a write cut before its head (L1 at write 3, no head 3) reads as its undo: version 2.
    const cut = encodeChange('F1', two.family, { counters: { c: '3' }, renewals: {}, lines: { L1: record(3) } }, { 'decompte-lines:0': 9 });
    store.stage([[cut.messages[0]!.key!, undefined, cut.texts[0]!]], new Map([[p, 5]]));
    expect(store.getBatch(['F1'], () => ['L1']).get('F1')!.lines).toEqual({ L1: record(2) });
    // A rollback to nothing (a tombstone) removes the line from what a batch reads.
    await store.flush('embedded');
    await store.write([['F1#L1', null, null]], new Map([[p, 6]]), 'embedded');
    expect(store.getBatch(['F1'], () => ['L1']).get('F1')!.lines).toEqual({});
    await store.close();
  });

  it('a home whose ledgers are in its LMDB store (marker v4, before session 9): the LMDB keys are removed, the ledgers rebuilt from the changelog', async () => {
    const { home, bus } = await freshBus();
    await ingest(bus, drops[0]);
    await run(bus, { ledgers: { home, fsync: false } });
    const entries = (await bus.endOffsets('counters-changelog')).reduce((n, e) => n + e.high, 0);
    const changelog = await loadFamilies(bus);
    // The layout of an earlier build, in the home's LMDB store: a marker v4 and the pieces as text.
    const kv = StateStore.open(home, { sync: false });
    const [family] = [...changelog.keys()];
    await kv.commit(() => {
      kv.sub('ledger.marker').put('embedded', { v: 4, bus: 'embedded', next: { 0: 1 } });
      kv.sub('ledger.piece').put(compositeKey('embedded', family!), '{"v":3,"piece":"head"}');
      kv.sub('ledger.suspect').put(compositeKey('embedded', `${family!}#L`), true);
    });
    const store = await LedgerStore.open({ home, fsync: false });
    for (const name of ['ledger.marker', 'ledger.piece', 'ledger.suspect']) expect([...kv.sub(name).keys()]).toEqual([]);
    await kv.close();
    // The log-structured store's own marker (v5) still holds: nothing to rebuild; made unreadable, all is rebuilt.
    expect(await restoreLedgers(bus, store, 'embedded')).toMatchObject({ rebuilt: false, read: 0 });
    await store.kv.commit(() => store.kv.sub('ledger.marker').put('embedded', { v: 4, bus: 'embedded', next: {} }));
    expect(await restoreLedgers(bus, store, 'embedded')).toMatchObject({ rebuilt: true, read: entries });
    for (const [id, f] of changelog) expect(await store.get(id)).toEqual(f);
    await store.close();
  }, 60_000);

  it('a damaged ledger piece is refused with PIPELINE_BAD_SNAPSHOT naming the store file and key', async () => {
    const store = await LedgerStore.open({ home: join(dir, 'damaged'), cacheSize: 1, fsync: false });
    const family: Family = { state: { counters: { 'k|family|2025|amount': '10.00' }, renewals: {}, lines: {} }, applied: { 'decompte-lines:0': 4 }, seq: 0 };
    await store.set('F1', family);
    await store.set('F2', family); // evicts F1 from the 1-slot cache
    expect(store.cached).toBe(1);
    // Read back from the store: no line, so the head alone (one key); `set` is write number 1.
    expect(await store.get('F1')).toEqual({ ...family, seq: 1 });
    expect(store.stats.reads).toBe(1);
    await store.set('F2', family); // evicts F1 again
    // The documented layout: ledger.piece/<bus>␟<piece key> → the changelog value text
    const pieces = store.kv.sub<string>('ledger.piece', 'text');
    const key = compositeKey('embedded', 'F1');
    expect(pieces.get(key)).toMatch(/^\{"v":3,"piece":"head",/);
    await store.kv.commit(() => pieces.put(key, '{"v":3,"piece":'));
    await expect(store.get('F1')).rejects.toMatchObject({ code: 'PIPELINE_BAD_SNAPSHOT', context: { file: store.file, key: 'F1' } });
    await store.close();
  });
});
