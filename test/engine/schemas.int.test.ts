import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GridSchema } from '../../src/model/grid.js';
import { NOMENCLATURE_BOUND_COLUMNS, NOMENCLATURE_COLUMNS } from '../../src/model/nomenclature.js';
import { SettlementSchema } from '../../src/model/settlement.js';

/**
 * schemas/grid.schema.json and schemas/settlement.schema.json are generated from the zod schemas
 * the code validates with, so they cannot drift (fastify habit). After changing a zod schema:
 *   UPDATE_SCHEMAS=1 npx vitest run test/engine/schemas.int.test.ts
 * The grid schema is then checked against the real grid files with a JSON Schema validator (ajv):
 * what we publish accepts our grids and refuses a misspelt field.
 */
const ROOT = join(import.meta.dirname, '../..');
const SCHEMAS = join(ROOT, 'schemas');

const GENERATED = [
  { file: 'grid.schema.json', title: 'Guarantee grid (fixtures/grids/*.json)', schema: GridSchema, io: 'input', source: 'src/model/grid.ts' },
  { file: 'settlement.schema.json', title: 'Settlement (engine output, formats.md §5)', schema: SettlementSchema, io: 'output', source: 'src/model/settlement.ts' },
] as const;

function document(g: (typeof GENERATED)[number]): string {
  const { description, ...body } = z.toJSONSchema(g.schema, { io: g.io }) as { description?: string; [k: string]: unknown };
  const doc = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: g.file,
    title: g.title,
    description: `GENERATED from ${g.source}, do not edit (test/engine/schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites). See src/engine/README.md. ${description ?? ''}`.trim(),
    ...body,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

describe('generated schemas', () => {
  it.each(GENERATED)('schemas/$file matches its zod schema', async (g) => {
    const expected = document(g);
    const path = join(SCHEMAS, g.file);
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(path, expected);
    expect(await readFile(path, 'utf8')).toBe(expected);
  });

  it('the published grid schema accepts the five fixture grids and refuses a misspelt field', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(await readFile(join(SCHEMAS, 'grid.schema.json'), 'utf8')));
    for (const id of ['CCN-HLA-BASE', 'CCN-HLA-OPT1', 'CCN-HLA-OPT2', 'RELAXEO-F1', 'RELAXEO-F2']) {
      const grid = JSON.parse(await readFile(join(ROOT, 'fixtures/grids', `${id}.json`), 'utf8'));
      expect(validate(grid), `${id}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      grid.rules[0].formula[0].pctNonDPTM = '200';
      expect(validate(grid)).toBe(false);
    }
  });
});

describe('nomenclature.csv layout', () => {
  it('lists the columns the loader requires, in order, and its patterns accept the real table', async () => {
    const doc = JSON.parse(await readFile(join(SCHEMAS, 'nomenclature.csv.schema.json'), 'utf8'));
    expect(doc['x-columns']).toEqual([...NOMENCLATURE_COLUMNS, ...NOMENCLATURE_BOUND_COLUMNS]);
    expect(Object.keys(doc.properties)).toEqual([...NOMENCLATURE_COLUMNS, ...NOMENCLATURE_BOUND_COLUMNS]);
    expect(doc.required).toEqual([...NOMENCLATURE_COLUMNS]);
    const validate = new Ajv2020({ strict: false }).compile(doc);
    const [header, ...rows] = (await readFile(join(ROOT, 'fixtures/nomenclature.csv'), 'utf8')).trim().split('\n').map((l) => l.split(';'));
    for (const cells of rows) {
      const row = Object.fromEntries(header!.map((h, i) => [h, cells[i] ?? '']));
      expect(validate(row), `${row.act_code}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ ...doc.examples[0], attributes: 'price_limit' })).toBe(false);
  });
});
