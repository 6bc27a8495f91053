/** Payment emission: the ledger, payment runs, SEPA pain.001.001.09 files (README.md in this folder). */
export { initialLedger, applyPaymentEvents, type PaymentEvent } from './ledger.js';
export { runPayments } from './run.js';
export { entitlementOf, type Entitlement } from './entitlement.js';
export { accountBook, familyAccounts, accountOf, accountProblem, normaliseAccount } from './accounts.js';
export { endToEndId } from './end-to-end.js';
export { parsePaymentsLedger, PaymentsLedgerSchema } from './ledger-schema.js';
export { PaymentsError, type PaymentsErrorCode } from './errors.js';
export { renderPain001, pain001Chunks, pain001Totals, PAIN_001_NS, type Pain001Input, type DebtorAccount } from './sepa/pain001.js';
export { planSepaFiles, type SepaFile, type SepaRunInput } from './sepa/files.js';
export { writePain001File, writeOrdersFile } from './sepa/write.js';
export { sepaText } from './sepa/text.js';
export { DEFAULT_LIMITS, RunGate, parseLimit, limitsProblem, transferAmountProblem, type PaymentLimits } from './controls.js';
export { approvePayment, type ApproveRequest } from './approvals.js';
export type { Held, Approval, HoldCeiling } from './types.js';
export type { PaymentsLedger, LineLedger, SettlementFacts, TpFacts, OperatorPayment, AccountBook, RunInput, RunResult, Blocked, Pending } from './types.js';
export { runSummary, renderRunSummary, maskIban, type RunSummary } from './show.js';
export { executePaymentRun, type ExecuteRunOptions, type ExecutedRun } from './execute.js';
