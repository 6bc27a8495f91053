import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReferenceDataError } from '../../src/ingest/reference/csv-table.js';
import { loadGrids } from '../../src/ingest/reference/grids.js';
import { loadNomenclature, unmappedPostes } from '../../src/ingest/reference/nomenclature.js';

/** Grid and nomenclature loaders on real files: the fixtures load; bad files are refused with file, rule/line and field. */

const ROOT = join(import.meta.dirname, '../..');
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'noemie-grids-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function caught(p: Promise<unknown>): Promise<ReferenceDataError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ReferenceDataError) return e;
    throw e;
  }
  throw new Error('expected a ReferenceDataError');
}

describe('fixtures', () => {
  it('the five grids and the nomenclature load, and every grid poste has act codes', async () => {
    const grids = await loadGrids(join(ROOT, 'fixtures/grids'));
    expect(Object.keys(grids).sort()).toEqual(['CCN-HLA-BASE', 'CCN-HLA-OPT1', 'CCN-HLA-OPT2', 'RELAXEO-F1', 'RELAXEO-F2']);
    const nomenclature = await loadNomenclature(join(ROOT, 'fixtures/nomenclature.csv'));
    expect(nomenclature.G?.poste).toBe('soins.generalistes');
    expect(nomenclature['2355001']?.attributes).toEqual({ hearing_class: 'I', price_limit: '950.00' });
    expect(unmappedPostes(grids, nomenclature)).toEqual([]);
  });

  it('every poste of the nomenclature has a rule in each CCN level (the table covers them all)', async () => {
    const grids = await loadGrids(join(ROOT, 'fixtures/grids'));
    const nomenclature = await loadNomenclature(join(ROOT, 'fixtures/nomenclature.csv'));
    const postes = new Set(Object.values(nomenclature).flatMap((e) => [e.poste, ...(e.hospitalPoste ? [e.hospitalPoste] : [])]));
    for (const id of ['CCN-HLA-BASE', 'CCN-HLA-OPT1', 'CCN-HLA-OPT2']) {
      const covered = new Set(grids[id]!.rules.map((r) => r.poste));
      expect([...postes].filter((p) => !covered.has(p)), id).toEqual([]);
    }
  });
});

describe('bad grids', () => {
  it('names the file, the rule (number and id) and the field of every issue', async () => {
    const base = JSON.parse(await readFile(join(ROOT, 'fixtures/grids/CCN-HLA-BASE.json'), 'utf8'));
    base.rules[13].formula[0].pct = '22O';
    base.rules[20].effective.from = '2022-13-01';
    const sub = join(dir, 'bad');
    await rm(sub, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    await writeFile(join(sub, 'CCN-HLA-BASE.json'), JSON.stringify(base));
    const e = await caught(loadGrids(sub));
    expect(e.code).toBe('REFERENCE_INVALID');
    expect(e.message).toContain(`CCN-HLA-BASE.json rule 14 (${base.rules[13].id}), field formula.0.pct: expected a decimal number, e.g. "70" or "1.5" (value "22O")`);
    expect(e.message).toContain(`CCN-HLA-BASE.json rule 21 (${base.rules[20].id}), field effective.from:`);
    expect(e.context).toMatchObject({ record: 14, field: 'rules.13.formula.0.pct' });
    expect(e.rejected).toHaveLength(2);
  });

  it('refuses a misspelt field, a file named after another grid, invalid JSON, and a repeated rule id', async () => {
    const base = JSON.parse(await readFile(join(ROOT, 'fixtures/grids/CCN-HLA-BASE.json'), 'utf8'));
    const write = async (name: string, body: string) => { const sub = join(dir, name.replace('.json', '')); await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true })); await writeFile(join(sub, name), body); return sub; };
    const typo = structuredClone(base);
    typo.rules[0].limit = [];
    expect((await caught(loadGrids(await write('CCN-HLA-BASE.json', JSON.stringify(typo))))).message).toContain('rule 1 (hospi.sejour_conventionne): Unrecognized key: "limit"');
    expect((await caught(loadGrids(await write('OTHER.json', JSON.stringify(base))))).message).toContain('grid CCN-HLA-BASE must be in a file named CCN-HLA-BASE.json');
    expect((await caught(loadGrids(await write('BROKEN.json', '{"id": ')))).message).toContain('not valid JSON');
    const twice = structuredClone(base);
    twice.rules[1].id = twice.rules[0].id;
    expect((await caught(loadGrids(await write('CCN-HLA-BASE.json', JSON.stringify(twice))))).message).toContain('rule 2 (hospi.sejour_conventionne), field id: rule id hospi.sejour_conventionne already used by rule 0');
  });
});

describe('bad nomenclature', () => {
  it('names the line and column; refuses a repeated act code', async () => {
    const file = join(dir, 'nomenclature.csv');
    await writeFile(file, [
      'act_code;label;poste;hospital_poste;ro_reimbursed;ro_rate;unit;attributes',
      'G;Consultation;soins.generalistes;hospi.honoraires_autres;Y;70;act;',
      'X;Bad;Soins Generalistes;;O;70;act;price_limit=12',
      'G;Again;soins.generalistes;;Y;70;act;',
    ].join('\n'));
    const e = await caught(loadNomenclature(file));
    expect(e.message).toContain('line 3, field poste: a poste id is dotted lower_snake_case');
    expect(e.message).toContain('line 3, field ro_reimbursed');
    expect(e.message).toContain('line 3, field attributes.price_limit: price_limit is an amount with two decimals');
    expect(e.message).toContain('line 4, field act_code: act code G already mapped on line 2');
  });
});

describe('engine purity', () => {
  it('src/engine imports only src/model, decimal.js, zod and itself', async () => {
    const engineDir = join(ROOT, 'src/engine');
    for (const name of (await readdir(engineDir)).filter((n) => n.endsWith('.ts'))) {
      const text = await readFile(join(engineDir, name), 'utf8');
      for (const [, spec] of text.matchAll(/from '([^']+)'/g)) {
        expect(spec === 'decimal.js' || spec === 'zod' || spec!.startsWith('./') || spec!.startsWith('../model/'), `${name} imports ${spec}`).toBe(true);
      }
      expect(text, name).not.toMatch(/\b(Date\.now|new Date\(\)|Math\.random|process\.|globalThis)/);
    }
  });
});
