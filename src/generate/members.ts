import type { ActLine } from '../model/act-line.js';
import { addDays, daysBetween } from '../model/dates.js';
import { MEMBERSHIP_COLUMNS } from '../model/membership.js';
import { firstName, lastName, makeIban } from './identity.js';
import type { Population } from './population.js';
import { Rng } from './prng.js';

/**
 * A members feed (`members*.csv`, README "Members") that goes with a generated drop: the member
 * base's changes of the following days, several of them BACK-DATED into the drop's care period, so a
 * run that reads the drop first and the feed next re-liquidates (issue 10):
 *   - a **résiliation** (`affiliation_end`, whole family) of the known family with the most initial
 *     lines in the drop (ties: the first in population order; the leaver and families already ended
 *     are skipped), effective the day after the middle of its first and last care dates — so
 *     its care from then on, already paid, becomes an indu;
 *   - the **arrival** (`family_created`, effective the window's first day) of every person the drop
 *     names but the population lacks (the "unknown beneficiary" lines, member number `ADH9…`), with a
 *     name and an account — their lines, left in review, get paid;
 *   - a **RIB change** (`bank_account_change`) of the first family that has an account (not the one
 *     résiliated), effective 30
 *     days before the window's end: payments made from then on go to the new IBAN (nothing
 *     already sent is re-sent), and it asks for no re-liquidation.
 * The lines are read once, as a stream; what is kept is per family two dates and a count, and the
 * unknown persons (0.3 % of décomptes). Deterministic: its own random stream (`members`), no clock.
 */
export interface MembersFeed {
  rows: string[];
  resiliation: { adherentId: string; effectiveDate: string } | null;
  arrivals: string[];
  ribChange: { adherentId: string; effectiveDate: string } | null;
}

export function membersFeed(seed: number, population: Population, lines: Iterable<ActLine>): MembersFeed {
  const rng = Rng.derive(seed, 'members');
  const familyOfNir = new Map<string, string>();
  for (const p of population.people) familyOfNir.set(`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary.adherentId);
  const care = new Map<string, { first: string; last: string; count: number }>();
  const unknown = new Map<string, ActLine>();
  for (const l of lines) {
    if (l.operation !== 'I') continue;
    const family = familyOfNir.get(`${l.nir}-${l.rang}`);
    if (family === undefined) {
      if (!unknown.has(l.amcMemberId)) unknown.set(l.amcMemberId, l);
      continue;
    }
    const c = care.get(family);
    if (c === undefined) care.set(family, { first: l.careStart, last: l.careStart, count: 1 });
    else {
      if (l.careStart < c.first) c.first = l.careStart;
      if (l.careStart > c.last) c.last = l.careStart;
      c.count += 1;
    }
  }

  const row = (cells: Partial<Record<(typeof MEMBERSHIP_COLUMNS)[number], string>>) => MEMBERSHIP_COLUMNS.map((k) => cells[k] ?? '').join(';');
  const rows: string[] = [MEMBERSHIP_COLUMNS.join(';')];

  let resiliation: MembersFeed['resiliation'] = null;
  let best: { adherentId: string; first: string; last: string; count: number } | null = null;
  for (const f of population.families) {
    if (f.members.some((m) => m.beneficiary.end !== null)) continue;
    const c = care.get(f.adherentId);
    if (c === undefined || c.first === c.last) continue;
    if (best === null || c.count > best.count) best = { adherentId: f.adherentId, ...c };
  }
  if (best !== null) {
    const middle = addDays(best.first, Math.floor(daysBetween(best.first, best.last) / 2));
    resiliation = { adherentId: best.adherentId, effectiveDate: addDays(middle, 1) };
    rows.push(row({ event_id: `gen-${seed}-resiliation-${best.adherentId}`, event_type: 'affiliation_end', effective_date: resiliation.effectiveDate, adherent_id: best.adherentId }));
  }

  const arrivals: string[] = [];
  for (const [memberId, l] of unknown) {
    const sex: 1 | 2 = l.nir.startsWith('2') ? 2 : 1;
    const { iban, bic } = makeIban(rng);
    rows.push(row({
      event_id: `gen-${seed}-arrival-${memberId}`, event_type: 'family_created', effective_date: population.window.from, adherent_id: memberId,
      nir: l.nir, nir_key: l.nirKey, rang: String(l.rang), birth_date: l.birthDate ?? '', role: 'A', contracts: 'CCN-HLA-BASE', noemie: 'Y',
      iban, bic, name: `${lastName(rng)} ${firstName(rng, sex)}`,
    }));
    arrivals.push(memberId);
  }

  let ribChange: MembersFeed['ribChange'] = null;
  const payer = population.families.find((f) => f.adherentId !== resiliation?.adherentId && f.members.some((m) => m.beneficiary.iban !== null));
  if (payer !== undefined) {
    const { iban, bic } = makeIban(rng);
    ribChange = { adherentId: payer.adherentId, effectiveDate: addDays(population.window.to, -30) };
    rows.push(row({ event_id: `gen-${seed}-rib-${payer.adherentId}`, event_type: 'bank_account_change', effective_date: ribChange.effectiveDate, adherent_id: payer.adherentId, iban, bic }));
  }
  return { rows, resiliation, arrivals, ribChange };
}

