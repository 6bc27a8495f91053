import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { RunReportSchema } from '../../src/payments/report.js';

/** schemas/payment-run-report.schema.json is generated from RunReportSchema (UPDATE_SCHEMAS=1 rewrites it). */
const FILE = join(import.meta.dirname, '../../schemas/payment-run-report.schema.json');

it('schemas/payment-run-report.schema.json matches its zod schema', async () => {
  const { description, title, ...body } = z.toJSONSchema(RunReportSchema, { io: 'output' }) as { description?: string; title?: string; [k: string]: unknown };
  const expected = `${JSON.stringify(
    {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'payment-run-report.schema.json',
      title,
      description: `GENERATED from src/payments/report.ts (RunReportSchema), do not edit (test/payments/report-schema.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites). ${description ?? ''}`.trim(),
      ...body,
    },
    null,
    2,
  )}\n`;
  if (process.env.UPDATE_SCHEMAS === '1') await writeFile(FILE, expected);
  expect(await readFile(FILE, 'utf8')).toBe(expected);
});
