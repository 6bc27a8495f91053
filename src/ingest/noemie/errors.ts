import { PipelineError, type ErrorContext } from '../../model/errors.js';

export type NoemieEncodeErrorCode = 'NOEMIE_ENCODE_FIELD';

/** A value that the NOEMIE-style layout cannot carry (too wide, not Latin-1, out of range). */
export class NoemieEncodeError extends PipelineError {
  declare readonly code: NoemieEncodeErrorCode;
  constructor(message: string, context: ErrorContext) {
    super('NOEMIE_ENCODE_FIELD', message, context);
  }
}
