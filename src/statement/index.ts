/** Member statement ("historique des remboursements", seed 001): data, text and HTML renderings. Pure. */
export { statementData, chartScale, regularisationText, type StatementData, type StatementLine, type StatementRequest, type StatementSettlement, type StatementOptions, type CategoryTotal, type Amounts } from './data.js';
export { renderStatementText } from './text.js';
export { renderStatementHtml } from './html.js';
export { renderChartSvg, renderChartSvgDecimal, SEGMENT_COLOURS } from './chart.js';
export { CATEGORIES, categoryOf, type CategoryId } from './categories.js';
export { euros, frenchDate } from './format.js';
export { DEFAULT_INSURER, type InsurerIdentity } from './insurer.js';
export { memberReasons, categoryOfReason, REASON_CATEGORIES, NEUTRAL_MEMBER_TEXT, CONTRACT_MEMBER_TEXT } from './member-reasons.js';
export { linePaymentOf, paymentBeforeLedger, waitingText, type LinePayment, type LinePaymentFacts, type LineRun, type LineBlocked, type LineReturned, type WaitingReason } from './payment.js';
