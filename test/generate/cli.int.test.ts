import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../support/temp-dir.js';
import { runCli } from './cli-support.js';

/** `noemie fixtures generate` as a user runs it: what it writes, prints and refuses. */
const dir = useTempDir('noemie-fixtures-cli-');

describe('noemie fixtures generate', () => {
  it('writes the drop and its companions and says what it wrote', async () => {
    const r = await runCli([
      'fixtures', 'generate', '--lines', '300', '--seed', '5', '--format', 'zip', '--out', join(dir(), 'a', 'lot.zip'), '--bad', '4',
      '--beneficiaries', join(dir(), 'a', 'beneficiaries.csv'), '--families', '12', '--invoices', '3', '--tp-claims',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/drop +.*lot\.zip +\d+ bytes, 300 lines, \d+ décomptes/);
    expect(r.out).toMatch(/entry +lot-1\.noemie +\d+ lines/);
    expect(r.out).toMatch(/entry +lot-3\.xml +\d+ lines/);
    expect(r.out).toMatch(/population +12 families, \d+ beneficiaries/);
    expect(r.out).toMatch(/beneficiaries +.*beneficiaries\.csv +\d+ rows/);
    expect(r.out).toMatch(/invoices +3 files/);
    expect(r.out).toMatch(/tp claims +.*tp_claims\.csv +\d+ rows/);
    // the expected rejects, one per line, each naming the entry, the record and the field
    const rejects = r.err.split('\n').filter((l) => /^ {2}lot\.zip!lot-\d\.\w+ record \d+: /.test(l));
    expect(rejects).toHaveLength(4);
    expect(r.err).toContain('expected rejects (4):');
    expect((await readdir(join(dir(), 'a'))).sort()).toEqual(
      expect.arrayContaining(['lot.zip', 'beneficiaries.csv', 'tp_claims.csv']),
    );
    expect((await readdir(join(dir(), 'a'))).filter((f) => f.endsWith('.json'))).toHaveLength(3);
    // nothing half-written left behind
    expect((await readdir(join(dir(), 'a'))).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('names the file itself when --out is a directory, and prints JSON with --json', async () => {
    const r = await runCli(['fixtures', 'generate', '--lines', '50', '--seed', '9', '--format', 'csv', '--out', `${join(dir(), 'b')}/`, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as { drop: { path: string; lines: number; bad: unknown[] } };
    expect(summary.drop.path).toBe(join(dir(), 'b', 'drop-9-50.csv'));
    expect(summary.drop.lines).toBe(50);
    expect(summary.drop.bad).toEqual([]);
    expect(r.err).toBe('');
  });

  it.each([
    [['--seed', '1', '--format', 'csv'], '--lines is required'],
    [['--lines', '10', '--format', 'csv'], '--seed is required'],
    [['--lines', '10', '--seed', '1', '--format', 'pdf'], '--format must be one of noemie, csv, xml, zip, got "pdf"'],
    [['--lines', 'ten', '--seed', '1', '--format', 'csv'], '--lines must be a whole number from 1 to 50000000, got "ten"'],
    [['--lines', '10', '--seed', '1', '--format', 'csv', '--bad', '11'], '--bad must be a whole number from 0 to 10, got "11"'],
    [['--lines', '10', '--seed', '1', '--format', 'xml', '--out', 'x.csv'], 'a xml drop must end in .xml'],
    [['--lines', '10', '--seed', '1', '--format', 'csv', '--from', '2025-02-30'], '--from must be a date YYYY-MM-DD, got "2025-02-30"'],
  ])('refuses %j with a usage error', async (args, message) => {
    const r = await runCli(['fixtures', 'generate', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain('usage: noemie fixtures generate');
  });
});
