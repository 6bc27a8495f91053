import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_OUTPUTS } from '../../src/cli/output-schemas.js';
import { useTempDir } from '../support/temp-dir.js';
import { runCli } from './cli-support.js';

/**
 * `fixtures generate --home` (issue 11, "Fixtures"): the generator writes what makes its drop
 * liquidate and pay with the defaults — the professionals' accounts (published as the home's
 * reference) and the members (a feed in the inbox) — so `noemie run --once --home` with no other
 * input blocks no payee for want of an account (the issue's 5 000-line drop: 356 blocked, 355 of
 * them professionals). The only family left without an account is the one the generator makes so
 * on purpose ("no RIB", src/generate/README.md).
 */
const dir = useTempDir('noemie-genhome-');

describe('fixtures generate --home, then run --once with no other input', () => {
  it('liquidates the drop and pays it: no professional blocked, members blocked only where the population has no account', async () => {
    const home = join(dir(), 'home');
    const g = await runCli(['fixtures', 'generate', '--lines', '800', '--seed', '11', '--format', 'csv', '--home', home, '--json']);
    expect(g.code, g.err).toBe(0);
    const generated = CLI_OUTPUTS['fixtures generate'].parse(JSON.parse(g.out));
    expect(generated.home?.published.sort()).toEqual(['grids-1', 'nomenclature-1', 'pmss-1', 'professionals-1']);
    const inbox = (await readdir(join(home, 'inbox'))).sort();
    expect(inbox).toEqual(['drop-11-800.csv', 'members-population-11.csv', 'tp_claims-11-800.csv']);
    expect(existsSync(join(home, 'reference', 'professionals-generated.csv'))).toBe(true);

    // families whose population rows carry no IBAN at all: the generator's deliberate "no RIB" case
    const feed = (await readFile(join(home, 'inbox', 'members-population-11.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(';'));
    const withAccount = new Set(feed.filter((c) => c[12] !== '').map((c) => c[2]));
    const withoutAccount = new Set(feed.map((c) => c[2]).filter((a) => !withAccount.has(a)));
    expect(feed.length).toBe(generated.people);

    const r = await runCli(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1', '--json']);
    expect(r.code, r.err).toBe(0);
    const summary = CLI_OUTPUTS.run.parse(JSON.parse(r.out));
    expect(summary.memberFiles.map((f) => [f.file, f.action, f.rejected])).toEqual([['members-population-11.csv', 'archived', 0]]);
    expect(summary.members.families).toBe(generated.families);
    expect(summary.drops.map((d) => [d.file, d.action])).toEqual([['drop-11-800.csv', 'archived']]);
    expect(summary.tpClaims).toBeGreaterThan(0);
    expect(summary.liquidation.lines).toBe(800);
    const payments = summary.payments!;
    expect(payments.orders).toBeGreaterThan(0);
    expect(payments.blocked.filter((b) => b.payee.startsWith('ps:'))).toEqual([]);
    // a member blocked for want of an account is only one of the families the population gives none
    for (const b of payments.blocked) {
      expect(b.payee, b.reason).toMatch(/^member:/);
      expect(withoutAccount.has(b.payee.slice('member:'.length)), `${b.payee}: ${b.reason}`).toBe(true);
    }
    expect(payments.reconciled).toBe(true);
    // and the professionals are paid: tiers-payant orders to ps: payees in the run's orders
    const orders = (await readFile(payments.ordersFile!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { payee: string; kind: string });
    expect(orders.filter((o) => o.payee.startsWith('ps:') && o.kind === 'payment').length).toBeGreaterThan(10);
    // the member's statement of a family paid, as JSON: its text and where the HTML went
    const family = orders.find((o) => o.payee.startsWith('member:') && o.kind === 'payment')!.payee.slice('member:'.length);
    const html = join(dir(), 'statement.html');
    const st = await runCli(['statement', '--home', home, '--adherent', family, '--from', '2024-01-01', '--to', '2025-12-31', '--html', html, '--json']);
    expect(st.code, st.err).toBe(0);
    const statement = CLI_OUTPUTS.statement.parse(JSON.parse(st.out));
    expect(statement).toMatchObject({ adherentId: family, from: '2024-01-01', to: '2025-12-31', html });
    expect(statement.lines).toBeGreaterThan(0);
    expect(statement.text).toContain(family);
    expect(existsSync(html)).toBe(true);
    // a replay dry-run over what was liquidated, as JSON: same grids, nothing changes
    const rp = await runCli(['replay', '--home', home, '--topic', 'decompte-lines', '--partition', '0', '--from', '0', '--dry-run', '--json']);
    expect(rp.code, rp.err).toBe(0);
    const replayed = CLI_OUTPUTS.replay.parse(JSON.parse(rp.out));
    expect(replayed.read).toBeGreaterThan(0);
    expect(replayed.totals).toMatchObject({ lines: 0, delta: '0.00' });
    // the human lines went to stderr, stdout holds the one document
    expect(r.err).toContain('payment run');
  }, 300_000);
});
