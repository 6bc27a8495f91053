import { describe, expect, it } from 'vitest';
import { MEMBERSHIP_EVENT_TYPES } from '../../src/model/membership.js';
import { euros, regularisationText, renderChartSvg, renderChartSvgDecimal, renderStatementHtml, renderStatementText, statementData, type CategoryTotal } from '../../src/statement/index.js';
import { BENEFICIARIES, DATA, LABELS, SETTLEMENTS } from './given.js';

describe('statement data', () => {
  it('keeps the family’s latest versions in the period, annulled lines out, sorted by care date', () => {
    expect(DATA.lines.map((l) => [l.lineKey, l.careDate, l.beneficiary, l.actLabel])).toEqual([
      ['L1', '2025-01-10', 'Léa Martin', 'Consultation généraliste'],
      ['L2', '2025-02-03', 'Zoé <Martin>', 'Pharmacie 65 %'],
      ['L7', '2025-02-20', 'Léa Martin', 'Ostéopathie'],
      ['L3', '2025-03-15', 'Élodie Martin', 'Monture (classe B)'],
    ]);
    expect(DATA.lines[0]).toMatchObject({ amcAmount: '11.00', restToPay: '0.00' }); // version 2
    expect(DATA.holder).toBe('Élodie Martin');
  });

  it('totals and categories, computed by hand in given.ts', () => {
    expect(DATA.totals).toEqual({ expense: '252.40', roAmount: '27.09', amcAmount: '115.34', restToPay: '109.97' });
    expect(DATA.byCategory.map((c) => [c.category, c.lines, c.expense, c.amcAmount])).toEqual([
      ['ville', 1, '30.00', '11.00'],
      ['pharmacie', 1, '12.40', '4.34'],
      ['optique', 1, '150.00', '100.00'],
      ['autres', 1, '60.00', '0.00'],
    ]);
  });
});

describe('statement text', () => {
  const text = renderStatementText(DATA);
  it('has one row per act, the totals and the categories', () => {
    expect(text).toContain('Historique des remboursements');
    expect(text).toMatch(/10\/01\/2025\s+Léa Martin\s+Consultation généraliste\s+30,00 €\s+19,00 €\s+11,00 €\s+0,00 €/);
    expect(text).toMatch(/Total\s+4 acte\(s\)\s+252,40 €\s+27,09 €\s+115,34 €\s+109,97 €/);
    expect(text).toMatch(/Optique\s+1\s+150,00 €\s+0,03 €\s+100,00 €\s+49,97 €/);
    // the engine's reason (for ops, English) is shown in the member's words, never as it is
    expect(text).not.toContain('yearly count reached');
    expect(text).toMatch(/Ostéopathie :\n\s+- Nombre annuel d’actes remboursés atteint/);
  });
});

describe('statement HTML', () => {
  const html = renderStatementHtml(DATA);
  it('is self-contained: no script, no external asset', () => {
    for (const external of ['<script', '<link', 'src=', 'href=', 'url(', '@import']) expect(html).not.toContain(external);
    expect(html).toContain('<style>');
  });

  it('escapes text from data', () => {
    expect(html).toContain('Zoé &lt;Martin&gt;');
    expect(html).not.toContain('<Martin>');
  });

  it('has the totals row and one chart bar per category', () => {
    expect(html).toMatch(/<tr id="totals"><td colspan="3">Total \(4 actes\)<\/td><td class="num">252,40\u00a0€<\/td><td class="num">27,09\u00a0€<\/td><td class="num">115,34\u00a0€<\/td><td class="num">109,97\u00a0€<\/td><\/tr>/);
    expect(html.match(/<g class="bar"/g)).toHaveLength(4);
  });

  it('draws bars to scale: the largest expense (optique 150.00) spans the 420 px bar', () => {
    const svg = renderChartSvg(DATA.byCategory);
    // ville: RO 19.00 / 150.00 × 420 = 53.2 px, AMC 11.00 / 150 × 420 = 30.8 px, rest 0 px
    expect(svg).toMatch(/data-category="ville".*?class="seg-ro" x="170" y="\d+" width="53.2".*?class="seg-amc" x="223.2" y="\d+" width="30.8".*?class="seg-rest" x="254" y="\d+" width="0"/s);
    // optique: 0.03 → 0.084 → 0.1 px; 100.00 → 280 px; 49.97 → 139.916 → 139.9 px
    expect(svg).toMatch(/data-category="optique".*?width="0.1".*?width="280".*?width="139.9"/s);
  });
});

it('euros: French grouping without floats', () => {
  expect(euros('1234567.89')).toBe('1 234 567,89 €');
  expect(euros('-5.00')).toBe('−5,00 €');
  expect(euros('0.10')).toBe('0,10 €');
});

