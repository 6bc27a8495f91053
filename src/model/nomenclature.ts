import { z } from 'zod';
import { DecimalStringSchema, MoneySchema } from './money.js';

/**
 * fixtures/nomenclature.csv (formats.md §3): act code → the grid poste it falls under.
 * `roRate` is the NORMAL RO rate (inside the parcours de soins): the engine computes
 * MRn = BR × max(normal rate, the line's rate), so a majoration hors parcours (the line's rate is
 * lower) stays on the patient and an exoneration (ALD, the line's rate is higher) is not paid twice.
 * `hospitalPoste` is the poste when the line is billed by an establishment (hospital setting).
 */
export const NOMENCLATURE_COLUMNS = ['act_code', 'label', 'poste', 'hospital_poste', 'ro_reimbursed', 'ro_rate', 'unit', 'attributes'] as const;
/** Plausibility bounds (per unit of the line's quantity): optional columns, an empty cell or a missing column takes the family default. */
export const NOMENCLATURE_BOUND_COLUMNS = ['max_unit_expense', 'max_unit_br', 'max_quantity', 'max_coefficient'] as const;

/**
 * Plausibility bounds of an act code: a line above one is not refused (the record is well-formed)
 * but settled `review` by the engine, naming the field and the bound — a typo of the caisse or of a
 * member ("999 999 999 999.99") must never be paid automatically. They are sanity ceilings, not
 * tariffs: set high enough that no genuine line of the act reaches them (a person looks at the
 * rare one that does), low enough that an absurd amount cannot go through.
 * Amounts are in integer cents (exact, and cheap to compare on every line: no Decimal).
 */
export interface PlausibilityBounds {
  /** expense ÷ quantity */
  unitExpenseCents: number;
  /** br ÷ quantity */
  unitBrCents: number;
  quantity: number;
  coefficient: number;
  /** the PLAUSIBILITY_DEFAULTS family the row's empty bounds came from */
  family: string;
}

/**
 * Defaults per poste family (the `poste` prefix before the first dot: the act's town poste) when a
 * row does not set its own bounds. The reasoning, from public tariffs and billing practice:
 * - soins: the costliest town acts are CCAM surgery with sector-2 dépassements (BR up to ~1 500 €,
 *   fees up to 3-4 × BR) and drugs dispensed in town pharmacies (the dearest boxes, e.g. hepatitis C
 *   or oncology, cost ~10 000–15 000 €): 20 000 € a unit. Quantity 100: a month of daily nursing
 *   acts (3 a day × 31) or a long prescription of boxes fits. Coefficient 1 000: NGAP letters are
 *   used with coefficients up to ~200 (K, AMK, AMI, SF) and biology up to B ~1 000; CCAM, LPP and
 *   drugs carry 1.
 * - hospi: a GHS stay billed per day can exceed 10 000 € a day for a short heavy stay (cardiac
 *   surgery, transplant); 30 000 € a day. Quantity 366: days or nights of one stay line within a
 *   year. Coefficient 1 (establishments bill GHS/forfaits, not letters).
 * - optique: a very complex progressive lens or a luxury frame stays under ~1 000 €; refractive
 *   surgery ~1 000–2 500 € an eye: 2 500 €. Quantity 12: a year of monthly contact-lens boxes for
 *   one eye (equipment lines carry 1 or 2). Coefficient 1 (LPP).
 * - audio: a hearing aid costs 950 € (class I PLV) to ~2 500 € (class II) an ear: 3 000 €.
 *   Quantity 2 (both ears on one line). Coefficient 1 (LPP).
 * - dentaire: a bridge or an implant is billed up to ~3 000 € (a full removable denture ~1 500 €,
 *   an implant 1 000–2 500 €): 3 000 € a unit. Quantity 32 (teeth). Coefficient 100: the few NGAP
 *   dental letters left (orthodontics TO 90–100) stay below it; CCAM carries 1.
 * - divers: preventive-medicine sessions (osteopath, psychotherapist…) cost 40–150 €; a dietitian or
 *   a screening similar; a prime de naissance is a forfait, not a bill: 1 000 € a unit. Quantity 20
 *   (sessions of one invoice line, children of one birth). Coefficient 1.
 * - transport: a long-distance ambulance trip reaches ~1 500–2 000 €: 3 000 € a trip. Quantity 20
 *   (trips of one line: a series of dialysis or radiotherapy runs is billed monthly). Coefficient 1.
 * A family not listed takes `other` (the loosest of the above). BR bounds default to the expense
 * bound: the RO's base is, apart from a few goods, at most what may be billed.
 */
export const PLAUSIBILITY_DEFAULTS: Readonly<Record<string, { unitExpense: string; quantity: number; coefficient: number }>> = {
  soins: { unitExpense: '20000.00', quantity: 100, coefficient: 1000 },
  hospi: { unitExpense: '30000.00', quantity: 366, coefficient: 1 },
  optique: { unitExpense: '2500.00', quantity: 12, coefficient: 1 },
  audio: { unitExpense: '3000.00', quantity: 2, coefficient: 1 },
  dentaire: { unitExpense: '3000.00', quantity: 32, coefficient: 100 },
  divers: { unitExpense: '1000.00', quantity: 20, coefficient: 1 },
  transport: { unitExpense: '3000.00', quantity: 20, coefficient: 1 },
  other: { unitExpense: '30000.00', quantity: 366, coefficient: 1000 },
};

