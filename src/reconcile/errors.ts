import { PipelineError, type ErrorContext } from '../model/errors.js';

/**
 * RECON_BAD_INSTANT: an event's time is not an ISO-8601 instant (the consumer passes message times).
 * RECON_BAD_CONFIG: a delay or the tolerance is out of range.
 * RECON_BAD_EVENT: an event of an unknown kind.
 * Neither is retriable: the same input fails the same way.
 */
export type ReconErrorCode = 'RECON_BAD_INSTANT' | 'RECON_BAD_CONFIG' | 'RECON_BAD_EVENT';

export class ReconError extends PipelineError {
  declare readonly code: ReconErrorCode;
  constructor(code: ReconErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context);
  }
}
