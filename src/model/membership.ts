import { z } from 'zod';
import { NirKeySchema, NirSchema } from './act-line.js';
import { addMonths, IsoDateSchema } from './dates.js';
import { SuspensionSchema } from './reference.js';

/**
 * Membership events (issue 10): the member base as dated changes, never as a file overwritten.
 * A `members*.csv` / `members*.json` drop carries them with the columns of beneficiaries.csv
 * (formats.md §3) plus `event_id`, `event_type`, `effective_date` (and `request_date` for a
 * résiliation); the `members` topic carries them in this model's camelCase, keyed by adhérent.
 *
 * READING OF `effective_date` (one rule for every type): the FIRST DAY the change is in force.
 * A change "ends" something by making the day before its effective date the last day of the old
 * state: a résiliation effective 2026-04-10 covers care up to 2026-04-09 (Beneficiary.end, which
 * is inclusive), a suspension lifted on 2026-05-01 ends on 2026-04-30.
 *
 * RÉSILIATION: the event carries the EFFECTIVE date, computed by whoever took the request, because
 * the delay depends on the motive (seed 004: one month after the request is received for a change
 * of situation, one to two months for a contribution increase, the anniversary for an annual
 * résiliation; a death ends cover on the day). Only when the record leaves `effective_date` empty
 * and gives `request_date` does the feed apply the seeds' default, "takes effect one month after
 * the request" (`resiliationEffectiveDate`): request 2026-03-10 → effective 2026-04-10, last day
 * covered 2026-04-09. The request date is kept in the history either way.
 */
export const MEMBERSHIP_EVENT_TYPES = [
  /** the adhérent joins: the holder's row (role A), its contracts and account; effective = its start */
  'family_created',
  /** a person joins the family (spouse, child, or the holder again); effective = its start */
  'beneficiary_added',
  /** a person leaves the family (nir + rang); effective = first day no longer covered */
  'beneficiary_removed',
  /** affiliation start moved (person, or the whole family without nir); effective = the new start */
  'affiliation_start',
  /** résiliation (person, or the whole family without nir); effective = first day no longer covered */
  'affiliation_end',
  /** guarantees suspended (unpaid contributions), family or person; effective = first day suspended; `end` = planned last day, empty = open */
  'suspension_start',
  /** the open suspension is lifted; effective = first day covered again */
  'suspension_lifted',
  /** level change (socle / surcomplémentaire): `contracts` in force from the effective date (person, or the whole family) */
  'contract_change',
  /** the family's RIB: payments made from the effective date go to this IBAN/BIC */
  'bank_account_change',
  /** a child's proof of studies (18–26) on file from the effective date to `end` (empty = open) */
  'proof_studies',
  /** a child's proof of disability (beyond 26) on file from the effective date to `end` (empty = open) */
  'proof_disability',
] as const;
export type MembershipEventType = (typeof MEMBERSHIP_EVENT_TYPES)[number];

/** Types that describe a whole person (the beneficiaries.csv row). */
const PERSON_TYPES: readonly MembershipEventType[] = ['family_created', 'beneficiary_added'];
/** Types that name one person (nir + rang) and cannot apply to the whole family. */
const ONE_PERSON_TYPES: readonly MembershipEventType[] = ['beneficiary_removed', 'proof_studies', 'proof_disability'];

/** Event ids are keys in the state store: printable, no separator characters. */
export const EventIdSchema = z.string().min(1).max(100).regex(/^[\x21-\x7e]+$/, 'event id: printable ASCII, no spaces');

const MembershipEventObject = z.object({
  eventId: EventIdSchema.describe('unique id of the change; the same id applied twice changes nothing (default: a hash of the record)'),
  eventType: z.enum(MEMBERSHIP_EVENT_TYPES),
  effectiveDate: IsoDateSchema.describe('first day the change is in force'),
  requestDate: IsoDateSchema.optional().describe('when the member asked (résiliation), kept for the history'),
  adherentId: z.string().min(1).max(20),
  nir: NirSchema.optional(),
  nirKey: NirKeySchema.optional(),
  rang: z.number().int().min(1).max(9).optional(),
  birthDate: IsoDateSchema.optional(),
  role: z.enum(['A', 'C', 'E']).optional(),
  contracts: z.array(z.string().min(1)).min(1).optional(),
  start: IsoDateSchema.optional(),
  end: IsoDateSchema.nullable().optional(),
  suspended: z.array(SuspensionSchema).optional(),
  noemie: z.boolean().optional(),
  iban: z.string().nullable().optional(),
  bic: z.string().nullable().optional(),
  name: z.string().optional(),
});

const need = (ctx: z.RefinementCtx, e: Record<string, unknown>, fields: string[], why: string) => {
  for (const f of fields) {
    if (e[f] === undefined || e[f] === null) ctx.addIssue({ code: 'custom', path: [f], input: e[f], message: `${f} is required for ${why}` });
  }
};

