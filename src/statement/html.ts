import { renderChartSvg } from './chart.js';
import type { Amounts, StatementData } from './data.js';
import { escapeHtml, euros, frenchDate } from './format.js';

/**
 * The statement as one self-contained HTML page: inline CSS, inline SVG chart, no script, no
 * external asset (it is e-mailed, archived and opened offline). Every text from data is escaped.
 */
const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1a202c}
h1{font-size:1.4rem;margin:0 0 .25rem}
p.meta{margin:.1rem 0;color:#4a5568}
table{border-collapse:collapse;margin:1.25rem 0;width:100%;max-width:60rem}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e2e8f0;text-align:left}
th{background:#edf2f7;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
tfoot td{font-weight:700;border-top:2px solid #2d3748}
tr.unpaid td{color:#718096}
span.reason{font-size:.85rem;color:#718096}
.chart text{font-size:12px;fill:#2d3748}
`;

const cells = (a: Amounts) => [a.expense, a.roAmount, a.amcAmount, a.restToPay].map((m) => `<td class="num">${escapeHtml(euros(m, '\u00a0'))}</td>`).join('');

export function renderStatementHtml(data: StatementData): string {
  const rows = data.lines
    .map((l) => {
      const reason = (l.status !== 'paid' && l.reason ? `<br><span class="reason">${escapeHtml(l.reason)}</span>` : '') + (l.regularisation ? `<br><span class="reason">${escapeHtml(l.regularisation)}</span>` : '');
      return `<tr class="${l.status === 'paid' ? 'paid' : 'unpaid'}"><td>${frenchDate(l.careDate)}</td><td>${escapeHtml(l.beneficiary)}</td><td>${escapeHtml(l.actLabel)}${reason}</td>${cells(l)}</tr>`;
    })
    .join('\n');
  const categoryRows = data.byCategory.map((c) => `<tr data-category="${c.category}"><td>${escapeHtml(c.label)}</td><td class="num">${c.lines}</td>${cells(c)}</tr>`).join('\n');
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Historique des remboursements — ${escapeHtml(data.holder)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Historique des remboursements</h1>
<p class="meta">Adhérent : ${escapeHtml(data.holder)} (${escapeHtml(data.adherentId)})</p>
<p class="meta">Soins du ${frenchDate(data.from)} au ${frenchDate(data.to)}</p>
<table id="lines">
<thead><tr><th>Date des soins</th><th>Bénéficiaire</th><th>Nature de l’acte</th><th class="num">Dépense</th><th class="num">Sécurité sociale</th><th class="num">Mutuelle</th><th class="num">Reste à charge</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr id="totals"><td colspan="3">Total (${data.lines.length} acte${data.lines.length > 1 ? 's' : ''})</td>${cells(data.totals)}</tr></tfoot>
</table>
<h2>Dépenses par catégorie de soins</h2>
${renderChartSvg(data.byCategory)}
<table id="categories">
<thead><tr><th>Catégorie</th><th class="num">Actes</th><th class="num">Dépense</th><th class="num">Sécurité sociale</th><th class="num">Mutuelle</th><th class="num">Reste à charge</th></tr></thead>
<tbody>
${categoryRows}
</tbody>
</table>
</body>
</html>
`;
}
