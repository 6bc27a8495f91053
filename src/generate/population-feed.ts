import type { Beneficiary } from '../model/reference.js';
import type { Population } from './population.js';

/**
 * The population as a members feed (`members*.csv`, README "Members"): what `noemie run` reads from
 * the inbox before the drops, so a home fed by `fixtures generate --home` knows its members without
 * a `--beneficiaries` flag. Per family the holder's row as `family_created`, every other person as
 * `beneficiary_added`, each effective on its `start` with its `end` and suspensions; the family's
 * account (the holder's IBAN, else the first person's that has one) rides on that person's row —
 * the reading of `noemie members import` (src/pipeline/members-import.ts eventsOfPopulation), so
 * both give the same store. No `event_id`: the reader hashes the content, the same file twice is
 * applied once.
 */
export const POPULATION_FEED_HEADER = ['event_type', 'effective_date', 'adherent_id', 'nir', 'nir_key', 'rang', 'birth_date', 'role', 'contracts', 'end', 'suspended', 'noemie', 'iban', 'bic', 'name'] as const;

export function* encodePopulationFeed(population: Population): Generator<string> {
  yield `${POPULATION_FEED_HEADER.join(';')}\n`;
  for (const family of population.families) {
    const people = family.members.map((p) => p.beneficiary);
    const holder = people.find((b) => b.role === 'A');
    const payer = holder?.iban ? holder : people.find((b) => b.iban !== null);
    const ordered = holder ? [holder, ...people.filter((b) => b !== holder)] : people;
    for (const b of ordered) yield `${row(b, b === holder ? 'family_created' : 'beneficiary_added', b === payer)}\n`;
  }
}

function row(b: Beneficiary, eventType: string, pays: boolean): string {
  return [
    eventType, b.start, b.adherentId, b.nir, b.nirKey, String(b.rang), b.birthDate, b.role, b.contracts.join('|'), b.end ?? '',
    b.suspended.map((s) => `${s.from}..${s.to}`).join('|'), b.noemie ? 'Y' : 'N', pays && b.iban ? b.iban : '', pays && b.iban ? (b.bic ?? '') : '', b.name,
  ].join(';');
}
