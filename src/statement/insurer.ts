/**
 * Who issues the statement: the insurer's name, postal address and legal registration (a mutuelle
 * shows its RNM / SIREN number, a courtier or intermediary its ORIAS number). Set from the
 * configuration (src/config.ts `insurerIdentity`: NOEMIE_INSURER_NAME, NOEMIE_INSURER_ADDRESS,
 * NOEMIE_INSURER_REGISTRATION); the defaults are FICTITIOUS, like the default paying account.
 */
export interface InsurerIdentity {
  name: string;
  /** postal address, one entry per line */
  address: string[];
  /** e.g. "Mutuelle régie par le livre II du Code de la mutualité — SIREN 123 456 789" or "ORIAS n° 12 345 678" */
  registration: string;
}

export const DEFAULT_INSURER: InsurerIdentity = {
  name: 'Mutuelle Noémie Santé (fictive)',
  address: ['10 rue de l’Exemple', '75000 Paris'],
  registration: 'Mutuelle régie par le livre II du Code de la mutualité — SIREN 000 000 000 (fictif)',
};
