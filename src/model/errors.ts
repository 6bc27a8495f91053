/**
 * One base for every typed error of the pipeline (kafkajs habit): a stable `code` documented in
 * README "Error codes", whether retrying can help, and the context an ops engineer needs to act.
 */
export interface ErrorContext {
  file?: string;
  entry?: string;
  record?: number;
  field?: string;
  topic?: string;
  partition?: number;
  offset?: string;
  [key: string]: unknown;
}

export class PipelineError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(code: string, message: string, context: ErrorContext = {}, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = context;
  }
}
