import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { ActLine } from '../model/act-line.js';

/**
 * Partitioning of the pipeline (README "Partitioning"): every message about a family — its
 * décompte and invoice lines, its settlements, its ledger snapshot — is keyed by the ADHÉRENT.
 * The engine keeps one ledger per family (family-scoped forfaits, one IBAN per family), so a
 * family must live on one partition; that implies per-beneficiary order.
 */
export type LineTopic = 'decompte-lines' | 'invoice-lines';
export const LINE_TOPICS: readonly LineTopic[] = ['decompte-lines', 'invoice-lines'];

/**
 * What the liquidation group consumes: the line topics and the re-liquidation requests, all keyed
 * by adhérent, so one member owns a partition number across the three (the Kafka bus's
 * co-partitioning assignor) and is the only writer of those families' ledgers.
 */
export type LiquidationTopic = LineTopic | 'reliquidations';
export const LIQUIDATION_TOPICS: readonly LiquidationTopic[] = [...LINE_TOPICS, 'reliquidations'];

export function lineTopicOf(line: Pick<ActLine, 'source'>): LineTopic {
  return line.source === 'noemie' ? 'decompte-lines' : 'invoice-lines';
}

/**
 * The family a line belongs to, from the same source as the ledger it will be liquidated against:
 * the membership file (the liquidation service keys ledgers by the adhérent of the beneficiary
 * found by NIR + rang). Keying lines by the member number printed on the line instead would split
 * a family over two partitions whenever the two disagree, two writers for one ledger. A line whose
 * beneficiary is unknown has no ledger: its own member number keys it. (A line whose number
 * disagrees with the membership goes to the family of the membership and the engine settles it
 * as `review`, naming both numbers.)
 */
export function familyKeyOfLine(line: Pick<ActLine, 'amcMemberId' | 'nir' | 'rang'>, members?: Pick<BeneficiaryIndex, 'byNirRang'>): string {
  return familyKeyOfAdherent(line, members?.byNirRang(line.nir, line.rang)?.adherentId);
}

/** `familyKeyOfLine` for a caller that already looked up the person's family (BeneficiaryIndex.adherentOf; undefined: unknown to the membership). */
export function familyKeyOfAdherent(line: Pick<ActLine, 'amcMemberId'>, adherentId: string | undefined): string {
  return adherentId ?? line.amcMemberId;
}

export function isLineTopic(topic: string): topic is LineTopic {
  return topic === 'decompte-lines' || topic === 'invoice-lines';
}

/** The liquidation service's consumer group. */
export const LIQUIDATION_GROUP = 'liquidation';
