import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { importCommand, showCommand } from '../../src/cli/commands/members.js';
import { MembershipEventSchema } from '../../src/model/membership.js';
import { BENEFICIARY_COLUMNS } from '../../src/ingest/reference/beneficiaries.js';
import { readAll, tempDir } from '../pipeline/stages-given.js';
import { runCommand } from '../support/cli.js';

/** `noemie members import` and `noemie members show [--as-of] [--json]` on a temp home. */
const cli = runCommand;

const SAMPLE = 'fixtures/sample/beneficiaries.csv';
const SAMPLE_IBAN = 'FR7620041344599806394842283';
const NEW_IBAN = 'FR3330002005500000157841Z25';
let home = '';
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: home, cleanup } = await tempDir('members-cli-'));
});
afterAll(async () => {
  await cleanup();
});

describe('noemie members import', () => {
  it('publishes one event per row (30 rows of 10 families), applies them; a second import applies nothing', async () => {
    const first = await cli(importCommand, [SAMPLE, '--home', home]);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`${SAMPLE}: 30 membership events published (0 already in the store), 0 row(s) rejected`);
    expect(first.out).toMatch(/membership store: 30 event\(s\) applied, 0 already applied, 10 families; 10 re-liquidation request\(s\)/);
    const again = await cli(importCommand, [SAMPLE, '--home', home]);
    expect(again.out).toContain(`${SAMPLE}: 0 membership events published (30 already in the store)`);
    expect(again.out).toMatch(/membership store: 0 event\(s\) applied, 0 already applied, 10 families; 0 re-liquidation/);
  });

  it('a bad row is named (file, line, column), the others imported, exit 1', async () => {
    const file = join(home, 'pop.csv');
    const good = 'ADH8000001;1870459280378;27;1;1980-01-01;A;CCN-HLA-BASE;2024-01-01;;;Y;;;ONE';
    const bad = 'ADH8000002;1680229242618;99;1;1980-01-01;A;CCN-HLA-BASE;2024-01-01;;;Y;;;TWO';
    await writeFile(file, `${BENEFICIARY_COLUMNS.join(';')}\n${good}\n${bad}\n`);
    const r = await cli(importCommand, [file, '--home', home]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/pop\.csv line 3, field nir_key: NIR key 99 does not match/);
    expect(r.out).toContain('1 membership events published (0 already in the store), 1 row(s) rejected');
  });
});

describe('noemie members show', () => {
  beforeAll(async () => {
    // ADH0000001 changes level on 2026-01-01 and RIB on 2026-02-01
    const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
    const base = { adherentId: 'ADH0000001' };
    await bus.produce('members', [
      { value: MembershipEventSchema.parse({ ...base, eventId: 'LVL-1', eventType: 'contract_change', effectiveDate: '2026-01-01', contracts: ['CCN-HLA-OPT2'] }) },
      { value: MembershipEventSchema.parse({ ...base, eventId: 'RIB-1', eventType: 'bank_account_change', effectiveDate: '2026-02-01', iban: NEW_IBAN, bic: 'SOGEFRPPXXX' }) },
    ]);
    // 30 (the file imported twice: published once) + 1 (the good row of pop.csv) + these 2
    expect((await readAll(bus, 'members')).length).toBe(33);
    await bus.close();
    // import brings the store up to date with the topic (and applies nothing new from the file)
    await cli(importCommand, [SAMPLE, '--home', home]);
  });

  it('--json: the history, the levels over time and the family as of a date; NIRs and IBANs masked', async () => {
    const r = await cli(showCommand, ['ADH0000001', '--home', home, '--as-of', '2025-06-01', '--json']);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(SAMPLE_IBAN);
    expect(r.out).not.toContain('1870459280378');
    const doc = JSON.parse(r.out) as {
      adherentId: string;
      members: { role: string; rang: number; nir: string; contractPeriods?: { from: string; to: string | null; contracts: string[] }[] }[];
      accounts: { from: string; iban: string }[];
      history: { eventType: string; effectiveDate: string; eventId: string }[];
      asOf: { date: string; members: { role: string; contracts: string[]; status: string }[]; account: { iban: string } | null };
    };
    expect(doc.adherentId).toBe('ADH0000001');
    // the sample's family: holder, spouse, twins (rangs 1 and 2) and a baby born 2024-09-02
    expect(doc.members.map((m) => `${m.role}${m.rang}`)).toEqual(['A1', 'C1', 'E1', 'E2', 'E1']);
    expect(doc.members[0]!.nir).toBe('1************');
    expect(doc.members[0]!.contractPeriods).toEqual([
      { from: '2020-12-01', to: '2025-12-31', contracts: ['CCN-HLA-BASE'] },
      { from: '2026-01-01', to: null, contracts: ['CCN-HLA-OPT2'] },
    ]);
    expect(doc.accounts.map((a) => [a.from, a.iban])).toEqual([['2020-12-01', 'FR76…2283'], ['2026-02-01', 'FR33…1Z25']]);
    expect(doc.history.map((h) => [h.effectiveDate, h.eventType])).toEqual([
      ['2020-12-01', 'family_created'], ['2020-12-01', 'beneficiary_added'], ['2020-12-01', 'beneficiary_added'], ['2020-12-01', 'beneficiary_added'],
      ['2024-09-02', 'beneficiary_added'], ['2026-01-01', 'contract_change'], ['2026-02-01', 'bank_account_change'],
    ]);
    // on 2025-06-01: all five covered (the baby joined 2024-09-02), the old level, the old account
    expect(doc.asOf.members.map((m) => [m.role, m.contracts.join('+'), m.status])).toEqual(Array.from({ length: 5 }, (_, i) => [['A', 'C', 'E', 'E', 'E'][i], 'CCN-HLA-BASE', 'covered']));
    expect(doc.asOf.account?.iban).toBe('FR76…2283');
    // on 2026-03-01: the new level and the new account
    const later = JSON.parse((await cli(showCommand, ['ADH0000001', '--home', home, '--as-of', '2026-03-01', '--json'])).out) as typeof doc;
    expect(later.asOf.members[0]!.contracts).toEqual(['CCN-HLA-OPT2']);
    expect(later.asOf.account?.iban).toBe('FR33…1Z25');
  });

  it('text: the persons, accounts and history; an unknown adherent is exit 1', async () => {
    const r = await cli(showCommand, ['ADH0000001', '--home', home, '--as-of', '2026-03-01']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('level 2026-01-01 → open: CCN-HLA-OPT2');
    expect(r.out).toContain('2026-02-01 bank_account_change → FR33…1Z25 — RIB-1');
    expect(r.out).toContain('as of 2026-03-01:');
    const unknown = await cli(showCommand, ['ADH9999999', '--home', home]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('unknown adherent ADH9999999');
  });
});
