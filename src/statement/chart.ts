import { Decimal } from 'decimal.js';
import { chartScale, type CategoryTotal } from './data.js';
import { escapeHtml, euros } from './format.js';

/**
 * Inline SVG: one horizontal bar per care category, as long as its expense, split into what the
 * Sécurité sociale paid, what the mutuelle paid and the rest to pay. Geometry is computed with
 * decimal.js too (a bar's length is money scaled), rounded to a tenth of a pixel.
 */
export const SEGMENT_COLOURS = { ro: '#2b6cb0', amc: '#2f855a', rest: '#dd6b20' } as const;

const LABEL_W = 170;
const BAR_W = 420;
const ROW_H = 34;
const TOP = 30;

const px = (d: Decimal) => d.toDecimalPlaces(1).toString();
const nonNegative = (m: string) => Decimal.max(0, m);

export function renderChartSvg(categories: readonly CategoryTotal[]): string {
  const scale = chartScale(categories);
  const height = TOP + categories.length * ROW_H + 10;
  const width = LABEL_W + BAR_W + 110;
  const length = (m: string) => (scale.isZero() ? new Decimal(0) : nonNegative(m).div(scale).times(BAR_W));
  const rows = categories.map((c, i) => {
    const y = TOP + i * ROW_H;
    let x = new Decimal(LABEL_W);
    const segments = (['ro', 'amc', 'rest'] as const).map((part) => {
      const value = part === 'ro' ? c.roAmount : part === 'amc' ? c.amcAmount : c.restToPay;
      const w = length(value);
      const title = `${c.label} — ${part === 'ro' ? 'Sécurité sociale' : part === 'amc' ? 'Mutuelle' : 'Reste à charge'} : ${euros(value, '\u00a0')}`;
      const rect = `<rect class="seg-${part}" x="${px(x)}" y="${y}" width="${px(w)}" height="22" fill="${SEGMENT_COLOURS[part]}"><title>${escapeHtml(title)}</title></rect>`;
      x = x.plus(w);
      return rect;
    });
    return [
      `<g class="bar" data-category="${c.category}">`,
      `<text x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(c.label)}</text>`,
      ...segments,
      `<text x="${px(x.plus(6))}" y="${y + 15}">${escapeHtml(euros(c.expense, '\u00a0'))}</text>`,
      '</g>',
    ].join('');
  });
  const legend = (['ro', 'amc', 'rest'] as const)
    .map((part, i) => {
      const x = LABEL_W + i * 150;
      const name = part === 'ro' ? 'Sécurité sociale' : part === 'amc' ? 'Mutuelle' : 'Reste à charge';
      return `<rect x="${x}" y="4" width="12" height="12" fill="${SEGMENT_COLOURS[part]}"/><text x="${x + 18}" y="15">${name}</text>`;
    })
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Dépenses par catégorie de soins">`,
    legend,
    ...rows,
    '</svg>',
  ].join('\n');
}
