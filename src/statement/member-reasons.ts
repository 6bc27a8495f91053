import type { Settlement } from '../model/settlement.js';

/**
 * The engine's reasons are written for operators (English, codes, field names, "map it, then
 * replay the line", "check the membership before paying"). A member never reads them: a statement
 * shows the member text of the reason's CATEGORY, from this table, and the neutral text when no
 * category matches. Only the table's own texts ever reach a member.
 *
 * Patterns match the shape of the engine's texts (src/engine, see test/statement/member-reasons.test.ts,
 * which extracts every reason template of the engine and checks each one has a category here).
 * Order matters: the first match wins (the waiting period before the generic "not covered").
 */
export const NEUTRAL_MEMBER_TEXT = 'Dossier en cours d’examen par nos services';
/** what the contract decided, when a partial reason has no category of its own */
export const CONTRACT_MEMBER_TEXT = 'Montant calculé selon les garanties de votre contrat';

export interface ReasonCategory {
  id: string;
  pattern: RegExp;
  /** what the member reads; NEUTRAL_MEMBER_TEXT when the detail is ours to settle, not theirs */
  member: string;
}

export const REASON_CATEGORIES: readonly ReasonCategory[] = [
  // ---- a person of ours must look at the line: nothing for the member to act upon
  { id: 'membership-check', pattern: /unknown beneficiary|disagrees with the membership file|check the adhésion|check the disability proof/, member: 'Dossier en cours d’examen : vérification de votre affiliation par nos services' },
  { id: 'ro-annulment', pattern: /annulled by the RO|annulation of a line|annulation already settled/, member: 'Acte annulé ou corrigé par votre caisse d’assurance maladie : dossier en cours de vérification' },
  { id: 'reference-data', pattern: /is not in the nomenclature|has no guarantee grid loaded|no price_limit in the nomenclature|no PMSS for|attribute in the nomenclature/, member: NEUTRAL_MEMBER_TEXT },
  { id: 'implausible', pattern: /implausible figures|is above .* the max_|ro_amount .* is not br/, member: NEUTRAL_MEMBER_TEXT },
  { id: 'stay-dates', pattern: /the stay crosses a period boundary/, member: NEUTRAL_MEMBER_TEXT },
  // ---- rejected: no right to benefits that day
  { id: 'outside-affiliation', pattern: /before the affiliation start|after the affiliation end/, member: 'Soins réalisés en dehors de votre période d’adhésion' },
  { id: 'suspended', pattern: /suspension of the guarantees/, member: 'Garanties suspendues à la date des soins (cotisations impayées)' },
  { id: 'proof-of-studies', pattern: /missing 'studies' proof/, member: 'Justificatif de scolarité (ou d’apprentissage, de recherche d’un premier emploi) manquant pour la date des soins' },
  { id: 'proof-of-disability', pattern: /missing 'disability' proof/, member: 'Au-delà de 26 ans, un enfant est couvert sur justificatif d’invalidité : justificatif manquant pour la date des soins' },
  { id: 'time-barred', pattern: /time-barred/, member: 'Demande reçue plus de deux ans après les soins (prescription biennale)' },
  { id: 'no-level', pattern: /no contract period of the beneficiary contains/, member: 'Aucune garantie en vigueur à la date des soins' },
  // ---- paid less than the rest to pay: what the contract says
  { id: 'waiting-period-tm', pattern: /ticket modérateur only/, member: 'Délai d’attente de votre contrat : hospitalisation remboursée au ticket modérateur seulement' },
  { id: 'waiting-period', pattern: /waiting period/, member: 'Délai d’attente de votre contrat : acte non couvert pendant cette période' },
  { id: 'renewal', pattern: /renewal period not over/, member: 'Renouvellement avant le délai prévu par votre contrat' },
  { id: 'yearly-count', pattern: /yearly limit of .* reached|yearly count reached/, member: 'Nombre annuel d’actes remboursés atteint' },
  { id: 'yearly-forfait', pattern: /yearly forfait .* already used up/, member: 'Forfait annuel déjà utilisé' },
  { id: 'yearly-ceiling', pattern: /yearly ceiling .* reached/, member: 'Plafond annuel de remboursement atteint' },
  { id: 'participation-forfaitaire', pattern: /participation forfaitaire/, member: 'Participation forfaitaire : jamais remboursée (contrat responsable)' },
  { id: 'franchise', pattern: /franchise médicale/, member: 'Franchise médicale : jamais remboursée (contrat responsable)' },
  { id: 'hors-parcours', pattern: /hors parcours de soins/, member: 'Majoration hors parcours de soins coordonnés : jamais remboursée (contrat responsable)' },
  { id: 'above-guarantee', pattern: /is above the guarantee/, member: 'Dépense au-delà du montant garanti par votre contrat' },
  { id: 'guarantee-conditions', pattern: /the guarantee is for|the guarantee applies|the guarantee does not apply|no rule applies/, member: 'Conditions de la garantie non remplies pour cet acte' },
  { id: 'not-covered', pattern: /does not cover|not covered|has no guarantee for|no guarantee of .* was in force|no cover on/, member: 'Acte non couvert par les garanties de votre contrat' },
];

/** The category of one engine reason (or reason item), or null when none matches. */
export function categoryOfReason(reason: string): ReasonCategory | null {
  return REASON_CATEGORIES.find((c) => c.pattern.test(reason)) ?? null;
}

/**
 * What a member reads for a line's engine reason: one or more texts from the table. A line under
 * review or rejected is read whole (its reason is one sentence with its own "; "); a paid or zero
 * line's reason lists items joined by "; " (src/engine/explain.ts), each mapped, duplicates once,
 * CONTRACT_MEMBER_TEXT when none has a category.
 */
export function memberReasons(reason: string | null, status: Settlement['status']): string[] {
  if (reason === null || reason.trim() === '') return status === 'review' ? [NEUTRAL_MEMBER_TEXT] : [];
  // the same engine reasons come back line after line: the table's patterns are tried once per
  // reason and status (a copy is handed out: the caller owns its array)
  const key = `${status}\u241f${reason}`;
  let texts = SEEN.get(key);
  if (texts === undefined) {
    if (SEEN.size >= SEEN_MAX) SEEN.clear();
    texts = memberReasonsOf(reason, status);
    SEEN.set(key, texts);
  }
  return texts.slice();
}

/** reason texts already mapped (bounded: cleared whole when full — reasons carry amounts and dates, so their variety grows with the data) */
const SEEN = new Map<string, readonly string[]>();
const SEEN_MAX = 4096;

function memberReasonsOf(reason: string, status: Settlement['status']): string[] {
  if (status === 'review' || status === 'rejected') return [categoryOfReason(reason)?.member ?? NEUTRAL_MEMBER_TEXT];
  // an item of its own may hold "; " too (a renewal's "…; next one from …"): its tail matches no
  // category and adds nothing; the contract text stands in only when no item has a category
  const texts = reason.split('; ').flatMap((item) => categoryOfReason(item)?.member ?? []);
  return texts.length === 0 ? [CONTRACT_MEMBER_TEXT] : [...new Set(texts)];
}
