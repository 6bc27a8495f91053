import { Decimal } from 'decimal.js';
import { chartScale, type CategoryTotal } from './data.js';
import { centsOf } from '../model/cents.js';
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

/**
 * The chart's x positions and widths in tenths of a pixel, exactly as the decimal.js geometry
 * below rounds them, from integer cents — or null when that cannot be promised (an amount that is
 * not Money, numbers beyond safe integers, a value exactly on a rounding tie, where decimal.js's
 * 20 significant digits decide), and the decimal.js path draws the chart.
 *
 * Why it is the same: with v the non-negative cents of a segment and s the scale's cents, a
 * position is (LABEL_W·s + BAR_W·Σv) / s pixels, a width BAR_W·v / s; decimal.js computes them to
 * 20 significant digits (an error below 10^-15 tenth here), then rounds half up to a tenth. The
 * exact value is a fraction of denominator s whose distance to a half tenth is a multiple of
 * 1/(2s) — at least 5·10^-13 tenth while s < 10^12 cents — unless it is a tie: away from ties
 * both round the same way. `euros` and the labels do not depend on this.
 */
interface Tenths { x: number[][]; w: number[][]; end: number[] }
const PARTS = ['ro', 'amc', 'rest'] as const;
const MAX_SCALE_CENTS = 1e12;

function tenthsOf(categories: readonly CategoryTotal[]): Tenths | null {
  const values: number[][] = [];
  let scale = 0;
  for (const c of categories) {
    const expense = centsOf(c.expense);
    const parts = [centsOf(c.roAmount), centsOf(c.amcAmount), centsOf(c.restToPay)];
    if (expense === null || parts.some((p) => p === null)) return null;
    scale = Math.max(scale, expense);
    values.push(parts.map((p) => Math.max(0, p!)));
  }
  if (scale > MAX_SCALE_CENTS) return null;
  // tenths of n / s, rounded half up; null on an exact tie or beyond safe integers
  const round = (n: number): number | null => {
    if (!Number.isSafeInteger(n)) return null;
    let q = Math.floor(n / scale);
    let r = n - q * scale;
    // the float quotient may be one off next to an integer: the remainder says which side
    if (r < 0) {
      q -= 1;
      r += scale;
    } else if (r >= scale) {
      q += 1;
      r -= scale;
    }
    return 2 * r === scale ? null : 2 * r > scale ? q + 1 : q;
  };
  const out: Tenths = { x: [], w: [], end: [] };
  for (const parts of values) {
    const xs: number[] = [];
    const ws: number[] = [];
    let sum = 0;
    for (const v of parts) {
      // scale 0: every length is 0 (the decimal.js path's isZero)
      const x = scale === 0 ? LABEL_W * 10 : round(10 * (LABEL_W * scale + BAR_W * sum));
      const w = scale === 0 ? 0 : round(10 * BAR_W * v);
      if (x === null || w === null) return null;
      xs.push(x);
      ws.push(w);
      sum += v;
    }
    const end = scale === 0 ? (LABEL_W + 6) * 10 : round(10 * ((LABEL_W + 6) * scale + BAR_W * sum));
    if (end === null) return null;
    out.x.push(xs);
    out.w.push(ws);
    out.end.push(end);
  }
  return out;
}

/** Tenths of a pixel as decimal.js prints a number rounded to one place: "140", "12.5", "0". */
const tenthsText = (t: number) => (t % 10 === 0 ? String(t / 10) : `${(t - (t % 10)) / 10}.${t % 10}`);

export function renderChartSvg(categories: readonly CategoryTotal[]): string {
  const tenths = tenthsOf(categories);
  return tenths === null ? renderChartSvgDecimal(categories) : renderChart(categories, (i, part) => tenthsText(tenths.x[i]![part]!), (i, part) => tenthsText(tenths.w[i]![part]!), (i) => tenthsText(tenths.end[i]!));
}

/** The chart with decimal.js geometry (the reference; the integer path draws the same when it can). */
export function renderChartSvgDecimal(categories: readonly CategoryTotal[]): string {
  const scale = chartScale(categories);
  const length = (m: string) => (scale.isZero() ? new Decimal(0) : nonNegative(m).div(scale).times(BAR_W));
  const geometry = categories.map((c) => {
    let x = new Decimal(LABEL_W);
    const xs: string[] = [];
    const ws: string[] = [];
    for (const part of PARTS) {
      const w = length(part === 'ro' ? c.roAmount : part === 'amc' ? c.amcAmount : c.restToPay);
      xs.push(px(x));
      ws.push(px(w));
      x = x.plus(w);
    }
    return { xs, ws, end: px(x.plus(6)) };
  });
  return renderChart(categories, (i, part) => geometry[i]!.xs[part]!, (i, part) => geometry[i]!.ws[part]!, (i) => geometry[i]!.end);
}

function renderChart(categories: readonly CategoryTotal[], xOf: (i: number, part: number) => string, widthOf: (i: number, part: number) => string, endOf: (i: number) => string): string {
  const height = TOP + categories.length * ROW_H + 10;
  const width = LABEL_W + BAR_W + 110;
  const rows = categories.map((c, i) => {
    const y = TOP + i * ROW_H;
    const segments = PARTS.map((part, p) => {
      const value = part === 'ro' ? c.roAmount : part === 'amc' ? c.amcAmount : c.restToPay;
      const title = `${c.label} — ${part === 'ro' ? 'Sécurité sociale' : part === 'amc' ? 'Mutuelle' : 'Reste à charge'} : ${euros(value, '\u00a0')}`;
      return `<rect class="seg-${part}" x="${xOf(i, p)}" y="${y}" width="${widthOf(i, p)}" height="22" fill="${SEGMENT_COLOURS[part]}"><title>${escapeHtml(title)}</title></rect>`;
    });
    return [
      `<g class="bar" data-category="${c.category}">`,
      `<text x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(c.label)}</text>`,
      ...segments,
      `<text x="${endOf(i)}" y="${y + 15}">${escapeHtml(euros(c.expense, '\u00a0'))}</text>`,
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
