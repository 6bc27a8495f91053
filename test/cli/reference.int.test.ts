import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CSV_COLUMN_NAMES } from '../../src/model/act-line.js';
import type { ReferenceVersion } from '../../src/pipeline/reference-store.js';
import type { Settlement } from '../../src/model/settlement.js';
import { runNoemie } from '../support/cli.js';

/**
 * The home's reference data on the command line: no command takes grids, nomenclature, PMSS or
 * professionals from fixtures/ by itself; `reference import` validates and publishes versions;
 * `--sample` publishes the sample's; `reference show --json` lists them.
 */
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const run = runNoemie;

interface Shown {
  home: string;
  inForce: Record<string, ReferenceVersion | null>;
  versions: ReferenceVersion[];
}
const show = async (home: string) => JSON.parse((await run(['reference', 'show', '--home', home, '--json'])).out) as Shown;

const NIR = '1840994098201'; // key 97 − (1840994098201 mod 97) = 96
const BENEFICIARIES = [
  'adherent_id;nir;nir_key;rang;birth_date;role;contracts;start;end;suspended;noemie;iban;bic;name',
  `ADH1;${NIR};96;1;1984-09-15;A;CCN-HLA-BASE|CCN-HLA-OPT2;2017-09-01;;;Y;FR7618206635594884209105315;AGRIFRPP882;PETIT Philippe`,
].join('\n');
/** A GP consultation, OPTAM: BR 30, billed 40, RO 70 % → 21.00 (the RO pays 19.00 after the 2.00 PF). */
const DROP = [
  CSV_COLUMN_NAMES.join(';'),
  'D1;1;I;011751001;2025-03-12;1840994098201;96;1;1984-09-15;ADH1;751234567;01;Y;G;;2025-03-10;2025-03-10;1;1;40.00;30.00;70;21.00;2.00;0.00;I;00;N',
].join('\n');

describe('no silent sample defaults', () => {
  it('liquidate, estimate, statement, payments run and run fail with REFERENCE_MISSING on a home without reference data, saying how to load it', async () => {
    const home = await temp('ref-missing-');
    await writeFile(join(home, 'ben.csv'), BENEFICIARIES);
    await writeFile(join(home, 'drop.csv'), DROP);
    const ben = ['--beneficiaries', join(home, 'ben.csv')];
    const attempts = [
      ['liquidate', '--in', join(home, 'drop.csv'), '--home', home, ...ben],
      ['estimate', '--nir', NIR, '--act', 'G', '--expense', '40', '--br', '30', '--home', home, ...ben],
      ['statement', '--adherent', 'ADH1', '--from', '2025-01-01', '--to', '2025-12-31', '--home', home],
      ['payments', 'run', '--home', home, '--dry-run'],
      ['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '0', ...ben],
    ];
    for (const argv of attempts) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err, argv.join(' ')).toMatch(/\[REFERENCE_MISSING\] the home .* holds no /);
      expect(r.err, argv.join(' ')).toContain(`noemie reference import --home ${home}`);
      expect(r.out, argv.join(' ')).not.toMatch(/"amcAmount"/);
    }
    // what each lacked is named: payments need the professionals' accounts, the statement act labels
    expect((await run(attempts[3]!)).err).toContain('holds no professionals');
    expect((await run(attempts[2]!)).err).toContain('holds no nomenclature');
    // and nothing was published into the home by those attempts
    expect(Object.values((await show(home)).inForce)).toEqual([null, null, null, null]);
  }, 60_000);

  it('--sample publishes the sample reference data into the home (once), and explicit files keep working without a home', async () => {
    const home = await temp('ref-sample-');
    await writeFile(join(home, 'ben.csv'), BENEFICIARIES);
    await writeFile(join(home, 'drop.csv'), DROP);
    const liquidate = (...extra: string[]) => run(['liquidate', '--in', join(home, 'drop.csv'), '--as-of', '2025-04-01', '--beneficiaries', join(home, 'ben.csv'), ...extra]);
    // CCN-HLA-BASE + OPT2 on the GP consultation, sample grids: BASE 100 % BR: G = 30.00, AMC = min(30.00 − 21.00,
    // 40.00 − 21.00) = 9.00; OPT2 220 % BR: G = 66.00, AMC = min(66.00 − 21.00, 40.00 − 21.00) = 19.00 in all (10.00 on top).
    const sample = await liquidate('--home', home, '--sample');
    expect(sample.code).toBe(0);
    const settlementOf = (out: string) => JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as Settlement;
    expect(settlementOf(sample.out).amcAmount).toBe('19.00');
    expect((await show(home)).versions.map((v) => v.id)).toEqual(['grids-1', 'nomenclature-1', 'pmss-1', 'professionals-1']);
    const explicit = await liquidate('--home', join(home, 'elsewhere'), '--grids', 'fixtures/grids', '--nomenclature', 'fixtures/nomenclature.csv', '--pmss', 'fixtures/pmss.csv');
    expect(explicit.code).toBe(0);
    expect(settlementOf(explicit.out)).toEqual(settlementOf(sample.out));
    // the home's versions now serve without --sample; a second --sample publishes nothing new
    expect((await liquidate('--home', home)).code).toBe(0);
    expect((await liquidate('--home', home, '--sample')).code).toBe(0);
    const shown = await show(home);
    expect(shown.versions.map((v) => v.id)).toEqual(['grids-1', 'nomenclature-1', 'pmss-1', 'professionals-1']);
    expect(shown.inForce.grids).toMatchObject({ id: 'grids-1', source: 'sample: fixtures/grids', summary: '5 grid(s): CCN-HLA-BASE, CCN-HLA-OPT1, CCN-HLA-OPT2, RELAXEO-F1, RELAXEO-F2' });
    expect(shown.inForce.professionals?.hash).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);
});

