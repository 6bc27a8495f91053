import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { writeJson } from '../../src/cli/json-output.js';
import { CLI_OUTPUTS } from '../../src/cli/output-schemas.js';
import { runNoemie } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';

/** `--json` where it was missing (issue 11): liquidate, members import; and the helper's check. */
const REF = ['--beneficiaries', 'fixtures/sample/beneficiaries.csv', '--grids', 'fixtures/grids', '--nomenclature', 'fixtures/nomenclature.csv', '--pmss', 'fixtures/pmss.csv'];

const run = runNoemie;

const dir = useTempDir('noemie-json-');

describe('--json', () => {
  it('liquidate --json: the figures as one document, the settlements in --out; without --out a usage error', async () => {
    const drop = 'fixtures/sample/inbox/cpam-lot-0002.noemie';
    const out = join(dir(), 'settlements.ndjson');
    const r = await run(['liquidate', '--in', drop, '--out', out, '--as-of', '2026-01-15', '--json', ...REF]);
    expect(r.code, r.err).toBe(0);
    const doc = CLI_OUTPUTS.liquidate.parse(JSON.parse(r.out));
    const settlements = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { status: string; amcAmount: string });
    expect(doc.lines).toBe(settlements.length);
    expect(Object.values(doc.byStatus).reduce((a, b) => a + b, 0)).toBe(settlements.length);
    // the AMC total is the settlements' sum, to the cent
    expect(doc.amcTotal).toBe(settlements.reduce((s, x) => s.plus(x.amcAmount), new Decimal(0)).toFixed(2));
    const text = await run(['liquidate', '--in', drop, '--as-of', '2026-01-15', ...REF]);
    expect(text.out.trim().split('\n')).toHaveLength(settlements.length); // without --json: NDJSON on stdout, unchanged
    const noOut = await run(['liquidate', '--in', drop, '--json', ...REF]);
    expect(noOut.code).toBe(2);
    expect(noOut.err).toMatch(/--json needs --out/);
  });

  it('members import --json: what was published and what the store applied; a second import publishes nothing', async () => {
    const home = join(dir(), 'home');
    const first = await run(['members', 'import', 'fixtures/sample/beneficiaries.csv', '--home', home, '--json']);
    expect(first.code, first.err).toBe(0);
    const a = CLI_OUTPUTS['members import'].parse(JSON.parse(first.out));
    const rows = (await readFile('fixtures/sample/beneficiaries.csv', 'utf8')).trim().split('\n').length - 1;
    expect(a).toMatchObject({ published: rows, alreadyInStore: 0, rejectedRows: 0, store: { applied: rows } });
    const again = CLI_OUTPUTS['members import'].parse(JSON.parse((await run(['members', 'import', 'fixtures/sample/beneficiaries.csv', '--home', home, '--json'])).out));
    expect(again).toMatchObject({ published: 0, alreadyInStore: rows, store: { applied: 0, families: a.store.families } });
  });

  it('run --json without --once is a usage error (watching reports no summary)', async () => {
    const r = await run(['run', '--json', '--home', join(dir(), 'nohome')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--json reports a run: it goes with --once/);
  });

  it('writeJson refuses a document its schema does not describe (a renamed field fails, not a script downstream)', () => {
    const out = new PassThrough();
    const io = { out, err: out };
    expect(() => writeJson(io, 'payments approve', { payee: 'member:A1', paymentId: 'R1:member:A1', endToEndId: 'E', amount: '10.00', approvedBy: 'x', at: '2025-01-01T00:00:00Z' })).toThrow(/by/);
    expect(out.read()).toBeNull();
  });
});
