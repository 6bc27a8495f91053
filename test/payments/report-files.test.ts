import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/payments/report.js';
import { writeReportFiles } from '../../src/payments/report-files.js';
import { renderReportHtml, reportHtmlChunks, reportJsonChunks } from '../../src/payments/report-render.js';
import { givenR2, reportOf } from './report-given.js';

/**
 * report.json and report.html are written chunk by chunk (a run of a million lines has a million
 * settled rows: hundreds of MB that must never be one string). The chunks must make exactly the
 * bytes the whole document had: JSON.stringify(report, null, 2) for the JSON.
 */

/** R2's report with its settled lines repeated to `n` rows (across several chunks), notes that need escaping included. */
function bigReport(n: number): RunReport {
  const { report } = reportOf(givenR2(), 'R2', '2025-03-31');
  const base = report.settled.lines;
  const lines = Array.from({ length: n }, (_, i) => {
    const l = base[i % base.length]!;
    // a note with a quote, a newline, a tab and accents: escaped inside the JSON string, never re-indented
    return { ...l, lineKey: `n:D${String(i).padStart(6, '0')}:1`, note: i % 7 === 3 ? `ligne « ${i} » "annulée"\nretenue\tpar le TP` : l.note };
  });
  return { ...report, settled: { ...report.settled, lines, count: n } };
}

let dir: string | null = null;
afterEach(async () => {
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('payment-run report files, streamed', () => {
  it('report.json chunks are byte for byte JSON.stringify(report, null, 2) + newline: 2 501 lines, 5 lines, none', () => {
    for (const n of [2501, 5, 0]) {
      const report = bigReport(n);
      const chunks = [...reportJsonChunks(report)];
      expect(chunks.join('')).toBe(`${JSON.stringify(report, null, 2)}\n`);
      // several chunks once the rows do not fit in one: the document is never one string
      if (n === 2501) expect(chunks.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('report.html chunks hold every settled row once, in order, where the whole page had them', () => {
    const report = bigReport(2501);
    const chunks = [...reportHtmlChunks(report)];
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    const html = chunks.join('');
    expect(html).toBe(renderReportHtml(report));
    const settled = /<table id="settled">\n<thead>.*?<\/thead>\n<tbody>\n([\s\S]*?)\n<\/tbody>/.exec(html);
    expect(settled).not.toBeNull();
    // (a note's newline stays in its cell: rows are told apart by their end)
    const rows = settled![1]!.split(/(?<=<\/tr>)\n/);
    expect(rows).toHaveLength(2501);
    rows.forEach((row, i) => expect(row).toContain(`<td>n:D${String(i).padStart(6, '0')}:1</td>`));
    // no trace of the placeholder the rows were written around
    expect(html).not.toContain('settled-rows');
    // the page around the rows is whole: it ends as a page does
    expect(html.endsWith('</body>\n</html>\n')).toBe(true);
  });

  it('a runId that spells the placeholder the rows are written around changes nothing', () => {
    const report = { ...bigReport(3), runId: '\u241fsettled-rows\u241f' };
    expect([...reportJsonChunks(report)].join('')).toBe(`${JSON.stringify(report, null, 2)}\n`);
    const html = [...reportHtmlChunks(report)].join('');
    // the title keeps the runId as it is, the rows are in the settled table
    expect(html).toContain('<title>Rapport du paiement \u241fsettled-rows\u241f</title>');
    const settled = /<table id="settled">\n<thead>.*?<\/thead>\n<tbody>\n([\s\S]*?)\n<\/tbody>/.exec(html)![1]!;
    expect(settled.split(/(?<=<\/tr>)\n/).map((row) => /<td>(n:D\d+:1)<\/td>/.exec(row)?.[1])).toEqual(['n:D000000:1', 'n:D000001:1', 'n:D000002:1']);
  });

  it('writeReportFiles writes those bytes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-files-'));
    const report = bigReport(1234);
    const files = await writeReportFiles(dir, report);
    expect(await readFile(files.json, 'utf8')).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(await readFile(files.html, 'utf8')).toBe(renderReportHtml(report));
  });
});