describe('noemie reference import / show', () => {
  it('rejects a bad grid naming file, rule and field, publishes nothing; a good one becomes grids-2; the same content again is no new version', async () => {
    const home = await temp('ref-import-');
    expect((await run(['reference', 'import', '--home', home, '--sample'])).code).toBe(0);
    const grids = join(home, 'grids');
    await cp('fixtures/grids', grids, { recursive: true });
    const file = join(grids, 'CCN-HLA-BASE.json');
    const good = await readFile(file, 'utf8');
    const grid = JSON.parse(good) as { rules: { id: string; formula: { kind: string; pct?: string }[] }[] };
    const n = grid.rules.findIndex((r) => r.id === 'soins.generalistes');
    grid.rules[n]!.formula.find((t) => t.kind === 'pct_br')!.pct = 'cent';
    await writeFile(file, JSON.stringify(grid, null, 2));

    const bad = await run(['reference', 'import', '--home', home, '--grids', grids]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('[REFERENCE_INVALID]');
    expect(bad.err).toContain(`CCN-HLA-BASE.json rule ${n + 1} (soins.generalistes), field formula.0.pct`);
    expect((await show(home)).inForce.grids?.id).toBe('grids-1');

    // a bad nomenclature: file, line and column
    const nomenclature = join(home, 'nomenclature.csv');
    const lines = (await readFile('fixtures/nomenclature.csv', 'utf8')).split('\n');
    const header = lines[0]!.split(';');
    const cells = lines[3]!.split(';');
    cells[header.indexOf('ro_rate')] = 'seventy';
    lines[3] = cells.join(';');
    await writeFile(nomenclature, lines.join('\n'));
    const badCsv = await run(['reference', 'import', '--home', home, '--nomenclature', nomenclature]);
    expect(badCsv.code).toBe(1);
    expect(badCsv.err).toContain(`${nomenclature} line 4, field ro_rate`);

    // the grid fixed (150 % BR): a new version in force, the first one kept
    grid.rules[n]!.formula.find((t) => t.kind === 'pct_br')!.pct = '150';
    await writeFile(file, JSON.stringify(grid, null, 2));
    const ok = await run(['reference', 'import', '--home', home, '--grids', grids]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^published grids-2 /m);
    const again = await run(['reference', 'import', '--home', home, '--grids', grids]);
    expect(again.out).toMatch(/^unchanged grids-2 /m);

    const shown = await show(home);
    expect(shown.inForce.grids).toMatchObject({ id: 'grids-2', seq: 2, source: grids });
    expect(shown.versions.filter((v) => v.kind === 'grids').map((v) => v.id)).toEqual(['grids-1', 'grids-2']);
    expect(shown.versions.find((v) => v.id === 'grids-1')!.hash).not.toBe(shown.inForce.grids!.hash);
    const text = await run(['reference', 'show', '--home', home, '--all']);
    expect(text.out).toMatch(/grids-2 .* \[in force\]/);
    expect(text.out).not.toMatch(/grids-1 .* \[in force\]/);
  }, 60_000);

  it('usage: import with nothing to import is a usage error', async () => {
    const home = await temp('ref-usage-');
    expect((await run(['reference', 'import', '--home', home])).code).toBe(2);
  });
});
