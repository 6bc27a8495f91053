import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidBIC, isValidIBAN } from 'ibantools';
import { describe, expect, it } from 'vitest';
import { loadProfessionals } from '../../src/pipeline/professionals.js';
import { POOLS } from '../../src/generate/care/professionals.js';
import { useTempDir } from '../support/temp-dir.js';
import { runCli } from './cli-support.js';

/**
 * `fixtures generate --professionals` writes the accounts of every professional the generator
 * invents, so a generated drop's tiers-payant lines are paid: a run over it blocks no
 * professional for want of an account (the 5 000-line drop blocked 355).
 */
const dir = useTempDir('noemie-ps-');

describe('fixtures generate --professionals', () => {
  it('one row per professional of the pools, each with a valid IBAN (RIB key, check digits) and BIC; the same bytes every time', async () => {
    const a = join(dir(), 'a.csv');
    const b = join(dir(), 'b.csv');
    const r = await runCli(['fixtures', 'generate', '--lines', '20', '--seed', '1', '--format', 'csv', '--out', join(dir(), 'x.csv'), '--professionals', a]);
    expect(r.code).toBe(0);
    const pools = Object.values(POOLS).reduce((s, p) => s + p.size, 0);
    expect(r.out).toContain(`professionals  `);
    expect(r.out).toContain(`${pools} rows`);
    const { accounts, rejected } = await loadProfessionals(a);
    expect(rejected).toEqual([]);
    expect(Object.keys(accounts)).toHaveLength(pools); // ids never shared between pools
    for (const [id, acc] of Object.entries(accounts)) {
      expect(isValidIBAN(acc.iban), `${id} ${acc.iban}`).toBe(true);
      expect(isValidBIC(acc.bic!), `${id} ${acc.bic}`).toBe(true);
      expect(acc.name.length).toBeGreaterThan(3);
    }
    // another seed, another drop: the same professionals, the same accounts
    await runCli(['fixtures', 'generate', '--lines', '20', '--seed', '2', '--format', 'csv', '--out', join(dir(), 'y.csv'), '--professionals', b]);
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
  });

  it('a run over a generated drop pays its professionals: none blocked for want of an account (without the file: some are)', async () => {
    const gen = join(dir(), 'gen');
    await mkdir(gen, { recursive: true });
    const g = await runCli([
      'fixtures', 'generate', '--lines', '800', '--seed', '11', '--format', 'csv', '--out', join(gen, 'drop.csv'),
      '--beneficiaries', join(gen, 'beneficiaries.csv'), '--professionals', join(gen, 'professionals.csv'), '--tp-claims-out', join(gen, 'tp_claims.csv'),
    ]);
    expect(g.code).toBe(0);
    await writeFile(join(gen, 'none.csv'), 'ps_id;name;iban;bic\n'); // what a run had before: no professional's account

    const blockedPs = async (professionals: string | null) => {
      const home = await mkdtemp(join(dir(), 'home-'));
      await mkdir(join(home, 'inbox'), { recursive: true });
      for (const f of ['drop.csv', 'tp_claims.csv']) await copyFile(join(gen, f), join(home, 'inbox', f));
      const ref = ['--professionals', professionals ?? join(gen, 'none.csv')];
      const run = await runCli(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1', '--no-payments', '--reference', 'fixtures', '--beneficiaries', join(gen, 'beneficiaries.csv'), ...ref]);
      expect(run.code, run.err).toBe(0);
      // members: the home's store, which the run filled from --beneficiaries (payments run has no --beneficiaries since issue 10)
      const pay = await runCli(['payments', 'run', '--home', home, '--dry-run', '--json', '--professionals', professionals ?? join(gen, 'none.csv')]);
      expect(pay.code, pay.err).toBe(0);
      const report = JSON.parse(pay.out) as { orders: { payee: string }[]; blocked: { payee: string; reason: string }[] };
      return { paidPs: report.orders.filter((o) => o.payee.startsWith('ps:')).length, blocked: report.blocked.filter((b) => b.payee.startsWith('ps:')) };
    };

    const without = await blockedPs(null);
    expect(without.blocked.length).toBeGreaterThan(0); // the defect: the drop's professionals have no account
    const withAccounts = await blockedPs(join(gen, 'professionals.csv'));
    expect(withAccounts.blocked).toEqual([]);
    expect(withAccounts.paidPs).toBe(without.blocked.length + without.paidPs);
  }, 180_000);
});
