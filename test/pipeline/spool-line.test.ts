import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCsvRow } from '../../src/ingest/csv/index.js';
import { CSV_COLUMN_NAMES, CSV_COLUMNS, lineKeyOf, type ActLine } from '../../src/model/act-line.js';
import type { Origin } from '../../src/model/issues.js';
import { lineTopicOf } from '../../src/pipeline/keys.js';
import { originOf, spoolLinePrefix, spoolLinePrefixer, type SpoolHead } from '../../src/pipeline/spool-line.js';

/**
 * The spool texts (`spoolLinePrefixer`, written as text, and `spoolLinePrefix`, made by it) are
 * JSON.stringify of the head and origin objects byte for byte (`stringified`, the layout's
 * definition): the bus sink produces them as they are, so a difference would change the
 * `decompte-lines` records.
 */
function stringified(line: ActLine, json: string, origin: Origin): string {
  const bus = originOf(origin);
  const head: SpoolHead = [lineTopicOf(line), line.nir, line.rang, line.amcMemberId, { ...bus, lineKey: lineKeyOf(line) }];
  return `${JSON.stringify(head)}\t{"line":${json},"origin":${JSON.stringify(bus)}`;
}
const GOLDEN = join(import.meta.dirname, '../../fixtures/golden/csv/decomptes.csv');

function goldenLines(): ActLine[] {
  const [header, ...rows] = readFileSync(GOLDEN, 'utf8').split('\n').filter((l) => l !== '');
  const names = header!.split(';');
  const layout = { positions: CSV_COLUMN_NAMES.map((c) => [CSV_COLUMNS[c], names.indexOf(c)] as const), width: names.length };
  const lines: ActLine[] = [];
  rows.forEach((text, i) => {
    const ev = decodeCsvRow(text, { file: 'f.csv', record: i + 2 }, layout);
    if (ev.kind === 'line') lines.push(ev.line);
  });
  return lines;
}

describe('spoolLinePrefixer', () => {
  const lines = goldenLines();
  const wheres = [
    { file: 'drop.csv' },
    { file: 'lot "été"\\2024.zip', entry: 'décomptes/part\t1.csv' },
    { file: 'ADHÉLOÏSE — \u2028.csv', entry: undefined },
  ];

  it('makes JSON.stringify\'s text of the head and origin, for every golden line, with and without a ZIP entry and names that need escaping', () => {
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const where of wheres) {
      const prefix = spoolLinePrefixer(where);
      for (const [i, line] of lines.entries()) {
        for (const record of [2 + i, 1_000_000 + i]) {
          const json = JSON.stringify(line);
          expect(prefix(line, json, record)).toBe(stringified(line, json, { ...where, record }));
          expect(spoolLinePrefix(line, json, { ...where, record })).toBe(stringified(line, json, { ...where, record }));
        }
      }
    }
  });

  it('keys an invoice line and a line without caisse as JSON.stringify of the head does (topic, lineKey)', () => {
    const line = lines[0]!;
    const variants: ActLine[] = [{ ...line, source: 'invoice', caisse: null }, { ...line, caisse: null }, { ...line, amcMemberId: 'A"B\\C' }];
    const prefix = spoolLinePrefixer({ file: 'x.json' });
    for (const v of variants) {
      const json = JSON.stringify(v);
      expect(prefix(v, json, 7)).toBe(stringified(v, json, { file: 'x.json', record: 7 }));
      expect(spoolLinePrefix(v, json, { file: 'x.json', record: 7 })).toBe(stringified(v, json, { file: 'x.json', record: 7 }));
    }
    expect(prefix(variants[0]!, JSON.stringify(variants[0]), 7).startsWith('["invoice-lines",')).toBe(true);
  });
});
