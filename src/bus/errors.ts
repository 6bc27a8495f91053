import { PipelineError, type ErrorContext } from '../model/errors.js';

/** Stable codes of the bus (README "Error codes"). */
export type BusErrorCode =
  /** a message failed its topic schema (on produce: nothing of the batch was written) */
  | 'BUS_INVALID_MESSAGE'
  /** no key given and the topic cannot derive one from the value */
  | 'BUS_NO_KEY'
  /** the topic exists with another partition count: keys would move and partition-local state would break */
  | 'BUS_PARTITION_MISMATCH'
  /** another live process owns the embedded bus directory */
  | 'BUS_LOCKED'
  /** write attempted on a bus opened read-only */
  | 'BUS_READ_ONLY'
  | 'BUS_CLOSED'
  /** replay range outside what the partition holds */
  | 'BUS_OFFSET_OUT_OF_RANGE'
  /** an embedded log could not be recovered (not a torn tail: damage in the middle) */
  | 'BUS_CORRUPT_LOG'
  /** the embedded bus serves one member per consumer group */
  | 'BUS_GROUP_BUSY'
  /** the Kafka client gave up (after its retries) */
  | 'BUS_BROKER';

export class BusError extends PipelineError {
  declare readonly code: BusErrorCode;
  constructor(code: BusErrorCode, message: string, context: ErrorContext = {}, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, context, options);
  }
}
