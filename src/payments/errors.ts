import { PipelineError, type ErrorContext } from '../model/errors.js';

/**
 * PAYMENTS_BAD_RUN: a run input is unusable (empty runId, `at` not an instant).
 * SEPA_BAD_DEBTOR: the debtor account of a file is invalid (IBAN/BIC).
 * SEPA_BAD_ORDER: an order handed to the SEPA builder is not a transfer (recovery, zero amount, no IBAN).
 * None is retriable: the same input fails the same way.
 */
export type PaymentsErrorCode = 'PAYMENTS_BAD_RUN' | 'SEPA_BAD_DEBTOR' | 'SEPA_BAD_ORDER';

export class PaymentsError extends PipelineError {
  declare readonly code: PaymentsErrorCode;
  constructor(code: PaymentsErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context);
  }
}
