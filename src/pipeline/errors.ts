import { PipelineError, type ErrorContext } from '../model/errors.js';

/** Stable codes of the pipeline composition (README "Error codes"). */
export type PipelineStageErrorCode =
  /** a part's spool of lines outgrew its limit before the part was committed */
  | 'PIPELINE_SPOOL_FULL'
  /** a counters-changelog value is not a ledger snapshot this version understands */
  | 'PIPELINE_BAD_SNAPSHOT'
  /** a worker task failed (bad reference data, a bug): the batch is not committed */
  | 'PIPELINE_WORKER'
  /** replay arguments out of range or on a topic that is not replayable */
  | 'PIPELINE_REPLAY_RANGE'
  /** the bus does not hold what the service's state needs (a changelog partition is missing) */
  | 'PIPELINE_STATE';

export class PipelineStageError extends PipelineError {
  declare readonly code: PipelineStageErrorCode;
  constructor(code: PipelineStageErrorCode, message: string, context: ErrorContext = {}, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, context, options);
  }
}
