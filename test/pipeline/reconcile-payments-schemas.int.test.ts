import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { CounterChangelogSchema } from '../../src/bus/messages.js';
import { ProfessionalRowSchema } from '../../src/pipeline/professionals.js';

/** The JSON Schemas of the files and topic this stage adds, generated from zod (UPDATE_SCHEMAS=1 rewrites). */
const SCHEMAS = join(import.meta.dirname, '../../schemas');

const GENERATED = [
  {
    file: 'topics/reconcile-changelog.schema.json',
    schema: CounterChangelogSchema,
    source: 'src/bus/messages.ts (CounterChangelogSchema), written by src/pipeline/reconcile-service.ts',
    extra: { 'x-value': 'key (the record\'s): NIR-rang#L#lineKey or NIR-rang#C#tpClaimId; value: the entry record [3, w, tuple, undo], the last of a write [3, w, tuple, undo, seq] (src/reconcile/entry-codec.ts), as JSON in the record since session 16, as a string holding it with the key in the value before; null: removed. Still read: a whole state keyed NIR-rang of layouts 1-2 (the compact form [2, seq, [line tuple…], [claim tuple…]], src/reconcile/state-codec.ts, or the whole object, ReconStateSchema)' },
  },
  {
    file: 'professionals.csv.schema.json',
    schema: ProfessionalRowSchema,
    source: 'src/pipeline/professionals.ts',
    extra: { 'x-format': 'csv', 'x-encoding': 'UTF-8', 'x-delimiter': ';', 'x-header': true, 'x-columns': ['ps_id', 'name', 'iban', 'bic'] },
  },
] as const;

function document(g: (typeof GENERATED)[number]): string {
  const { description, title, ...body } = z.toJSONSchema(g.schema, { io: 'output' }) as { description?: string; title?: string; [k: string]: unknown };
  return `${JSON.stringify(
    {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: g.file.replace('topics/', ''),
      title,
      description: `GENERATED from ${g.source}, do not edit (test/pipeline/reconcile-payments-schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites). ${description ?? ''}`.trim(),
      ...g.extra,
      ...body,
    },
    null,
    2,
  )}\n`;
}

describe('pipeline schemas', () => {
  it.each(GENERATED)('schemas/$file matches its zod schema', async (g) => {
    const expected = document(g);
    const path = join(SCHEMAS, g.file);
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(path, expected);
    expect(await readFile(path, 'utf8')).toBe(expected);
  });
});
