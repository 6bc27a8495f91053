import type { StatementData } from './data.js';
import { euros, frenchDate } from './format.js';
import { paidWords, waitingWords } from './payment-words.js';

/**
 * The statement as plain text (terminal, e-mail): who issues it and when, one row per act, totals
 * (the mutuelle's part split into paid and waiting when the payments are known), the sums per care
 * category, then per act who was paid and when, what waits and why, in the member's words.
 * Columns are padded by character count, amounts right-aligned.
 */
const COLUMNS = ['Date soins', 'Bénéficiaire', 'Acte', 'Dépense', 'Sécurité sociale', 'Mutuelle', 'Reste à charge'] as const;

/** Characters (code points) of a cell: its UTF-16 length unless it holds a surrogate pair. */
const SURROGATE = /[\uD800-\uDFFF]/;
const charCount = (cell: string) => (SURROGATE.test(cell) ? [...cell].length : cell.length);

function table(rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  // each cell's width counted once (for the columns' widths and for its padding)
  const counts = rows.map((r) => r.map(charCount));
  const widths = rows[0]!.map((_, i) => counts.reduce((w, c) => Math.max(w, c[i] ?? 0), 0));
  return rows.map((r, j) =>
    r
      .map((cell, i) => {
        const fill = ' '.repeat(widths[i]! - counts[j]![i]!);
        return rightAligned.has(i) ? fill + cell : cell + fill;
      })
      .join('  ')
      .trimEnd(),
  );
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
  const rule = '-'.repeat(main.reduce((w, l) => Math.max(w, charCount(l)), 0));
  const categories = table(
    [['Catégorie', 'Actes', 'Dépense', 'Sécurité sociale', 'Mutuelle', 'Reste à charge'], ...data.byCategory.map((c) => [c.label, String(c.lines), ...amounts(c)])],
    new Set([1, 2, 3, 4, 5]),
  );
  const settled = data.settled === null ? [] : [`Part mutuelle versée : ${euros(data.settled.paid)}`, `Part mutuelle en attente : ${euros(data.settled.waiting)}`];
  const details = data.lines.flatMap((l) => {
    const words = [...(l.payment ? [...paidWords(l.payment), ...waitingWords(l.payment)] : []), ...l.memberReasons];
    return words.length === 0 ? [] : [`  ${frenchDate(l.careDate)} ${l.actLabel} :`, ...words.map((w) => `    - ${w}`)];
  });
  const regularisations = data.lines.filter((l) => l.regularisation !== null).map((l) => `  ${frenchDate(l.careDate)} ${l.actLabel}: ${l.regularisation}`);
  return [
    data.insurer.name,
    ...data.insurer.address,
    data.insurer.registration,
    '',
    'Historique des remboursements',
    `Adhérent : ${data.holder} (${data.adherentId})`,
    `Soins du ${frenchDate(data.from)} au ${frenchDate(data.to)}`,
    ...(data.issuedOn === null ? [] : [`Émis le ${frenchDate(data.issuedOn)}`]),
    '',
    main[0]!,
    rule,
    ...main.slice(1, -1),
    rule,
    main[main.length - 1]!,
    ...settled,
    '',
    'Dépenses par catégorie de soins',
    ...categories,
    ...(details.length > 0 ? ['', 'Détail des paiements et des montants :', ...details] : []),
    ...(regularisations.length > 0 ? ['', 'Régularisations :', ...regularisations] : []),
    '',
  ].join('\n');
}
