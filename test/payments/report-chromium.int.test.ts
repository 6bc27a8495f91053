import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headlessChromium } from '../support/chromium.js';
import { FLOW_COLOURS, renderReportHtml } from '../../src/payments/report-render.js';
import { PS2, givenR2, reportOf } from './report-given.js';

/**
 * The payment-run report opened in a real headless Chromium (as test/statement/statement.int.test.ts
 * does for the statement): the DOM holds the verdict, the blocked payee and its reason, and the
 * painted page shows the flow chart's bars. Figures: report-given.ts (141.55 settled, 19.00
 * transferred, 120.00 held, 12.00 blocked, 9.45 recovered).
 */
let dir: string;
let page: string;

const chromium = (args: string[]) => headlessChromium(dir, args);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-report-'));
  const file = join(dir, 'report.html');
  await writeFile(file, renderReportHtml(reportOf(givenR2(), 'R2', '2025-03-31').report));
  page = pathToFileURL(file).href;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('payment-run report in headless Chromium', () => {
  it('the DOM holds the verdict, the blocked payee with its reason, and the six bars', async () => {
    const dom = (await chromium(['--dump-dom', page])).replaceAll('&nbsp;', ' ').replaceAll('\u00a0', ' ');
    expect(dom).toContain('Rapprochement au centime : vérifié.');
    const blocked = /<table id="blocked">.*?<tbody>(.*?)<\/tbody>/s.exec(dom)?.[1] ?? '';
    expect(blocked).toContain(`ps:${PS2}`);
    expect(blocked).toContain('no account known');
    expect(blocked).toContain('12,00 €');
    expect(dom.match(/<g class="bar" data-flow="[a-z]+">/g)).toHaveLength(6);
  });

  it('the painted page shows the bars: held, transferred and blocked colours on screen', async () => {
    const shot = join(dir, 'report.png');
    await chromium(['--window-size=1000,1100', `--screenshot=${shot}`, page]);
    const png = PNG.sync.read(await readFile(shot));
    const counts = new Map<string, number>();
    for (let i = 0; i < png.data.length; i += 4) {
      const hex = `#${[png.data[i], png.data[i + 1], png.data[i + 2]].map((v) => v!.toString(16).padStart(2, '0')).join('')}`;
      counts.set(hex, (counts.get(hex) ?? 0) + 1);
    }
    // bars 20 px high, 420 px for the largest (141.55): held 120.00 → 356.1 px × 20 ≈ 7 120 px;
    // transferred 19.00 → 56.4 px × 20 ≈ 1 127 px; blocked 12.00 → 35.6 px × 20 ≈ 712 px
    expect(counts.get(FLOW_COLOURS.held) ?? 0).toBeGreaterThan(7000);
    expect(counts.get(FLOW_COLOURS.transferred) ?? 0).toBeGreaterThan(1050);
    expect(counts.get(FLOW_COLOURS.blocked) ?? 0).toBeGreaterThan(650);
  });
});
