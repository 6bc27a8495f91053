/**
 * ISO 20022 external status / return reason codes (ExternalStatusReason1Code, ExternalReturnReason1Code)
 * that a SEPA credit transfer comes back with, as the EPC SCT rulebook lists them for R-transactions,
 * with the French label the statement and the report show. `blocks`: the reason is about the payee's
 * account (closed, wrong, blocked, holder deceased…), so sending the money there again would come
 * back again: the payee is blocked until its account changes. The other reasons (our side, the banks'
 * side, a duplicate, a recall) only make the amount due again.
 */
export interface ReturnReason {
  code: string;
  label: string;
  blocks: boolean;
}

const TABLE: readonly ReturnReason[] = [
  { code: 'AC01', label: 'identifiant de compte incorrect (IBAN erroné)', blocks: true },
  { code: 'AC04', label: 'compte clos', blocks: true },
  { code: 'AC06', label: 'compte bloqué', blocks: true },
  { code: 'AC13', label: 'type de compte du bénéficiaire invalide', blocks: true },
  { code: 'AG01', label: 'opération interdite sur ce compte', blocks: true },
  { code: 'AG02', label: "code opération invalide", blocks: false },
  { code: 'AM04', label: 'provision insuffisante', blocks: false },
  { code: 'AM05', label: 'opération en double', blocks: false },
  { code: 'BE04', label: 'adresse du bénéficiaire manquante', blocks: true },
  { code: 'CNOR', label: 'banque du bénéficiaire injoignable', blocks: false },
  { code: 'DNOR', label: 'banque du donneur d’ordre injoignable', blocks: false },
  { code: 'DUPL', label: 'paiement en double', blocks: false },
  { code: 'ED05', label: 'échec du règlement', blocks: false },
  { code: 'FF01', label: 'format de fichier invalide', blocks: false },
  { code: 'FOCR', label: 'retour suite à une demande d’annulation', blocks: false },
  { code: 'MD07', label: 'bénéficiaire décédé', blocks: true },
  { code: 'MS02', label: 'refus du bénéficiaire, motif non communiqué', blocks: true },
  { code: 'MS03', label: 'refus de la banque, motif non communiqué', blocks: true },
  { code: 'RC01', label: 'code BIC incorrect', blocks: true },
  { code: 'RR01', label: 'identification du donneur d’ordre manquante (réglementaire)', blocks: false },
  { code: 'RR02', label: 'nom ou adresse du donneur d’ordre manquant (réglementaire)', blocks: false },
  { code: 'RR03', label: 'nom ou adresse du bénéficiaire manquant (réglementaire)', blocks: true },
  { code: 'RR04', label: 'raison réglementaire', blocks: true },
  { code: 'TM01', label: 'reçu après l’heure limite', blocks: false },
];

export const RETURN_REASONS: ReadonlyMap<string, ReturnReason> = new Map(TABLE.map((r) => [r.code, r]));

/** A code the table does not know is still a return (the money did not arrive): blocked, with the code shown as is. */
export function returnReason(code: string | null): ReturnReason {
  if (code === null) return { code: 'NARR', label: 'motif non communiqué par la banque', blocks: true };
  return RETURN_REASONS.get(code) ?? { code, label: `motif bancaire ${code} non répertorié`, blocks: true };
}

/** "AC04 compte clos": how the reason is named to ops, on the report and on the statement. */
export const reasonText = (r: Pick<ReturnReason, 'code' | 'label'>): string => `${r.code} ${r.label}`;
