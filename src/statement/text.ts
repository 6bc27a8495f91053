import type { StatementData } from './data.js';
import { euros, frenchDate } from './format.js';

/**
 * The statement as plain text (terminal, e-mail): one row per act, totals, then the sums per care
 * category. Columns are padded by character count, amounts right-aligned.
 */
const COLUMNS = ['Date soins', 'Bénéficiaire', 'Acte', 'Dépense', 'Sécurité sociale', 'Mutuelle', 'Reste à charge'] as const;

function table(rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (cell: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - [...cell].length);
    return rightAligned.has(i) ? fill + cell : cell + fill;
  };
  return rows.map((r) => r.map(pad).join('  ').trimEnd());
}

export function renderStatementText(data: StatementData): string {
  const amounts = (a: { expense: string; roAmount: string; amcAmount: string; restToPay: string }) => [euros(a.expense), euros(a.roAmount), euros(a.amcAmount), euros(a.restToPay)];
  const rows = [
    [...COLUMNS],
    ...data.lines.map((l) => [frenchDate(l.careDate), l.beneficiary, l.actLabel, ...amounts(l)]),
    ['Total', '', `${data.lines.length} acte(s)`, ...amounts(data.totals)],
  ];
  const right = new Set([3, 4, 5, 6]);
  const main = table(rows, right);
  const rule = '-'.repeat(Math.max(...main.map((l) => [...l].length)));
  const categories = table(
    [['Catégorie', 'Actes', 'Dépense', 'Sécurité sociale', 'Mutuelle', 'Reste à charge'], ...data.byCategory.map((c) => [c.label, String(c.lines), ...amounts(c)])],
    new Set([1, 2, 3, 4, 5]),
  );
  const notes = data.lines.filter((l) => l.reason !== null && l.status !== 'paid').map((l) => `  ${frenchDate(l.careDate)} ${l.actLabel}: ${l.reason}`);
  const regularisations = data.lines.filter((l) => l.regularisation !== null).map((l) => `  ${frenchDate(l.careDate)} ${l.actLabel}: ${l.regularisation}`);
  return [
    'Historique des remboursements',
    `Adhérent : ${data.holder} (${data.adherentId})`,
    `Soins du ${frenchDate(data.from)} au ${frenchDate(data.to)}`,
    '',
    main[0]!,
    rule,
    ...main.slice(1, -1),
    rule,
    main[main.length - 1]!,
    '',
    'Dépenses par catégorie de soins',
    ...categories,
    ...(notes.length > 0 ? ['', 'Actes non remboursés ou en cours :', ...notes] : []),
    ...(regularisations.length > 0 ? ['', 'Régularisations :', ...regularisations] : []),
    '',
  ].join('\n');
}
