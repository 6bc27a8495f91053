import type { TopicName } from '../bus/topics.js';
import type { ActLine } from '../model/act-line.js';

/**
 * Partitioning of the pipeline (README "Partitioning"): every message about a family — its
 * décompte and invoice lines, its settlements, its ledger snapshot — is keyed by the ADHÉRENT.
 * The engine keeps one ledger per family (family-scoped forfaits, one IBAN per family), so a
 * family must live on one partition; that implies per-beneficiary order.
 */
export type LineTopic = 'decompte-lines' | 'invoice-lines';
export const LINE_TOPICS: readonly LineTopic[] = ['decompte-lines', 'invoice-lines'];

export function lineTopicOf(line: Pick<ActLine, 'source'>): LineTopic {
  return line.source === 'noemie' ? 'decompte-lines' : 'invoice-lines';
}

/** The line's own adhérent number: known before any lookup, so ingestion can key without the member file. */
export function familyKeyOfLine(line: Pick<ActLine, 'amcMemberId'>): string {
  return line.amcMemberId;
}

export function isLineTopic(topic: string): topic is LineTopic {
  return topic === 'decompte-lines' || topic === 'invoice-lines';
}

/** The liquidation service's consumer group. */
export const LIQUIDATION_GROUP = 'liquidation';

/** Groups `noemie topics` reports lag for, with the topics each consumes. */
export const KNOWN_GROUPS: readonly { group: string; topics: readonly TopicName[] }[] = [{ group: LIQUIDATION_GROUP, topics: LINE_TOPICS }];
