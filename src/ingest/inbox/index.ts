/** The watched inbox: public surface. */
export { inboxLayout, ensureLayout, ingestedDir, type InboxLayout } from './layout.js';
export { InboxScanner, isBankReturnName, isInProgressName, OK_SUFFIX, type CompleteWhen, type Candidate } from './complete.js';
export { Ledger, LedgerEntrySchema, type LedgerEntry } from './ledger.js';
export { QuarantineReportWriter, entriesOfRejected, entryOfError, type ReportEntry } from './report.js';
export { openInbox, processCandidate, processInboxOnce, type InboxOptions, type InboxOutcome, type InboxAction } from './process.js';
export { watchInbox, type WatchOptions } from './watch.js';
export { DropIncompleteError, INCOMPLETE_GRACE_MS, assertUnchanged, incompleteTail } from './settled.js';
