import { cp, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedRow, ordersOf, runOnce, tempHome, writeFeed } from './run-support.js';

/**
 * `noemie run --once` without --sample on the sample's drops, with ITS OWN members feed in the
 * inbox: one family (the sample's adhérent number ADH0000001, another account). The members are
 * applied before the drops are read; ADH0000001's payment goes to the feed's account; the other
 * families are unknown to this home, so nothing is paid to them — and no sample account appears in
 * the pain.001 (before issue 10, the sample's file was read for every family).
 */
const POP_IBAN = 'FR7630004000031234567890143';

describe('noemie run --once with a members feed in the inbox', () => {
  it('applies the feed before the drops, pays only to the feed\'s account, never a sample one', async () => {
    const home = await tempHome('run-members-');
    const inbox = join(home, 'inbox');
    await mkdir(inbox, { recursive: true });
    for (const f of await readdir('fixtures/sample/inbox')) await cp(join('fixtures/sample/inbox', f), join(inbox, f));
    // the sample's family ADH0000001 (holder, spouse, twins, baby), with this population's account
    const sample = (await readFile('fixtures/sample/beneficiaries.csv', 'utf8')).trim().split('\n').slice(1).map((l) => l.split(';'));
    const family = sample.filter((c) => c[0] === 'ADH0000001');
    expect(family).toHaveLength(5);
    const row = (c: string[], i: number) => feedRow({
      event_type: i === 0 ? 'family_created' : 'beneficiary_added', effective_date: c[7]!, adherent_id: c[0]!, nir: c[1]!, nir_key: c[2]!, rang: c[3]!,
      birth_date: c[4]!, role: c[5]!, contracts: c[6]!, noemie: c[10]!, name: c[13]!, iban: i === 0 ? POP_IBAN : '', bic: i === 0 ? 'BNPAFRPPXXX' : '',
    });
    await writeFeed(inbox, 'members-pop.csv', family.map(row));

    const r = await runOnce(home, '--reference', 'fixtures', '--professionals', 'fixtures/sample/professionals.csv');
    expect(r.out).toMatch(/members-pop\.csv: 5 membership events published, 0 rejected; archived/);
    expect(r.out).toMatch(/members: 5 membership event\(s\) applied, 0 already applied, 1 families in the store/);
    const pain = /pain\.001: (.+\.xml)/.exec(r.out)?.[1];
    expect(pain, r.out).toBeDefined();
    const xml = await readFile(pain!, 'utf8');
    expect(xml).toContain(POP_IBAN);
    const sampleIbans = new Set(sample.map((c) => c[11]).filter((x): x is string => !!x));
    for (const iban of sampleIbans) expect(xml).not.toContain(iban);
    const orders = await ordersOf(r.out);
    const members = orders.filter((o) => o.payee.startsWith('member:'));
    expect(members.map((o) => [o.payee, o.iban])).toEqual([['member:ADH0000001', POP_IBAN]]);
  }, 120_000);
});
