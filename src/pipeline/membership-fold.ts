import { addDays } from '../model/dates.js';
import type { MembershipEvent } from '../model/membership.js';
import type { Beneficiary } from '../model/reference.js';

/**
 * A family's membership events → the family as known, with its whole dated history. Pure: the
 * store keeps the events (never a state overwritten) and folds them on read. Events are folded in
 * EFFECTIVE-date order (then in the order they were applied), so a back-dated change lands where
 * it belongs in the history whatever day it arrives. `familyOn` then reads the family on one day
 * (who was covered, under which level, paid to which account): the family as it stood then, as
 * we know it now — a back-dated change known today shows in the past it changes.
 */

/** An open suspension (suspension_start without an end) as Beneficiary.suspended holds it: no date is later. */
export const OPEN_END = '9999-12-31';

/** An event as the store keeps it: the order it was applied in, and when. */
export interface StoredMembershipEvent {
  seq: number;
  appliedAt: string;
  event: MembershipEvent;
}

export interface Account {
  from: string;
  iban: string;
  bic: string | null;
  eventId: string;
}

interface Person {
  b: Beneficiary;
  /** apply order of the event that created the person */
  createdSeq: number;
  periods: { from: string; to: string | null; contracts: string[] }[];
  changedLevel: boolean;
  proofs: { kind: 'studies' | 'disability'; from: string; to: string | null }[] | undefined;
}

export interface FamilyState {
  adherentId: string;
  /** every person the events name, in the order they joined, with their dated history */
  members: Beneficiary[];
  /** the family's RIBs, oldest first: each in force from its `from` until the next one's */
  accounts: Account[];
  /** the events folded, in effective order */
  events: StoredMembershipEvent[];
}

/**
 * The family as the services read it (members and accounts), without the events it was folded
 * from: what the membership store's fold cache holds. The events are ≈ 30 % of a folded family's
 * heap (2.4 against 3.4 kB a family of the bench's portfolio) and only `noemie members show`
 * prints them (MembershipStore.history).
 */
export type FamilyView = Omit<FamilyState, 'events'>;

const personKey = (nir: string, rang: number) => `${nir}-${rang}`;
const dayBefore = (d: string) => addDays(d, -1);

export function effectiveOrder(a: StoredMembershipEvent, b: StoredMembershipEvent): number {
  return a.event.effectiveDate < b.event.effectiveDate ? -1 : a.event.effectiveDate > b.event.effectiveDate ? 1 : a.seq - b.seq;
}

/** The account in force on `date`: the last one whose `from` is on or before it. */
export function accountOn(accounts: readonly Account[], date: string): Account | undefined {
  let found: Account | undefined;
  for (const a of accounts) if (a.from <= date) found = a;
  return found;
}

/**
 * Folds the events. The holder's row shows the family's LATEST account (the others none): the row
 * is what the engine reads and fingerprints (inputHash), so it must not depend on the clock; the
 * account a payment goes to is `accountOn(date)`, asked by the payment run.
 */
