import { z } from 'zod';
import { IsoDateSchema } from './dates.js';
import { DecimalStringSchema, MoneySchema } from './money.js';

/**
 * A guarantee grid: one contract level (CCN-HLA-BASE, RELAXEO-F1…) as declarative data, one file
 * per level under fixtures/grids/, JSON Schema in schemas/grid.schema.json (generated from this
 * file, a test keeps both equal). src/engine/README.md explains each construct with the table
 * cells it encodes. A rule's `formula` is a sum of terms:
 *   "220 / 200 % BR"       → [{kind:'pct_br', pct:'220', pctNonDptm:'200'}]
 *   "100 % BR + 300 €"     → [{kind:'pct_br', pct:'100'}, {kind:'eur', amount:'300.00', per:'aid'}]
 *   "100 % BR + 5 % PMSS"  → [{kind:'pct_br', pct:'100'}, {kind:'pmss_pct', pct:'5', per:'year'}]
 * A term `per: 'year'` is a yearly budget (consumed, counted per beneficiary or family); any other
 * `per` is a unit word and the amount is multiplied by the line's quantity.
 */

const Pct = DecimalStringSchema;
const PosteId = z.string().regex(/^[a-z_]+(\.[a-z0-9_]+)*$/, 'a poste id is dotted lower_snake_case, e.g. soins.generalistes');
const CounterName = z.string().regex(/^[a-z_]+(\.[a-z0-9_]+)*$/, 'a counter name is dotted lower_snake_case');

export const UNIT_WORDS = ['act', 'session', 'semester', 'implant', 'night', 'day', 'eye', 'child', 'equipment', 'aid', 'frame', 'lens', 'box', 'unit'] as const;
export const PerSchema = z.enum([...UNIT_WORDS, 'year']);
export type Per = z.infer<typeof PerSchema>;

/** whose consumption a counter holds: the person, or the whole family (adhérent) */
export const ScopeSchema = z.enum(['beneficiary', 'family']);

const PriceLimit = z.enum(['PLV', 'HLF']);

const BudgetFields = {
  /** counter scope when `per` is 'year' (default: beneficiary) */
  scope: ScopeSchema.optional(),
  /** counter name when `per` is 'year', to share one budget between rules (default: the rule's poste) */
  counter: CounterName.optional(),
};

export const TermSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('pct_br'),
    /** % of the BR for a DPTM (OPTAM/OPTAM-CO) professional, or for everyone when pctNonDptm is absent */
    pct: Pct,
    pctNonDptm: Pct.optional(),
    /** "dans la limite des HLF/PLV": capped at the price limit × quantity when the nomenclature gives one */
    priceLimit: PriceLimit.optional(),
  }),
  z.strictObject({
    kind: z.literal('pct_fr'),
    pct: Pct,
    /** "limitée au montant de la participation réglementaire": at most this much per unit */
    capPerUnit: MoneySchema.optional(),
  }),
  z.strictObject({
    /** 100 % Santé: "sans reste à payer dans la limite des PLV/HLF" → the expense, capped at the price limit when known */
    kind: z.literal('no_rest_to_pay'),
    priceLimit: PriceLimit,
  }),
  z.strictObject({ kind: z.literal('eur'), amount: MoneySchema, per: PerSchema, ...BudgetFields }),
  z.strictObject({ kind: z.literal('pmss_pct'), pct: Pct, per: PerSchema, ...BudgetFields }),
  /** "–" in a table: the poste exists in the contract family but this level pays nothing */
  z.strictObject({ kind: z.literal('not_covered') }),
]);
export type Term = z.infer<typeof TermSchema>;