describe('statement: lines decided again after a membership change', () => {
  // Given L1 (2025-01-10) re-decided after a résiliation back-dated to 2024-12-31: version 3,
  // rejected, nothing paid; the member sees why the line changed.
  const settlements = SETTLEMENTS.map((x) => (x.lineKey === 'L1' && x.version === 2
    ? { ...x, version: 3, status: 'rejected' as const, amcAmount: '0.00', restToPay: '11.00', reason: 'care on 2025-01-10 after the affiliation end 2024-12-31', reliquidation: { eventId: 'ev-1', type: 'affiliation_end', effectiveDate: '2024-12-31' } }
    : x));
  const data = statementData({ adherentId: 'A001', from: '2025-01-01', to: '2025-12-31' }, [...SETTLEMENTS, ...settlements.filter((x) => x.version === 3)], BENEFICIARIES, LABELS);

  it('says "régularisation suite à <event> du <date>" on the line, in text and HTML', () => {
    expect(data.lines.find((l) => l.lineKey === 'L1')).toMatchObject({ status: 'rejected', amcAmount: '0.00', regularisation: 'régularisation suite à résiliation du 31/12/2024' });
    expect(data.lines.filter((l) => l.regularisation !== null)).toHaveLength(1);
    const text = renderStatementText(data);
    expect(text).toContain('Régularisations :\n  10/01/2025 Consultation généraliste: régularisation suite à résiliation du 31/12/2024');
    expect(renderStatementHtml(data)).toContain('<span class="reason">régularisation suite à résiliation du 31/12/2024</span>');
  });

  it('names every membership event type of the feed in French words (the feed\'s own type names, with underscores)', () => {
    // the members feed publishes its event types as MEMBERSHIP_EVENT_TYPES spell them (affiliation_end…)
    expect(regularisationText({ eventId: 'e', type: 'affiliation_end', effectiveDate: '2025-03-01' })).toBe('régularisation suite à résiliation du 01/03/2025');
    expect(regularisationText({ eventId: 'e', type: 'affiliation_start', effectiveDate: '2025-01-01' })).toBe('régularisation suite à adhésion du 01/01/2025');
    expect(regularisationText({ eventId: 'e', type: 'beneficiary_added', effectiveDate: '2025-01-01' })).toBe('régularisation suite à ajout d’un bénéficiaire du 01/01/2025');
    for (const type of MEMBERSHIP_EVENT_TYPES) {
      const text = regularisationText({ eventId: 'e', type, effectiveDate: '2025-01-01' });
      expect(text, type).not.toContain(type.replaceAll('_', ' '));
    }
  });

  it('an event type it has no words for is printed as it is', () => {
    expect(regularisationText({ eventId: 'e', type: 'rib-change', effectiveDate: '2025-02-01' })).toBe('régularisation suite à rib change du 01/02/2025');
  });
});

describe('the chart’s geometry in integer tenths (chart.ts tenthsOf)', () => {
  const category = (id: CategoryTotal['category'], expense: string, roAmount: string, amcAmount: string, restToPay: string): CategoryTotal => ({ category: id, label: id, lines: 1, expense, roAmount, amcAmount, restToPay });
  const money = (cents: number) => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;

  it('draws what the decimal.js geometry draws, on 3 000 generated charts (negative parts, zero scale, large amounts)', () => {
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let k = 0; k < 3000; k++) {
      const size = 1 + next(6);
      const big = next(10) === 0 ? 1_000_000_00 : 100_00;
      const charts = Array.from({ length: size }, (_, i) => {
        const parts = [next(big) - (next(8) === 0 ? next(500) : 0), next(big), next(big)];
        const expense = next(12) === 0 ? 0 : parts.reduce((a, b) => a + Math.max(0, b), 0);
        return category((['ville', 'pharmacie', 'hospitalisation', 'optique', 'dentaire', 'audio', 'autres'] as const)[i]!, money(expense), money(parts[0]!), money(parts[1]!), money(parts[2]!));
      });
      expect(renderChartSvg(charts)).toBe(renderChartSvgDecimal(charts));
    }
  });

  it('a position exactly on a half tenth is left to decimal.js (ties), and a non-Money amount too', () => {
    // 0.01 of 84.00 is 0.05 px exactly (half a tenth): a tie, rounded half up to 0.1 by decimal.js
    const tie = [category('ville', '84.00', '0.01', '83.99', '0.00')];
    expect(renderChartSvg(tie)).toBe(renderChartSvgDecimal(tie));
    expect(renderChartSvg(tie)).toMatch(/class="seg-ro" x="170" y="\d+" width="0.1"/);
    const notMoney = [category('ville', '10', '2.5', '7.50', '0.00')];
    expect(renderChartSvg(notMoney)).toBe(renderChartSvgDecimal(notMoney));
    expect(renderChartSvg(notMoney)).toMatch(/class="seg-ro" x="170" y="\d+" width="105"/);
  });
});
