/** Member statement ("historique des remboursements", seed 001): data, text and HTML renderings. Pure. */
export { statementData, chartScale, regularisationText, type StatementData, type StatementLine, type StatementRequest, type StatementSettlement, type CategoryTotal, type Amounts } from './data.js';
export { renderStatementText } from './text.js';
export { renderStatementHtml } from './html.js';
export { renderChartSvg, SEGMENT_COLOURS } from './chart.js';
export { CATEGORIES, categoryOf, type CategoryId } from './categories.js';
export { euros, frenchDate } from './format.js';
