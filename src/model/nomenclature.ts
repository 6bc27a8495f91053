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
     * guarantees when given — without it the expense is taken as within the regulatory limit.
     */
    attributes: z.record(AttributeKey, z.string()),
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
      if (e.roReimbursed === false && typeof e.roRate === 'string' && Number(e.roRate) !== 0) {
        ctx.addIssue({ code: 'custom', path: ['roRate'], input: e.roRate, message: 'an act the RO does not reimburse has ro_rate 0' });
      }
    },
    { when: () => true },
  );
export type NomenclatureEntry = z.infer<typeof NomenclatureEntrySchema>;

/** act code → entry. Look codes up with `nomenclatureEntry` (own keys only: "constructor" is not an act). */
export type Nomenclature = Readonly<Record<string, NomenclatureEntry>>;

export function nomenclatureEntry(n: Nomenclature, actCode: string): NomenclatureEntry | undefined {
  return Object.hasOwn(n, actCode) ? n[actCode] : undefined;
}
