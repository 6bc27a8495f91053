import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Grid } from '../../src/model/grid.js';
import { runNoemie } from '../support/cli.js';
import { expectNothingNew, gpLine, holderCreated, homeWithReference, latest, nirOf, ordersOf, runOnceOk, settlementsOf, versionsOf, writeDrop, writeFeed } from './run-support.js';

const run = runNoemie;
const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * A corrected grid version re-liquidates the period it corrects (issue 10), end to end through
 * `noemie reference import` and `noemie run --once` on the embedded bus.
 *
 * Three families of one, each with GP consultations G by an OPTAM doctor (DPTM): BR 30.00, RO 70 %
 * = 21.00, billed 50.00 (ccn-table.md "Soins courants", Généralistes; amounts include the RO):
 *   G001 CCN-HLA-BASE 100 % BR: G = 30.00, AMC = min(30.00 − 21.00, 50.00 − 21.00) =  9.00 (Feb and Mar)
 *   G002 CCN-HLA-OPT1 170 % BR: G = 51.00, AMC = min(51.00 − 21.00, 29.00)         = 29.00
 *   G003 CCN-HLA-OPT2 220 % BR: G = 66.00, AMC = min(66.00 − 21.00, 29.00)         = 29.00
 * The correction (grids-2): BASE Généralistes 150 % BR from 2025-03-01 (100 % until 2025-02-28),
 * OPT1 Généralistes 120 % BR over its whole period (2022-01-01 on); OPT2 unchanged:
 *   G001 March: G = 45.00, AMC = min(24.00, 29.00) = 24.00 → paid 24.00 − 9.00 = 15.00 more;
 *   G001 February: before 2025-03-01, the same rules → nothing new;
 *   G002: G = 36.00, AMC = min(15.00, 29.00) = 15.00 → 29.00 − 15.00 = 14.00 to recover;
 *   G003: OPT2 did not change → no request, nothing new.
 */
async function correctedGrids(dir: string): Promise<string> {
  const grids = join(dir, 'grids-corrected');
  await cp(join(ROOT, 'fixtures', 'grids'), grids, { recursive: true });
  const edit = async (id: string, change: (g: Grid) => void) => {
    const file = join(grids, `${id}.json`);
    const grid = JSON.parse(await readFile(file, 'utf8')) as Grid;
    change(grid);
    await writeFile(file, JSON.stringify(grid, null, 2));
  };
  await edit('CCN-HLA-BASE', (g) => {
    const i = g.rules.findIndex((r) => r.id === 'soins.generalistes');
    const old = g.rules[i]!;
    expect(old.formula).toEqual([{ kind: 'pct_br', pct: '100' }]);
    expect(old.effective).toEqual({ from: '2022-01-01', to: null });
    const until = { ...old, effective: { from: '2022-01-01', to: '2025-02-28' } };
    const corrected = { ...old, id: 'soins.generalistes.2025-03', effective: { from: '2025-03-01', to: null }, formula: [{ kind: 'pct_br' as const, pct: '150' }] };
    g.rules.splice(i, 1, until, corrected);
  });
  await edit('CCN-HLA-OPT1', (g) => {
    const rule = g.rules.find((r) => r.id === 'soins.generalistes')!;
    expect(rule.formula).toEqual([{ kind: 'pct_br', pct: '170', pctNonDptm: '150' }]);
    rule.formula = [{ kind: 'pct_br', pct: '120', pctNonDptm: '120' }];
  });
  return grids;
}

