import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAll } from './zip-support.js';

/**
 * Golden fixtures (style.md §8): each input under fixtures/golden/{csv,xml,invoice}/ has a
 * `<name>.expected.json`, written by hand (see the README beside them), of the parts readDrop
 * yields and their events. Compared exactly.
 */
const ROOT = join(import.meta.dirname, '../../fixtures/golden');

for (const format of ['csv', 'xml', 'invoice']) {
  describe(`golden ${format}`, async () => {
    const names = (await readdir(join(ROOT, format))).filter((n) => !n.endsWith('.expected.json') && n !== 'README.md');
    it('has fixtures', () => expect(names.length).toBeGreaterThan(0));
    for (const name of names) {
      it(name, async () => {
        const expected: unknown = JSON.parse(await readFile(join(ROOT, format, `${name}.expected.json`), 'utf8'));
        expect(await readAll(join(ROOT, format, name))).toEqual(expected);
      });
    }
  });
}
