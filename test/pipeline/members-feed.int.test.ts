import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { ensureLayout, inboxLayout, type InboxLayout } from '../../src/ingest/inbox/index.js';
import { InboxScanner } from '../../src/ingest/inbox/complete.js';
import { isMembersFile, readMembersFeed } from '../../src/ingest/reference/members-feed.js';
import { MEMBERSHIP_COLUMNS } from '../../src/model/membership.js';
import { membersIn } from '../../src/pipeline/members-inbox.js';
import { updateMembershipStore } from '../../src/pipeline/membership-consumer.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { readAll, tempDir } from './stages-given.js';

/**
 * Membership feed files dropped in the inbox: validated like drops (bad record → rejected with
 * file, line and field, the rest goes on, a quarantine report), skipped by hash when seen twice,
 * published to `members`, never liquidated.
 */
const HEADER = MEMBERSHIP_COLUMNS.join(';');
const row = (cells: Partial<Record<(typeof MEMBERSHIP_COLUMNS)[number], string>>) => MEMBERSHIP_COLUMNS.map((c) => cells[c] ?? '').join(';');
const HOLDER = { adherent_id: 'ADH7000001', nir: '1870459280378', nir_key: '27', rang: '1', birth_date: '1987-04-20', role: 'A', contracts: 'CCN-HLA-BASE', noemie: 'Y', name: 'BERTRAND François' };

let home = '';
let cleanup: () => Promise<void>;
let layout: InboxLayout;
let bus: Bus;
beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('members-feed-'));
  layout = inboxLayout(home);
  await ensureLayout(layout);
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
});
afterEach(async () => {
  await bus.close();
  await cleanup();
});