/** Bound cells: money like the amounts they bound (at most 9 digits of euros, so cents × quantity stay exact integers). */
const BoundMoney = z.string().regex(/^\d{1,9}\.\d{2}$/, 'a bound is an amount with two decimals, e.g. "500.00"').nullable();

export function centsOf(money: string): number {
  // "12.30" → 1230: the two decimals are guaranteed by the Money pattern; ≤ 14 digits is an exact integer.
  return Number(money.replace('.', ''));
}

export function formatCents(cents: number): string {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function familyOf(poste: string): string {
  const dot = poste.indexOf('.');
  return dot < 0 ? poste : poste.slice(0, dot);
}

const AttributeKey = z.string().regex(/^[a-z][a-z0-9_]*$/, 'attribute names are lower_snake_case');

export const NomenclatureEntrySchema = z
  .object({
    actCode: z.string().min(1).max(13),
    label: z.string().min(1),
    poste: z.string().regex(/^[a-z_]+(\.[a-z0-9_]+)*$/, 'a poste id is dotted lower_snake_case, e.g. soins.generalistes'),
    hospitalPoste: z.string().regex(/^[a-z_]+(\.[a-z0-9_]+)*$/, 'a poste id is dotted lower_snake_case').nullable(),
    roReimbursed: z.boolean(),
    roRate: DecimalStringSchema,
    unit: z.string().min(1),
    /**
     * `k=v` pairs: optics_class, optics_element, lens_complexity, hearing_class, dental_basket,
     * practitioner, psychiatry; `price_limit` (PLV / HLF per unit, Money) caps "within PLV/HLF"
     * guarantees when given — without it the expense is taken as within the regulatory limit;
     * `tariff` (the RO's BR per unit, Money): what `noemie estimate` quotes when it is not given a BR.
     */
    attributes: z.record(AttributeKey, z.string()),
    /** optional bounds (NOMENCLATURE_BOUND_COLUMNS); null: the family default */
    maxUnitExpense: BoundMoney.default(null),
    maxUnitBr: BoundMoney.default(null),
    maxQuantity: z.number().int().min(1).max(999).nullable().default(null),
    maxCoefficient: z.string().regex(/^\d{1,6}(\.\d{1,6})?$/, 'expected a decimal number, e.g. "1" or "200"').nullable().default(null),
  })
  .superRefine(
    (e, ctx) => {
      // Runs even when other fields failed (`when` below) so a rejected row lists all its issues;
      // each check looks at the shape of what it reads first.
      if (typeof e !== 'object' || e === null) return;
      const limit = typeof e.attributes === 'object' && e.attributes !== null ? e.attributes.price_limit : undefined;
      if (limit !== undefined && !MoneySchema.safeParse(limit).success) {
        ctx.addIssue({ code: 'custom', path: ['attributes', 'price_limit'], input: limit, message: 'price_limit is an amount with two decimals, e.g. "950.00"' });
      }
      const tariff = typeof e.attributes === 'object' && e.attributes !== null ? e.attributes.tariff : undefined;
      if (tariff !== undefined && !MoneySchema.safeParse(tariff).success) {
        ctx.addIssue({ code: 'custom', path: ['attributes', 'tariff'], input: tariff, message: 'tariff is an amount with two decimals, e.g. "30.00"' });
      }
      if (e.roReimbursed === false && typeof e.roRate === 'string' && Number(e.roRate) !== 0) {
        ctx.addIssue({ code: 'custom', path: ['roRate'], input: e.roRate, message: 'an act the RO does not reimburse has ro_rate 0' });
      }
    },
    { when: () => true },
  )
  .transform((e) => ({ ...e, bounds: boundsOf(e) }));
export type NomenclatureEntry = z.output<typeof NomenclatureEntrySchema>;

function boundsOf(e: { poste: string; maxUnitExpense: string | null; maxUnitBr: string | null; maxQuantity: number | null; maxCoefficient: string | null }): PlausibilityBounds {
  const family = familyOf(e.poste);
  const d = Object.hasOwn(PLAUSIBILITY_DEFAULTS, family) ? PLAUSIBILITY_DEFAULTS[family]! : PLAUSIBILITY_DEFAULTS.other!;
  const unitExpenseCents = centsOf(e.maxUnitExpense ?? d.unitExpense);
  return {
    unitExpenseCents,
    unitBrCents: e.maxUnitBr === null ? unitExpenseCents : centsOf(e.maxUnitBr),
    quantity: e.maxQuantity ?? d.quantity,
    coefficient: e.maxCoefficient === null ? d.coefficient : Number(e.maxCoefficient),
    family: Object.hasOwn(PLAUSIBILITY_DEFAULTS, family) ? family : 'other',
  };
}

/** act code → entry. Look codes up with `nomenclatureEntry` (own keys only: "constructor" is not an act). */
export type Nomenclature = Readonly<Record<string, NomenclatureEntry>>;

export function nomenclatureEntry(n: Nomenclature, actCode: string): NomenclatureEntry | undefined {
  return Object.hasOwn(n, actCode) ? n[actCode] : undefined;
}
