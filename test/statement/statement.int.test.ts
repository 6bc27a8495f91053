import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headlessChromium } from '../support/chromium.js';
import { renderStatementHtml, SEGMENT_COLOURS } from '../../src/statement/index.js';
import { DATA } from './given.js';

/**
 * The HTML statement opened in a real headless Chromium (Debian `chromium`, installed by
 * scripts/setup.sh): the DOM Chromium builds holds the totals and the chart, and the screenshot it
 * paints shows the chart's three colours. Totals are the hand computation of given.ts.
 */
let dir: string;
let page: string;

const chromium = (args: string[]) => headlessChromium(dir, args);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'statement-'));
  const file = join(dir, 'statement.html');
  await writeFile(file, renderStatementHtml(DATA));
  page = pathToFileURL(file).href;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('HTML statement in headless Chromium', () => {
  it('the DOM Chromium builds holds every line, the totals and the chart', async () => {
    const dom = (await chromium(['--dump-dom', page])).replaceAll('&nbsp;', ' ').replaceAll('\u00a0', ' ');
    const totals = /<tr id="totals">(.*?)<\/tr>/s.exec(dom)?.[1] ?? '';
    // 252.40 = 30.00 + 12.40 + 60.00 + 150.00; 27.09, 115.34, 109.97 (given.ts)
    expect(totals).toContain('Total (4 actes)');
    for (const amount of ['252,40 €', '27,09 €', '115,34 €', '109,97 €']) expect(totals).toContain(amount);
    const body = /<table id="lines">.*?<tbody>(.*?)<\/tbody>/s.exec(dom)?.[1] ?? '';
    expect(body.match(/<tr /g)).toHaveLength(4);
    expect(dom).toMatch(/<svg[^>]*class="chart"/);
    expect(dom.match(/<g class="bar" data-category="[a-z]+">/g)).toHaveLength(4);
    expect(dom.match(/<rect class="seg-(ro|amc|rest)"/g)).toHaveLength(12);
  });

  it('the painted page shows the chart: RO, AMC and rest-to-pay colours on screen', async () => {
    const shot = join(dir, 'statement.png');
    await chromium(['--window-size=1000,1100', `--screenshot=${shot}`, page]);
    const png = PNG.sync.read(await readFile(shot));
    const counts = new Map<string, number>();
    for (let i = 0; i < png.data.length; i += 4) {
      const hex = `#${[png.data[i], png.data[i + 1], png.data[i + 2]].map((v) => v!.toString(16).padStart(2, '0')).join('')}`;
      counts.set(hex, (counts.get(hex) ?? 0) + 1);
    }
    // bars are 22 px high: optique's AMC segment alone is 280 × 22 = 6 160 px; RO (ville 53.2 + pharmacie
    // 22.6 px wide, legend 12 × 12) and rest (optique 139.9 + autres 168 px wide) are over 1 000 px each
    expect(counts.get(SEGMENT_COLOURS.amc) ?? 0).toBeGreaterThan(6000);
    expect(counts.get(SEGMENT_COLOURS.ro) ?? 0).toBeGreaterThan(1000);
    expect(counts.get(SEGMENT_COLOURS.rest) ?? 0).toBeGreaterThan(1000);
  });
});
