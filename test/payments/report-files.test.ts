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

/**
 * bigReport(n) with its other long arrays long too: `k` transferred orders, withheld lines, recoveries
 * (each across several chunks of report.json and of the page).
 */
function wideReport(n: number, k: number): RunReport {
  const report = bigReport(n);
  const order = report.transferred.orders[0]!;
  const orders = Array.from({ length: k }, (_, i) => ({ ...order, paymentId: `P${i}`, name: i % 5 === 0 ? `Dupont "le ${i}"\n<b>` : order.name, messageId: i % 3 === 0 ? null : order.messageId }));
  const pending = Array.from({ length: k + 7 }, (_, i) => ({ lineKey: `w:${i}`, reason: `attente « ${i} »` }));
  const reconciliation = Array.from({ length: 3 }, (_, i) => ({ lineKey: `tp:${i}`, kind: 'held', amcAmount: '1.00' }));
  const recoveries = Array.from({ length: k + 1 }, (_, i) => ({ paymentId: `R${i}`, payee: `member:${i}`, amount: '2.00', debtBefore: '5.00', debtAfter: '3.00', lines: i }));
  return {
    ...report,
    transferred: { ...report.transferred, orders },
    withheld: { ...report.withheld, pending, reconciliation },
    recoveries: { ...report.recoveries, items: recoveries },
  };
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

  it('report.json: the transferred orders, the withheld lines and the recoveries come a few at a time too, same bytes', () => {
    const report = wideReport(2501, 1300);
    const chunks = [...reportJsonChunks(report)];
    const whole = `${JSON.stringify(report, null, 2)}\n`;
    expect(chunks.join('')).toBe(whole);
    // no chunk holds one of those arrays whole: a few hundred elements at most
    const most = (pattern: RegExp) => Math.max(...chunks.map((c) => c.match(pattern)?.length ?? 0));
    expect(most(/"paymentId": "P\d+"/g)).toBeLessThanOrEqual(256);
    expect(most(/"lineKey": "w:\d+"/g)).toBeLessThanOrEqual(256);
    expect(most(/"paymentId": "R\d+"/g)).toBeLessThanOrEqual(256);
    // the same report with its settled rows read apart (a streamed run's): the same bytes
    const rows = report.settled.lines;
    const apart = [...reportJsonChunks({ ...report, settled: { ...report.settled, lines: [] } }, () => [rows.slice(0, 1000), rows.slice(1000)])].join('');
    expect(apart).toBe(whole);
  });

  it('report.json streams what JSON.stringify writes for any value: undefined members left out, undefined elements null, toJSON, empty containers', () => {
    const odd = [...Array.from({ length: 600 }, (_, i) => (i % 4 === 0 ? undefined : i % 4 === 1 ? { a: i, b: undefined, c: [i, undefined], d: {} } : i % 4 === 2 ? null : `s${i}\n"`)), new Date(0), () => 1];
    for (const n of [0, 3]) {
      const report = { ...bigReport(n), extra: { odd, none: undefined, fn: () => 1, empty: {}, emptyList: [], gone: { x: undefined }, date: new Date(86_400_000), nested: { deeper: { list: Array.from({ length: 300 }, (_, i) => ({ i })) } } } } as unknown as RunReport;
      expect([...reportJsonChunks(report)].join('')).toBe(`${JSON.stringify(report, null, 2)}\n`);
    }
  });

  it('report.html: the transfers, withheld and recoveries tables are written a few rows at a time, the page the same as rendered whole', () => {
    const report = wideReport(2501, 2600);
    const chunks = [...reportHtmlChunks(report)];
    const html = chunks.join('');
    expect(html).toBe(renderReportHtml(report));
    const rowsOf = (id: string) => new RegExp(`<table id="${id}">\\n<thead>.*?</thead>\\n<tbody>\\n([\\s\\S]*?)\\n</tbody>`).exec(html)![1]!.split(/(?<=<\/tr>)\n/);
    expect(rowsOf('transfers')).toHaveLength(2600);
    expect(rowsOf('withheld')).toHaveLength(2610);
    expect(rowsOf('recoveries')).toHaveLength(2601);
    expect(rowsOf('transfers')[5]).toContain('Dupont &quot;le 5&quot;');
    expect(html).not.toMatch(/-rows\u241f/);
    // none of those tables is one chunk: a thousand rows at most
    const most = (pattern: RegExp) => Math.max(...chunks.map((c) => c.match(pattern)?.length ?? 0));
    expect(most(/<td>P\d+<\/td>/g)).toBeLessThanOrEqual(1000);
    expect(most(/<td>w:\d+<\/td>/g)).toBeLessThanOrEqual(1000);
    expect(most(/<td>R\d+<\/td>/g)).toBeLessThanOrEqual(1000);
    // empty tables keep their `—` row
    const empty = { ...report, transferred: { ...report.transferred, orders: [] }, withheld: { ...report.withheld, pending: [], reconciliation: [] }, recoveries: { ...report.recoveries, items: [] } };
    const emptyHtml = [...reportHtmlChunks(empty)].join('');
    expect(emptyHtml).toBe(renderReportHtml(empty));
    expect(emptyHtml).toContain('<table id="transfers">\n<thead>');
    expect(/<table id="withheld">[\s\S]*?<tr><td colspan="3">—<\/td><\/tr>/.test(emptyHtml)).toBe(true);
  });

  it('writeReportFiles writes those bytes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-files-'));
    const report = bigReport(1234);
    const files = await writeReportFiles(dir, report);
    expect(await readFile(files.json, 'utf8')).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(await readFile(files.html, 'utf8')).toBe(renderReportHtml(report));
  });
});
