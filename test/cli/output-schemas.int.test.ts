import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMMANDS } from '../../src/cli/registry.js';
import { CLI_OUTPUTS, outputSchemaFile } from '../../src/cli/output-schemas.js';

/**
 * `--json` on every command (issue 11): each prints one document whose shape is published as
 * schemas/cli/<command>.schema.json, generated from src/cli/output-schemas.ts (fastify habit: the
 * file says "do not edit" and this test diffs it). After changing an output schema:
 *   UPDATE_SCHEMAS=1 npx vitest run test/cli/output-schemas.int.test.ts
 */
const DIR = join(import.meta.dirname, '../../schemas/cli');

function document(name: string, schema: z.ZodType): string {
  const { description, ...body } = z.toJSONSchema(schema, { io: 'input' }) as { description?: string; [k: string]: unknown };
  const file = outputSchemaFile(name);
  return `${JSON.stringify(
    {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `cli/${file}`,
      title: `noemie ${name} --json`,
      description: `GENERATED from src/cli/output-schemas.ts, do not edit (test/cli/output-schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites). ${description ?? ''}`.trim(),
      ...body,
    },
    null,
    2,
  )}\n`;
}

describe('schemas/cli: the --json documents', () => {
  it.each(Object.entries(CLI_OUTPUTS))('schemas/cli for noemie %s matches its zod schema', async (name, schema) => {
    const expected = document(name, schema);
    const path = join(DIR, outputSchemaFile(name));
    if (process.env.UPDATE_SCHEMAS === '1') {
      await mkdir(DIR, { recursive: true });
      await writeFile(path, expected);
    }
    expect(await readFile(path, 'utf8')).toBe(expected);
  });

  it('no stale file: every schemas/cli file is one of a command', async () => {
    expect((await readdir(DIR)).sort()).toEqual(Object.keys(CLI_OUTPUTS).map(outputSchemaFile).sort());
  });

  it('every command of the registry takes --json, says so in its usage, and has a published shape', { timeout: 60_000 }, async () => {
    const problems: string[] = [];
    for (const name of Object.keys(COMMANDS)) {
      const command = await COMMANDS[name]!.load();
      if (!Object.hasOwn(command.flags, 'json')) problems.push(`${name}: no --json flag`);
      if (!Object.hasOwn(CLI_OUTPUTS, name)) problems.push(`${name}: no schema in src/cli/output-schemas.ts`);
      else if (!command.usage.includes(`schemas/cli/${outputSchemaFile(name)}`)) problems.push(`${name}: usage does not name schemas/cli/${outputSchemaFile(name)}`);
    }
    expect(problems).toEqual([]);
  });
});