describe('noemie reference import of a corrected grid, then noemie run --once', () => {
  it('re-decides the lines of the families holding a corrected level in the corrected period, pays and recovers the difference, then nothing more', async () => {
    const { home, inbox } = await homeWithReference('run-grid-');
    await writeFeed(inbox, 'members-grid.csv', [
      holderCreated('G001', nirOf(1), 'CCN-HLA-BASE'),
      holderCreated('G002', nirOf(2), 'CCN-HLA-OPT1'),
      holderCreated('G003', nirOf(3), 'CCN-HLA-OPT2'),
    ]);
    await writeDrop(inbox, 'drop-grid.csv', [
      gpLine('GRIDFEB1', nirOf(1), 'G001', '2025-02-10'),
      gpLine('GRIDMAR1', nirOf(1), 'G001', '2025-03-10'),
      gpLine('GRIDMAR2', nirOf(2), 'G002', '2025-03-10'),
      gpLine('GRIDMAR3', nirOf(3), 'G003', '2025-03-10'),
    ]);

    // Given the lines liquidated and paid under grids-1
    const first = await runOnceOk(home);
    const v1 = await settlementsOf(home);
    expect(['GRIDFEB1', 'GRIDMAR1', 'GRIDMAR2', 'GRIDMAR3'].map((d) => versionsOf(v1, d).map((s) => [s.version, s.status, s.amcAmount]))).toEqual([
      [[1, 'paid', '9.00']], [[1, 'paid', '9.00']], [[1, 'paid', '29.00']], [[1, 'paid', '29.00']],
    ]);
    expect((await ordersOf(first.out)).map((o) => [o.payee, o.kind, o.amount]).sort()).toEqual([
      ['member:G001', 'payment', '18.00'], ['member:G002', 'payment', '29.00'], ['member:G003', 'payment', '29.00'],
    ]);

    // When a corrected grid set is imported into the home and the job runs again (no new drop)
    const correction = await run(['reference', 'import', '--home', home, '--grids', await correctedGrids(home)]);
    expect(correction.code, correction.err).toBe(0);
    expect(correction.out).toMatch(/^published grids-2 /m);
    const second = await runOnceOk(home);
    expect(second.out).toContain('grid correction grids-2 (after grids-1): CCN-HLA-BASE from 2025-03-01, CCN-HLA-OPT1 from 2022-01-01; 2 re-liquidation request(s)');
    expect(second.out).toMatch(/liquidation: 0 lines, 2 settlements published/);

    // Then only G001's March line and G002's line have a version 2, carrying the version as their cause
    const all = await settlementsOf(home);
    const after = latest(all);
    const cause = (from: string) => ({ eventId: 'grids-2', type: 'grid_correction', effectiveDate: from });
    expect(versionsOf(all, 'GRIDMAR1').at(-1)).toMatchObject({ version: 2, status: 'paid', amcAmount: '24.00', reliquidation: cause('2025-03-01') });
    expect(versionsOf(all, 'GRIDMAR2').at(-1)).toMatchObject({ version: 2, status: 'paid', amcAmount: '15.00', reliquidation: cause('2022-01-01') });
    expect(versionsOf(all, 'GRIDFEB1')).toHaveLength(1);
    expect(versionsOf(all, 'GRIDMAR3')).toHaveLength(1);
    expect([...after.values()].filter((s) => s.version > 1)).toHaveLength(2);
    // and the payment run pays G001 the difference, 24.00 − 9.00 = 15.00, and recovers 29.00 − 15.00 = 14.00 from G002
    const orders = await ordersOf(second.out);
    expect(orders.map((o) => [o.payee, o.kind, o.amount]).sort()).toEqual([['member:G001', 'payment', '15.00'], ['member:G002', 'recovery', '14.00']]);
    expect(orders.find((o) => o.payee === 'member:G001')!.lines.map((l) => [l.version, l.amount])).toEqual([[2, '15.00']]);
    expect(orders.find((o) => o.payee === 'member:G002')!.lines.map((l) => [l.version, l.amount])).toEqual([[2, '-14.00']]);

    // and the member's statement says why
    expect(await readFile(join(home, 'statements', 'G001.txt'), 'utf8')).toContain('régularisation suite à correction de garantie du 01/03/2025');

    // A third run changes nothing: the version is corrected once (marked in the home's state store)
    const third = await runOnceOk(home);
    expect(third.out).not.toContain('grid correction');
    expectNothingNew(third.out);
    expect((await settlementsOf(home)).length).toBe(all.length);
  }, 180_000);
});