export function foldFamily(adherentId: string, stored: readonly StoredMembershipEvent[]): FamilyState {
  const events = [...stored].sort(effectiveOrder);
  const persons = new Map<string, Person>();
  const accounts: Account[] = [];
  // Proofs dated before their person joined (a disability card, a school year begun before the
  // adhésion): in effective order they come first; kept here and given to the person on arrival.
  const earlyProofs = new Map<string, NonNullable<Person['proofs']>>();
  // The family's own suspensions (non-payment: an event naming no person): a person who joins while
  // one is open joins a suspended contract, from the day they join (a child born during the arrears).
  const familySuspensions: { from: string; to: string }[] = [];
  for (const { event: e, seq } of events) {
    const d = e.effectiveDate;
    const named = e.nir !== undefined && e.rang !== undefined ? persons.get(personKey(e.nir, e.rang)) : undefined;
    const targets = e.nir !== undefined ? (named ? [named] : []) : [...persons.values()];
    switch (e.eventType) {
      case 'family_created':
      case 'beneficiary_added': {
        const key = personKey(e.nir!, e.rang!);
        const was = persons.get(key);
        if (was === undefined) {
          persons.set(key, {
            b: {
              adherentId, nir: e.nir!, nirKey: e.nirKey!, rang: e.rang!, birthDate: e.birthDate!, role: e.role!, contracts: e.contracts!,
              start: d, end: e.end ?? null, suspended: [...(e.suspended ?? [])], noemie: e.noemie ?? false, iban: null, bic: null, name: e.name!,
            },
            createdSeq: seq,
            periods: [{ from: d, to: null, contracts: e.contracts! }],
            changedLevel: false,
            proofs: earlyProofs.get(key),
          });
          earlyProofs.delete(key);
          const joined = persons.get(key)!;
          for (const f of familySuspensions) if (f.to >= d) joined.b.suspended.push({ from: f.from > d ? f.from : d, to: f.to });
        } else {
          // the person again: a re-affiliation after an end leaves the gap uncovered (a suspension
          // in the model's terms), then the details and the level are the new row's
          if (was.b.end !== null && was.b.end < dayBefore(d)) was.b.suspended.push({ from: addDays(was.b.end, 1), to: dayBefore(d) });
          if (was.b.end !== null && was.b.end < d) was.b.end = e.end ?? null;
          Object.assign(was.b, { nirKey: e.nirKey!, birthDate: e.birthDate!, role: e.role!, name: e.name!, noemie: e.noemie ?? was.b.noemie });
          changeLevel(was, d, e.contracts!);
        }
        if (e.iban) accounts.push({ from: d, iban: e.iban, bic: e.bic ?? null, eventId: e.eventId });
        break;
      }
      case 'beneficiary_removed':
      case 'affiliation_end':
        for (const p of targets) if (p.b.end === null || p.b.end >= d) p.b.end = dayBefore(d);
        break;
      case 'affiliation_start':
        for (const p of targets) {
          if (p.b.end !== null && p.b.end < d) {
            // covered again after an end: the gap is not covered
            if (p.b.end < dayBefore(d)) p.b.suspended.push({ from: addDays(p.b.end, 1), to: dayBefore(d) });
            p.b.end = null;
          } else {
            p.b.start = d;
            if (p.periods[0] && d < p.periods[0].from) p.periods[0].from = d;
          }
        }
        break;
      case 'suspension_start':
        for (const p of targets) p.b.suspended.push({ from: d, to: e.end ?? OPEN_END });
        if (e.nir === undefined) familySuspensions.push({ from: d, to: e.end ?? OPEN_END });
        break;
      case 'suspension_lifted':
        if (e.nir === undefined) for (const f of familySuspensions) if (f.from <= d && f.to >= d) f.to = dayBefore(d);
        for (const p of targets) {
          const open = p.b.suspended.filter((s) => s.from <= d && s.to >= d);
          for (const s of open) s.to = dayBefore(d);
          // lifted on its first day: it was never in force
          p.b.suspended = p.b.suspended.filter((s) => s.to >= s.from);
        }
        break;
      case 'contract_change':
        for (const p of targets) changeLevel(p, d, e.contracts!);
        break;
      case 'bank_account_change':
        accounts.push({ from: d, iban: e.iban!, bic: e.bic ?? null, eventId: e.eventId });
        break;
      case 'proof_studies':
      case 'proof_disability': {
        const proof = { kind: e.eventType === 'proof_studies' ? 'studies' as const : 'disability' as const, from: d, to: e.end ?? null };
        if (named === undefined) {
          // not joined yet on this date (a proof always names its person: nir + rang)
          const key = personKey(e.nir!, e.rang!);
          earlyProofs.set(key, [...(earlyProofs.get(key) ?? []), proof]);
        }
        for (const p of targets) (p.proofs ??= []).push(proof);
        break;
      }
      default: {
        const never: never = e.eventType;
        throw new Error(`unhandled membership event type ${String(never)}`);
      }
    }
  }
  // A start moved back before a person's creation (a back-dated affiliation start, applied after
  // the person was created): the effective-order pass met it before the person existed.
  for (const { event: e, seq } of events) {
    if (e.eventType !== 'affiliation_start') continue;
    const named = e.nir !== undefined && e.rang !== undefined ? persons.get(personKey(e.nir, e.rang)) : undefined;
    const targets = e.nir !== undefined ? (named ? [named] : []) : [...persons.values()];
    for (const p of targets) {
      if (p.createdSeq > seq || p.b.start <= e.effectiveDate) continue;
      p.b.start = e.effectiveDate;
      if (p.periods[0] && e.effectiveDate < p.periods[0].from) p.periods[0].from = e.effectiveDate;
    }
  }
  const latest = [...accounts].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0)).at(-1);
  const members: Beneficiary[] = [];
  for (const p of persons.values()) {
    const b: Beneficiary = { ...p.b, suspended: p.b.suspended.map((s) => ({ ...s })), contracts: p.periods.at(-1)!.contracts };
    if (p.changedLevel) b.contractPeriods = p.periods.map((x) => ({ ...x }));
    if (p.proofs !== undefined) b.proofs = p.proofs.map((x) => ({ ...x }));
    if (b.role === 'A' && latest) {
      b.iban = latest.iban;
      b.bic = latest.bic;
    }
    members.push(b);
  }
  return { adherentId, members, accounts, events };
}

function changeLevel(p: Person, from: string, contracts: string[]): void {
  const last = p.periods.at(-1)!;
  if (last.contracts.join('|') === contracts.join('|')) return;
  p.changedLevel = true;
  if (last.from >= from) {
    // a change on (or before) the current period's first day replaces its level
    last.contracts = contracts;
    return;
  }
  last.to = dayBefore(from);
  p.periods.push({ from, to: null, contracts });
}

/** A person's standing on one day. */
export type StatusOn = 'not yet covered' | 'covered' | 'suspended' | 'ended';

export interface FamilyOn {
  adherentId: string;
  date: string;
  /** the persons who had joined by that day, each with the level in force then and its status */
  members: (Beneficiary & { status: StatusOn })[];
  /** the account payments made that day go to */
  account: Account | undefined;
}

/** The family on `date`, from what is known now (the whole history folded). */
export function familyOn(state: FamilyView, date: string): FamilyOn {
  const members = state.members
    .filter((b) => b.start <= date)
    .map((b) => {
      const period = b.contractPeriods?.find((p) => p.from <= date && (p.to === null || date <= p.to));
      const status: StatusOn = b.end !== null && date > b.end ? 'ended' : b.suspended.some((s) => s.from <= date && date <= s.to) ? 'suspended' : 'covered';
      return { ...b, contracts: period?.contracts ?? b.contractPeriods?.[0]?.contracts ?? b.contracts, status };
    });
  return { adherentId: state.adherentId, date, members, account: accountOn(state.accounts, date) };
}