describe('members*.csv in the inbox', () => {
  it('a bad record is rejected with file, line and field; the rest is published and applied; a quarantine report lists it', async () => {
    const csv = [
      HEADER,
      row({ event_id: 'E1', event_type: 'family_created', effective_date: '2024-01-01', ...HOLDER, iban: 'FR76 2004 1344 5998 0639 4842 283', bic: 'PSSTFRPPXXX' }),
      // line 3: IBAN with a wrong check digit (…284)
      row({ event_id: 'E2', event_type: 'bank_account_change', effective_date: '2026-01-01', adherent_id: 'ADH7000001', iban: 'FR7620041344599806394842284' }),
      // line 4: a contract change without contracts
      row({ event_id: 'E3', event_type: 'contract_change', effective_date: '2026-01-01', adherent_id: 'ADH7000001' }),
      // line 5: résiliation with only its request date: effective one month later
      row({ event_id: 'E4', event_type: 'affiliation_end', request_date: '2026-03-10', adherent_id: 'ADH7000001' }),
    ].join('\n');
    await writeFile(join(layout.inbox, 'members-2026-03.csv'), `${csv}\n`);

    const [outcome] = await membersIn(layout, bus);
    expect(outcome).toMatchObject({ file: 'members-2026-03.csv', action: 'archived', events: 2, rejected: 2 });

    const rejects = await readAll(bus, 'rejects');
    expect(rejects.map((r) => [r.origin.file, r.origin.record, r.issues.map((i) => i.path.join('.'))])).toEqual([
      ['members-2026-03.csv', 3, ['iban']],
      ['members-2026-03.csv', 4, ['contracts']],
    ]);
    const report = JSON.parse(await readFile(outcome!.report!, 'utf8')) as { entries: { file: string; record: number; field: string; value: string | null }[] };
    expect(report.entries.map((e) => [e.file, e.record, e.field])).toEqual([['members-2026-03.csv', 3, 'iban'], ['members-2026-03.csv', 4, 'contracts']]);
    // the IBAN is masked in the report (people read it)
    expect(JSON.stringify(report)).not.toContain('FR7620041344599806394842284');

    const events = await readAll(bus, 'members');
    expect(events.map((e) => [e.eventId, e.eventType, e.effectiveDate])).toEqual([['E1', 'family_created', '2024-01-01'], ['E4', 'affiliation_end', '2026-04-10']]);
    // IBAN kept in electronic format
    expect(events[0]!.iban).toBe('FR7620041344599806394842283');
    // nothing liquidated: no line, no settlement
    expect(await readAll(bus, 'decompte-lines')).toEqual([]);
    expect(await readAll(bus, 'settlements')).toEqual([]);

    const store = MembershipStore.open(home, { today: () => '2026-06-15' });
    await updateMembershipStore(bus, store);
    // résiliation requested 2026-03-10 → effective 2026-04-10 → last day covered 2026-04-09
    expect(store.index().holder('ADH7000001')?.end).toBe('2026-04-09');
    await store.close();
  });

  it('a file seen twice is skipped by its hash (whatever its name)', async () => {
    const csv = `${HEADER}\n${row({ event_type: 'family_created', effective_date: '2024-01-01', ...HOLDER })}\n`;
    await writeFile(join(layout.inbox, 'members-a.csv'), csv);
    expect((await membersIn(layout, bus)).map((o) => o.action)).toEqual(['archived']);
    await writeFile(join(layout.inbox, 'members-b.csv'), csv);
    const [again] = await membersIn(layout, bus);
    expect(again).toMatchObject({ action: 'duplicate', events: 0 });
    expect(again!.message).toMatch(/already read on .* as archive\/.*-members-a\.csv/);
    expect(await readAll(bus, 'members')).toHaveLength(1);
    expect((await readdir(layout.archive)).some((f) => f.endsWith('-members-b.csv.duplicate'))).toBe(true);
  });

  it('a header without event_type refuses the file: quarantined with a report, nothing published', async () => {
    await writeFile(join(layout.inbox, 'members-bad.csv'), 'adherent_id;nir\nADH1;1870459280378\n');
    const [o] = await membersIn(layout, bus);
    expect(o).toMatchObject({ action: 'quarantined', events: 0 });
    const report = JSON.parse(await readFile(o!.report!, 'utf8')) as { entries: { code: string; reason: string }[] };
    expect(report.entries[0]).toMatchObject({ code: 'REFERENCE_HEADER' });
    expect(await readAll(bus, 'members')).toEqual([]);
  });

  it('the drop scanner leaves membership files to the membership feed', async () => {
    await writeFile(join(layout.inbox, 'members-x.json'), '[]');
    const scanner = new InboxScanner(layout.inbox, 'rename', 0);
    await scanner.scan();
    expect(await scanner.scan()).toEqual([]);
    expect(isMembersFile('members-x.json') && isMembersFile('MEMBERS_2026.csv') && !isMembersFile('drop-members.csv')).toBe(true);
  });
});

describe('members*.json', () => {
  it('an array of records with native types; a bad one is rejected with its ordinal and field; same content → same event id', async () => {
    const file = join(home, 'members-1.json');
    const holder = { event_type: 'family_created', effective_date: '2024-01-01', ...HOLDER, rang: 1, noemie: true, contracts: ['CCN-HLA-BASE'] };
    await writeFile(file, JSON.stringify([holder, { event_type: 'suspension_start', effective_date: '2026-13-01', adherent_id: 'ADH7000001' }, holder]));
    const out = [];
    for await (const ev of readMembersFeed(file, 'members-1.json')) out.push(ev);
    expect(out.map((e) => e.kind)).toEqual(['event', 'reject', 'event']);
    const bad = out[1]!;
    expect(bad.kind === 'reject' && [bad.rejected.origin.file, bad.rejected.origin.record, bad.rejected.issues[0]!.path]).toEqual(['members-1.json', 2, ['effective_date']]);
    const ids = out.flatMap((e) => (e.kind === 'event' ? [e.event.eventId] : []));
    expect(ids[0]).toMatch(/^m-[0-9a-f]{24}$/);
    expect(ids[1]).toBe(ids[0]);
  });
});