export const LimitSchema = z.discriminatedUnion('kind', [
  /** "max 4 / an": units (sessions, acts) per period; units beyond are paid by `beyond`, or not at all */
  z.strictObject({ kind: z.literal('count'), max: z.number().int().min(0), per: z.literal('year'), scope: ScopeSchema.optional(), counter: CounterName.optional() }),
  /** "30 jours par an": days or nights (the line's quantity) per period */
  z.strictObject({ kind: z.literal('days'), max: z.number().int().min(0), per: z.literal('year'), scope: ScopeSchema.optional(), counter: CounterName.optional() }),
  /** a yearly ceiling on what the AMC pays (RELAXEO dental ceiling); beyond it, `beyond` (e.g. the TM) */
  z.strictObject({ kind: z.literal('amount'), max: MoneySchema, per: z.literal('year'), scope: ScopeSchema.optional(), counter: CounterName.optional() }),
  /** RO + AMC at most this much per unit (hearing aid class II: 1 700 € per ear including the RO part) */
  z.strictObject({ kind: z.literal('total_per_unit'), max: MoneySchema }),
]);
export type Limit = z.infer<typeof LimitSchema>;

export const AgeBandSchema = z
  .strictObject({ from: z.number().int().min(0).optional(), below: z.number().int().min(1).optional() })
  .refine((a) => a.from === undefined || a.below === undefined || a.from < a.below, 'age band: from must be below `below`');

export const ConditionsSchema = z.strictObject({
  /** age on the date of care: from ≤ age < below ("moins de 16 ans" = below 16, "entre 45 et 59 ans" = from 45 below 60) */
  age: AgeBandSchema.optional(),
  /** true: only OPTAM/OPTAM-CO professionals; false: only the others */
  dptm: z.boolean().optional(),
  /** hospital: billed by an establishment (no specialty); town: by a professional */
  setting: z.enum(['hospital', 'town']).optional(),
  accident: z.boolean().optional(),
  /** nomenclature attributes the act must carry, e.g. {"lens_complexity": "simple"} */
  attributes: z.record(z.string(), z.string()).optional(),
});
export type Conditions = z.infer<typeof ConditionsSchema>;

export const RenewalSchema = z.strictObject({
  /** rules sharing a group share one renewal history (class A and class B optics: one equipment) */
  group: CounterName,
  /** fixed element name ("ear"), or… */
  element: z.string().min(1).optional(),
  /** …the nomenclature attribute naming it (optics_element: frame | lens) */
  elementAttribute: z.string().min(1).optional(),
  /** units of each element per renewal period when the line has no side (lens: 2); a line with a side counts that side alone, 1 unit */
  unitsPerElement: z.record(z.string(), z.number().int().min(1)),
  /** first band whose `ageBelow` is above the age on the date of care; the last band has no ageBelow */
  periods: z.array(z.strictObject({ ageBelow: z.number().int().min(1).optional(), months: z.number().int().min(1) })).min(1),
}).refine((r) => (r.element === undefined) !== (r.elementAttribute === undefined), 'renewal: give exactly one of element, elementAttribute');
export type Renewal = z.infer<typeof RenewalSchema>;

export const EffectiveSchema = z.strictObject({
  from: IsoDateSchema,
  /** last day in force, inclusive; null while open-ended */
  to: IsoDateSchema.nullable(),
});

export const GridRuleSchema = z
  .strictObject({
    /** stable id quoted in every settlement part, e.g. "soins.generalistes" or "optique.verre_b.simple.16plus" */
    id: z.string().min(1),
    poste: PosteId,
    effective: EffectiveSchema,
    formula: z.array(TermSchema).min(1).describe('sum of terms giving G, the guarantee including the RO part; AMC = max(0, min(G − MRn, FR − MRn, cap left))'),
    limits: z.array(LimitSchema).optional().describe('count/days/amount per year (counters per beneficiary or family), total RO+AMC per unit'),
    conditions: ConditionsSchema.optional().describe('the first rule of the poste whose conditions hold applies'),
    /** what units beyond a count/days limit, or a line beyond an amount ceiling, still get ("au-delà 125 % BR") */
    beyond: z.array(TermSchema).min(1).optional().describe('terms for units beyond a count/days limit, or a line past an amount ceiling'),
    renewal: RenewalSchema.optional().describe('one element per period (optics 2 years from 16, hearing 4 years per ear)'),
    /** overrides the grid's includesRO for this rule (RELAXEO note (b): its optics/hearing forfaits include the RO) */
    includesRO: z.boolean().optional(),
    /** the table cell as printed, our reading of it when ambiguous, or "amount invented" */
    note: z.string().optional().describe('the table cell, our reading of it when ambiguous, or "amount invented"'),
  })
  .superRefine((r, ctx) => {
    if (r.formula.some((t) => t.kind === 'not_covered') && r.formula.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['formula'], input: r.formula, message: 'not_covered stands alone in a formula' });
    }
    if (r.effective.to !== null && r.effective.to < r.effective.from) {
      ctx.addIssue({ code: 'custom', path: ['effective', 'to'], input: r.effective.to, message: `rule ends (${r.effective.to}) before it starts (${r.effective.from})` });
    }
  });
