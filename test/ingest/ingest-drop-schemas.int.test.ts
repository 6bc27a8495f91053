import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { QuarantineReportSchema } from '../../src/ingest/inbox/report.js';
import { IngestSummarySchema } from '../../src/ingest/summary.js';
import { BENEFICIARY_COLUMNS } from '../../src/ingest/reference/beneficiaries.js';
import { PMSS_TABLE } from '../../src/ingest/reference/pmss.js';
import { CSV_COLUMN_NAMES, CSV_OPTIONAL_COLUMN_NAMES, FINESS_PATTERN } from '../../src/model/act-line.js';

/**
 * The JSON Schemas of what ingestion writes are generated from the zod schemas the code uses, so
 * they cannot drift (fastify habit). After changing a zod schema:
 *   UPDATE_SCHEMAS=1 npx vitest run test/ingest/ingest-drop-schemas.int.test.ts
 */
const SCHEMAS = join(import.meta.dirname, '../../schemas');

const GENERATED = [
  { file: 'quarantine-report.schema.json', title: 'Quarantine report', schema: QuarantineReportSchema, source: 'src/ingest/inbox/report.ts' },
  { file: 'ingest-summary.schema.json', title: 'noemie ingest --json summary', schema: IngestSummarySchema, source: 'src/ingest/summary.ts' },
];

function document(g: (typeof GENERATED)[number]): string {
  const { description, ...body } = z.toJSONSchema(g.schema) as { description?: string; [k: string]: unknown };
  const doc = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: g.file,
    title: g.title,
    description: `GENERATED from ${g.source}, do not edit (test/ingest/ingest-drop-schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites). ${description ?? ''}`.trim(),
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
});

describe('reference CSV layouts', () => {
  it.each([
    ['beneficiaries.csv.schema.json', [...BENEFICIARY_COLUMNS]],
    ['pmss.csv.schema.json', [...PMSS_TABLE.columns]],
  ])('schemas/%s lists the columns the loader requires, in order', async (file, columns) => {
    const doc = JSON.parse(await readFile(join(SCHEMAS, file), 'utf8'));
    expect(doc['x-columns']).toEqual(columns);
    expect(Object.keys(doc.properties)).toEqual(columns);
    expect(doc.required).toEqual(columns);
  });

  it('the beneficiaries row patterns accept the documented example and refuse a bad NIR', async () => {
    const doc = JSON.parse(await readFile(join(SCHEMAS, 'beneficiaries.csv.schema.json'), 'utf8'));
    const example = doc.examples[0] as Record<string, string>;
    for (const [column, spec] of Object.entries(doc.properties as Record<string, { pattern?: string }>)) {
      if (spec.pattern) expect(new RegExp(spec.pattern).test(example[column] ?? ''), column).toBe(true);
    }
    expect(new RegExp(doc.properties.nir.pattern).test('18503751234')).toBe(false);
  });

  it('schemas/decompte-lines.csv.schema.json lists the required and optional columns the codec reads; its finess pattern is the model\'s', async () => {
    const doc = JSON.parse(await readFile(join(SCHEMAS, 'decompte-lines.csv.schema.json'), 'utf8'));
    expect(doc['x-columns']).toEqual(CSV_COLUMN_NAMES);
    expect(doc.required).toEqual(CSV_COLUMN_NAMES);
    expect(doc['x-optionalColumns']).toEqual(CSV_OPTIONAL_COLUMN_NAMES);
    expect(Object.keys(doc.properties)).toEqual([...CSV_COLUMN_NAMES, ...CSV_OPTIONAL_COLUMN_NAMES]);
    const pattern = new RegExp(doc.properties.finess.pattern);
    for (const value of ['750300360', '2A0000014', '2B0000020', '75030036X', '2C0000020', '75030036', '7503003600']) {
      expect(pattern.test(value), value).toBe(FINESS_PATTERN.test(value));
    }
    expect(pattern.test('')).toBe(true); // an empty cell: no FINESS
    // the XSD's attribute pattern (implicitly anchored) agrees too
    const xsd = await readFile(join(SCHEMAS, 'decomptes.xsd'), 'utf8');
    const xsdPattern = /<xs:attribute name="finess">.*?<xs:pattern value="([^"]+)"/.exec(xsd)?.[1];
    expect(xsdPattern).toBeDefined();
    for (const value of ['750300360', '2A0000014', '75030036X', '2C0000020', '']) expect(new RegExp(`^${xsdPattern!}$`).test(value), value).toBe(value === '' || FINESS_PATTERN.test(value));
  });
});
