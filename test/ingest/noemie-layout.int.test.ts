import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENTITY_CODES, LAYOUT, RECORD_LENGTH } from '../../src/ingest/noemie/layout.js';
import { layoutJsonText, layoutRows } from '../../src/ingest/noemie/layout-docs.js';
import { rec } from './noemie-support.js';

const md = readFileSync(new URL('../../schemas/noemie-layout.md', import.meta.url), 'utf8');
const json = readFileSync(new URL('../../schemas/noemie-records.schema.json', import.meta.url), 'utf8');

/** Rows of the table under "### `code`", cells without their backticks. */
function tableOf(code: string): string[][] {
  const section = md.split(/^### /m).find((s) => s.startsWith(`\`${code}\``));
  if (!section) return [];
  return section
    .split(/^## /m)[0]!
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| field '))
    .map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim().replaceAll('`', '')));
}

describe('layout documents agree with src/ingest/noemie/layout.ts', () => {
  it.each(ENTITY_CODES)('schemas/noemie-layout.md table of %s', (code) => {
    expect(tableOf(code)).toEqual(layoutRows(code));
  });

  it('schemas/noemie-records.schema.json is the generated text', () => {
    // regenerate: npm run build && node -e "import('./dist/src/ingest/noemie/layout-docs.js').then(m=>process.stdout.write(m.layoutJsonText()))" > schemas/noemie-records.schema.json
    expect(json).toBe(layoutJsonText());
  });

  it('the fields of every entity fit: contiguous from position 4, "@" right after, inside the record', () => {
    for (const code of ENTITY_CODES) {
      let next = 4;
      for (const f of LAYOUT[code].fields) {
        expect(f.start).toBe(next);
        next += f.length;
      }
      expect(LAYOUT[code].terminatorAt).toBe(next);
      expect(next).toBeLessThanOrEqual(RECORD_LENGTH);
    }
  });

  it('the example 255 of the layout page is what the layout writes', () => {
    const example = /## Example: one `255`\n\n```\n(.*)\n```/.exec(md)?.[1];
    expect(example).toBe(rec.act().trimEnd());
  });
});