export type GridRule = z.infer<typeof GridRuleSchema>;

export const WaitingPeriodSchema = z.strictObject({
  id: z.string().min(1),
  /** days after the beneficiary's effective date (affiliation start) during which the effect applies */
  days: z.number().int().min(1),
  /** postes concerned, by prefix ("hospi." = every hospital poste) */
  postePrefixes: z.array(z.string().min(1)).min(1),
  /** a stay following an accident is paid in full ("sauf en cas d'hospitalisation consécutive à un accident") */
  exceptAccident: z.boolean(),
  /** tm_only: the guarantee is replaced by 100 % BR (the RO part + the TM); not_covered: nothing */
  effect: z.enum(['tm_only', 'not_covered']),
  note: z.string().optional(),
});
export type WaitingPeriod = z.infer<typeof WaitingPeriodSchema>;

export const EligibilitySchema = z.strictObject({
  /** a child (role E) is covered below this age without proof */
  childAgeBelow: z.number().int().min(1),
  /** …and below this one with proof of studies/apprenticeship/job search (assumed on file when the row is present) */
  childAgeBelowWithProof: z.number().int().min(1),
  /** maximum age at joining, by millésime (year of start − year of birth); beyond it the line goes to review */
  maxAgeAtJoin: z.number().int().min(1).optional(),
});
export type Eligibility = z.infer<typeof EligibilitySchema>;

export const GridSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Z0-9][A-Z0-9-]*$/, 'a grid id is upper case, e.g. CCN-HLA-BASE'),
    label: z.string().min(1),
    insurer: z.string().optional(),
    level: z.string().min(1),
    /** whether € and % PMSS amounts include the RO part (CCN: yes; RELAXEO: on top of the RO) */
    includesRO: z.boolean().describe('whether € and % PMSS amounts include the RO part (CCN true; RELAXEO false: on top of the RO)'),
    /** the year of yearly limits: calendar, or insurance year from the beneficiary's effective date */
    yearBasis: z.enum(['calendar', 'insurance']).describe('year of yearly limits: calendar, or insurance year from the beneficiary\'s effective date'),
    eligibility: EligibilitySchema.optional(),
    /**
     * RELAXEO §2.4.1: on a change of level the € ceilings (yearly amount ceilings and budgets, and the
     * optics forfaits over their renewal period) are prorated over the days under each level; absent
     * or false (CCN): the new level's ceilings apply. Consumption carries over either way.
     */
    prorateCeilingsOnLevelChange: z.boolean().optional().describe('on a change of level, prorate the € ceilings over the days under each level (RELAXEO §2.4.1); absent: the new level\'s ceilings apply'),
    waitingPeriods: z.array(WaitingPeriodSchema).optional(),
    rules: z.array(GridRuleSchema).min(1),
    note: z.string().optional(),
  })
  .superRefine((g, ctx) => {
    const seen = new Map<string, number>();
    g.rules.forEach((r, i) => {
      const first = seen.get(r.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], input: r.id, message: `rule id ${r.id} already used by rule ${first}` });
      else seen.set(r.id, i);
    });
  });
export type Grid = z.infer<typeof GridSchema>;

/** grid id → grid. Look ids up with `gridById` (own keys only). */
export type GridSet = Readonly<Record<string, Grid>>;

export function gridById(grids: GridSet, id: string): Grid | undefined {
  return Object.hasOwn(grids, id) ? grids[id] : undefined;
}

