import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import { importPopulation } from '../../src/pipeline/members-import.js';
import { updateMembershipStore } from '../../src/pipeline/membership-consumer.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { readAll, withEmbeddedHome } from './stages-given.js';

/**
 * A population file given at every start (`noemie run --beneficiaries`, `members import`): an
 * unchanged file costs its hash, a changed one is read and what it changes applied
 * (src/pipeline/members-import.ts; bench/README.md "Session 24 — restart").
 */
const SAMPLE = 'fixtures/sample/beneficiaries.csv';
let home = '';
let bus: Bus;
withEmbeddedHome('members-import-', (h, b) => {
  home = h;
  bus = b;
});

/** importPopulation as `noemie run --beneficiaries` calls it, counting the events it looks up in the store */
async function importInto(store: MembershipStore, file: string) {
  let lookedUp = 0;
  const r = await importPopulation(bus, file, { alreadyApplied: (id) => (lookedUp++, store.isApplied(id)), imports: store });
  await updateMembershipStore(bus, store);
  return { ...r, lookedUp };
}

it('the same content imported again reads no row and publishes nothing, whatever its name; a changed file is read and its new events applied', async () => {
  const store = MembershipStore.open(home);
  try {
    const first = await importInto(store, SAMPLE);
    expect(first).toMatchObject({ events: 30, skipped: 0, lookedUp: 30 });
    expect(first.unchanged).toBeUndefined();

    // the same bytes under another name: nothing derived (no event looked up), nothing published
    const copy = join(home, 'population-copy.csv');
    await copyFile(SAMPLE, copy);
    const again = await importInto(store, copy);
    expect(again).toMatchObject({ events: 0, skipped: 30, lookedUp: 0, unchanged: { rejected: 0 } });
    expect((await readAll(bus, 'members')).length).toBe(30);

    // a family added: the file is read whole, only the new family's event is published and applied
    const added = 'ADH8000001;1800175123456;60;1;1980-01-01;A;CCN-HLA-BASE;2024-01-01;;;Y;;;ONE';
    await writeFile(copy, `${(await readFile(SAMPLE, 'utf8')).trimEnd()}\n${added}\n`);
    const changed = await importInto(store, copy);
    expect(changed).toMatchObject({ events: 1, skipped: 30, lookedUp: 31 });
    expect(changed.unchanged).toBeUndefined();
    expect(store.familyCount()).toBe(11);
    expect((await readAll(bus, 'members')).length).toBe(31);
  } finally {
    await store.close();
  }
});

it('a home whose store applied the file before imports were recorded (an older build) reads it once more, then no more', async () => {
  const store = MembershipStore.open(home);
  try {
    // as builds before session 24 imported: no record of the file, its events applied
    await importPopulation(bus, SAMPLE, { alreadyApplied: (id) => store.isApplied(id) });
    await updateMembershipStore(bus, store);
    const upgraded = await importInto(store, SAMPLE);
    expect(upgraded).toMatchObject({ events: 0, skipped: 30, lookedUp: 30 });
    const next = await importInto(store, SAMPLE);
    expect(next).toMatchObject({ events: 0, skipped: 30, lookedUp: 0, unchanged: { rejected: 0 } });
    expect((await readAll(bus, 'members')).length).toBe(30);
  } finally {
    await store.close();
  }
});
