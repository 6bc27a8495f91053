import type { TopicName } from '../bus/topics.js';
import { LIQUIDATION_GROUP, LIQUIDATION_TOPICS } from './keys.js';
import { PAYMENTS_GROUP, PAYMENTS_TOPICS } from './payments-service.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS } from './reconcile-service.js';
import { STATEMENTS_GROUP } from './statement-index.js';

/**
 * Every consumer group of the pipeline, with the topics it reads and the stage it is: what
 * `noemie topics` reports lag for. (Replay reads through throwaway groups that never commit.)
 */
export interface PipelineGroup {
  group: string;
  topics: readonly TopicName[];
  stage: string;
}

export const PIPELINE_GROUPS: readonly PipelineGroup[] = [
  { group: LIQUIDATION_GROUP, topics: LIQUIDATION_TOPICS, stage: 'liquidation (noemie run)' },
  { group: RECONCILE_GROUP, topics: RECONCILE_TOPICS, stage: 'tiers-payant reconciliation (noemie run)' },
  { group: PAYMENTS_GROUP, topics: PAYMENTS_TOPICS, stage: 'payment runs (noemie payments run, noemie run)' },
  { group: STATEMENTS_GROUP, topics: ['settlements'], stage: 'member statement index (noemie statement, noemie run)' },
];
