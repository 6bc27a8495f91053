import { renderChartSvg } from './chart.js';
import type { Amounts, StatementData } from './data.js';
import type { LinePayment } from './payment.js';
import { escapeHtml, euros, frenchDate } from './format.js';
import { paidWords, waitingWords } from './payment-words.js';

/**
 * The statement as one self-contained HTML page: inline CSS, inline SVG chart, no script, no
 * external asset (it is e-mailed, archived and opened offline), no link or form: it is printed
 * too (print CSS: A4, each section on its own page). Every text from data is escaped.
 */
const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1a202c}
h1{font-size:1.4rem;margin:0 0 .25rem}
p.meta{margin:.1rem 0;color:#4a5568}
table{border-collapse:collapse;margin:1.25rem 0;width:100%;max-width:80rem}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e2e8f0;text-align:left}
th{background:#edf2f7;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
tfoot td{font-weight:700;border-top:2px solid #2d3748}
tr.unpaid td{color:#718096}
span.reason{font-size:.85rem;color:#718096}
td.payment{font-size:.85rem;min-width:16rem}
span.waiting{color:#c05621;font-weight:600}
header.insurer{display:flex;justify-content:space-between;gap:2rem;margin-bottom:1.5rem}
header.insurer address{font-style:normal}
p.registration{font-size:.8rem;color:#4a5568}
.chart text{font-size:12px;fill:#2d3748}
@media print{
@page{size:A4;margin:15mm}
body{margin:0;font-size:9pt;color:#000}
td.payment{min-width:0;width:30%}
section+section{break-before:page;page-break-before:always}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
th{background:none;border-bottom:1px solid #000}
.chart{max-width:100%;height:auto}
}
`;

const cells = (a: Amounts) => [a.expense, a.roAmount, a.amcAmount, a.restToPay].map((m) => `<td class="num">${escapeHtml(euros(m, '\u00a0'))}</td>`).join('');

function paymentCell(payment: LinePayment): string {
  const paid = paidWords(payment, '\u00a0').map(escapeHtml);
  const waiting = waitingWords(payment, '\u00a0').map((w) => `<span class="waiting">${escapeHtml(w)}</span>`);
  return [...paid, ...waiting].join('<br>') || '—';
}

export function renderStatementHtml(data: StatementData): string {
  const rows = data.lines
    .map((l) => {
      const reasons = [...l.memberReasons, ...(l.regularisation ? [l.regularisation] : [])].map((r) => `<br><span class="reason">${escapeHtml(r)}</span>`).join('');
      const payment = l.payment === null ? '' : `<td class="payment">${paymentCell(l.payment)}</td>`;
      return `<tr class="${l.status === 'paid' ? 'paid' : 'unpaid'}"><td>${frenchDate(l.careDate)}</td><td>${escapeHtml(l.beneficiary)}</td><td>${escapeHtml(l.actLabel)}${reasons}</td>${cells(l)}${payment}</tr>`;
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
<section id="acts">
<header class="insurer">
<div><strong id="insurer-name">${escapeHtml(data.insurer.name)}</strong>
<address>${data.insurer.address.map(escapeHtml).join('<br>')}</address>
<p class="registration">${escapeHtml(data.insurer.registration)}</p></div>
${data.issuedOn === null ? '' : `<p class="meta" id="issued">Émis le ${frenchDate(data.issuedOn)}</p>`}
</header>
<h1>Historique des remboursements</h1>
<p class="meta">Adhérent : ${escapeHtml(data.holder)} (${escapeHtml(data.adherentId)})</p>
<p class="meta">Soins du ${frenchDate(data.from)} au ${frenchDate(data.to)}</p>
<table id="lines">
<thead><tr><th>Date des soins</th><th>Bénéficiaire</th><th>Nature de l’acte</th><th class="num">Dépense</th><th class="num">Sécurité sociale</th><th class="num">Mutuelle</th><th class="num">Reste à charge</th>${data.settled === null ? '' : '<th>Paiement</th>'}</tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr id="totals"><td colspan="3">Total (${data.lines.length} acte${data.lines.length > 1 ? 's' : ''})</td>${cells(data.totals)}${data.settled === null ? '' : '<td></td>'}</tr>
${data.settled === null ? '' : `<tr id="paid"><td colspan="5">dont part mutuelle versée</td><td class="num">${escapeHtml(euros(data.settled.paid, '\u00a0'))}</td><td colspan="2"></td></tr>
<tr id="waiting"><td colspan="5">dont part mutuelle en attente</td><td class="num">${escapeHtml(euros(data.settled.waiting, '\u00a0'))}</td><td colspan="2"></td></tr>`}</tfoot>
</table>
</section>
<section id="by-category">
<h2>Dépenses par catégorie de soins</h2>
${renderChartSvg(data.byCategory)}
<table id="categories">
<thead><tr><th>Catégorie</th><th class="num">Actes</th><th class="num">Dépense</th><th class="num">Sécurité sociale</th><th class="num">Mutuelle</th><th class="num">Reste à charge</th></tr></thead>
<tbody>
${categoryRows}
</tbody>
</table>
</section>
</body>
</html>
`;
}