/** The checks that depend on the event type (which fields it needs). */
export function refineMembershipEvent(e: z.infer<typeof MembershipEventObject>, ctx: z.RefinementCtx): void {
  const t = e.eventType;
  const rec = e as unknown as Record<string, unknown>;
  if (PERSON_TYPES.includes(t)) need(ctx, rec, ['nir', 'nirKey', 'rang', 'birthDate', 'role', 'contracts', 'name'], t);
  if (t === 'family_created' && e.role !== undefined && e.role !== 'A') ctx.addIssue({ code: 'custom', path: ['role'], input: e.role, message: 'family_created describes the adhérent: role A' });
  if (ONE_PERSON_TYPES.includes(t)) need(ctx, rec, ['nir', 'rang'], t);
  // a person is named by NIR and rang together (twins share a NIR): one without the other is ambiguous
  if ((e.nir === undefined) !== (e.rang === undefined)) ctx.addIssue({ code: 'custom', path: [e.nir === undefined ? 'nir' : 'rang'], message: 'nir and rang name a person together: give both or neither (neither = the whole family)' });
  if (t === 'contract_change') need(ctx, rec, ['contracts'], t);
  if (t === 'bank_account_change') need(ctx, rec, ['iban'], t);
  if (PERSON_TYPES.includes(t) && e.start !== undefined && e.start !== e.effectiveDate) {
    ctx.addIssue({ code: 'custom', path: ['start'], input: e.start, message: `start ${e.start} differs from effective_date ${e.effectiveDate}: a person's cover starts on the event's effective date (leave start empty)` });
  }
  if ((t === 'suspension_start' || t === 'proof_studies' || t === 'proof_disability') && e.end != null && e.end < e.effectiveDate) {
    ctx.addIssue({ code: 'custom', path: ['end'], input: e.end, message: `end ${e.end} is before effective_date ${e.effectiveDate}` });
  }
  if (e.birthDate !== undefined && e.birthDate > e.effectiveDate && PERSON_TYPES.includes(t)) {
    ctx.addIssue({ code: 'custom', path: ['birthDate'], input: e.birthDate, message: `birth date ${e.birthDate} is after the affiliation start ${e.effectiveDate}` });
  }
}

export const MembershipEventSchema = MembershipEventObject.superRefine(refineMembershipEvent).meta({
  title: 'Membership event',
  description: 'members topic value: one dated change of the member base (src/model/membership.ts), fields of beneficiaries.csv (formats.md §3) in camelCase plus eventId, eventType, effectiveDate (first day in force) and requestDate.',
});
export type MembershipEvent = z.infer<typeof MembershipEventSchema>;
export { MembershipEventObject };

/**
 * `members-changelog` value (compacted, keyed by adhérent): the family's whole history as the
 * membership store holds it — every event applied, with its apply order `seq` and time. The last
 * value per key is the family; a new home rebuilds its store from these instead of the whole
 * `members` topic (src/pipeline/membership-changelog.ts).
 */
export const MembersChangelogSchema = z
  .object({
    adherentId: z.string().min(1).max(20).meta({ description: 'the family (the message key)' }),
    events: z
      .array(
        z.object({
          seq: z.number().int().min(0).meta({ description: 'apply order within the family (0, 1, …): the fold\'s tie-break after the effective date' }),
          appliedAt: z.string().min(1).meta({ description: 'when the store applied it (ISO-8601 UTC)' }),
          event: MembershipEventSchema,
        }),
      )
      .min(1)
      .meta({ description: 'every event of the family, in apply order' }),
  })
  .meta({ title: 'Membership store changelog: a family\'s folded history source', description: 'The family\'s events as applied by the membership store; the last value per adhérent is the whole history.' });
export type MembersChangelogValue = z.infer<typeof MembersChangelogSchema>;

/** Seeds 000/004: a résiliation takes effect one month after the request is received. */
export function resiliationEffectiveDate(requestDate: string): string {
  // same day of the next month, the month's last day when it has none (request 01-31 → 02-28)
  return addMonths(requestDate, 1);
}

/** The file columns: formats.md §3's, then the event's own. */
export const MEMBERSHIP_COLUMNS = [
  'event_id', 'event_type', 'effective_date', 'request_date',
  'adherent_id', 'nir', 'nir_key', 'rang', 'birth_date', 'role', 'contracts', 'start', 'end', 'suspended', 'noemie', 'iban', 'bic', 'name',
] as const;
/** Columns a members CSV must have; the others may be left out of the header. */
export const REQUIRED_MEMBERSHIP_COLUMNS = ['event_type', 'adherent_id'] as const;

/** model field → file column */
export const MEMBERSHIP_FIELD_TO_COLUMN: Readonly<Record<string, string>> = {
  eventId: 'event_id', eventType: 'event_type', effectiveDate: 'effective_date', requestDate: 'request_date',
  adherentId: 'adherent_id', nirKey: 'nir_key', birthDate: 'birth_date',
};

/** A reliquidation request's reason (contract s4 §3), what the membership store hands over. */
export interface MembershipReason {
  eventId: string;
  type: string;
  effectiveDate: string;
}
