import { PipelineError, type ErrorContext } from '../model/errors.js';

/**
 * PAYMENTS_BAD_RUN: a run input is unusable (empty runId, `at` not an instant).
 * SEPA_BAD_DEBTOR: the debtor account of a file is invalid (IBAN/BIC).
 * SEPA_BAD_ORDER: an order handed to the SEPA builder is not a transfer (recovery, zero amount, no IBAN).
 * PAYMENTS_NOT_HELD: an approval names no held order (or the wrong run, or an unusable amount).
 * PAYMENTS_DUPLICATE_END_TO_END: a bank file would repeat an EndToEndId already handed over in another file.
 * PAYMENTS_BAD_LIMITS: a payment ceiling is not a positive amount, or the per-order one is above the per-run one.
 * PAYMENTS_RETURN_MALFORMED: a bank return file (camt.054 / pain.002) is not one, or misses a field we read.
 * None is retriable: the same input fails the same way.
 */
export type PaymentsErrorCode = 'PAYMENTS_BAD_RUN' | 'SEPA_BAD_DEBTOR' | 'SEPA_BAD_ORDER' | 'PAYMENTS_NOT_HELD' | 'PAYMENTS_DUPLICATE_END_TO_END' | 'PAYMENTS_BAD_LIMITS' | 'PAYMENTS_RETURN_MALFORMED';

export class PaymentsError extends PipelineError {
  declare readonly code: PaymentsErrorCode;
  constructor(code: PaymentsErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context);
  }
}
