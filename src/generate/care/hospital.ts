import { pickProfessional } from './professionals.js';
import { D, cents, daysBefore, decompte, draft, fees, tpOf } from './common.js';
import { heavyActSplit } from './consultations.js';
import type { CareContext, DecompteDraft, Draft, Professional, Scenario } from './types.js';

/**
 * A hospital stay: the establishment's décompte (stay, forfait journalier, single room, a bed for
 * the parent of a child) and, in a private clinic, the surgeon's and the anaesthetist's fees as
 * their own décomptes. Single rooms and accompanying beds are not reimbursed by the RO: they come
 * with BR 0, as hospitals list them on the invoice the caisse relays.
 */
type StayKind = 'medical' | 'surgical' | 'ambulatory' | 'psychiatric';

const FOCUS_KIND: Record<string, StayKind> = { CHA: 'ambulatory', PAV: 'surgical', FJ: 'medical', CHP: 'medical', LAC: 'medical' };

export const hospitalStay: Scenario = (ctx) => {
  const { rng, focus, nom } = ctx;
  const psyFocus = focus !== undefined && nom.has(focus) && nom.get(focus).attributes.psychiatry === 'Y';
  const kind: StayKind = psyFocus ? 'psychiatric' : ((focus !== undefined ? FOCUS_KIND[focus] : undefined) ?? rng.weighted([['medical', 40], ['surgical', 38], ['ambulatory', 16], ['psychiatric', 6]] as const));
  const nights = kind === 'ambulatory' ? 0 : kind === 'psychiatric' ? rng.int(7, 40) : rng.int(1, kind === 'medical' ? 8 : 6);
  const careStart = daysBefore(ctx.date, nights);
  const conventioned = focus === 'FSN' ? false : focus === 'GHS' ? true : !rng.chance(0.05);
  const privateClinic = !conventioned || rng.chance(0.4);
  const establishment = pickProfessional(rng, privateClinic ? 'clinic' : 'hospital');
  const span = { careStart, careEnd: ctx.date };

  const lines: Draft[] = [];
  if (conventioned) {
    const br = kind === 'psychiatric' ? rng.money('250.00', '450.00').times(nights) : kind === 'ambulatory' ? rng.money('500.00', '2000.00') : rng.money(kind === 'surgical' ? '1500.00' : '900.00', '8000.00');
    if (kind === 'surgical') lines.push(...heavyActSplit('GHS', br, br).map((l) => ({ ...l, quantity: Math.max(1, nights), ...span })));
    else lines.push(draft('GHS', br, br, { quantity: Math.max(1, nights), ...span }));
  } else {
    // Non-conventioned: the RO pays on its small authority tariff, the clinic bills several times it.
    const br = rng.money('120.00', '250.00').times(Math.max(1, nights));
    lines.push(draft('FSN', br, cents(br.times(rng.int(250, 500)).dividedBy(100)), { quantity: Math.max(1, nights), ...span }));
  }
  if (nights > 0) {
    // The forfait journalier is due for every day, the day of discharge included.
    const days = nights + 1;
    const psy = kind === 'psychiatric';
    const fj = D(psy ? '15.00' : '20.00').times(days);
    lines.push(draft(psy ? 'FJP' : 'FJ', fj, fj, { quantity: days, ...span }));
    if (focus === 'CHP' || focus === 'LAC' || psyFocus || rng.chance(0.6)) {
      lines.push(draft(psy ? psyRoomCode(ctx) : 'CHP', D(0), D(rng.int(55, 140)).times(nights), { quantity: nights, ...span }));
    }
    if (focus === 'LAC' || (ctx.age < 16 && rng.chance(0.6))) {
      lines.push(draft('LAC', D(0), D(rng.int(20, 50)).times(nights), { quantity: nights, ...span }));
    }
  } else if (focus === 'CHA' || rng.chance(0.5)) {
    lines.push(draft('CHA', D(0), D(rng.int(30, 90)), span));
  }
  const accident = rng.chance(0.1);
  const stayLines = ctx.finess ? lines.map((l) => ({ ...l, finess: establishment.id })) : lines;
  const out: DecompteDraft[] = [
    decompte(ctx, establishment, stayLines.slice(0, 5), { ...span, tp: tpOf(rng, [['15', 85], ['05', 15]]), accident, pathway: accident ? 'U' : 'I', payDelay: rng.int(10, 45) }),
  ];
  if (privateClinic && kind === 'surgical') out.push(...clinicFees(ctx, establishment, careStart, accident));
  return out;
};

/**
 * In a private clinic the surgeon's and the anaesthetist's fees travel on the clinic's bordereau:
 * billed under the establishment (no specialty: the hospital setting, so the hospital postes apply,
 * domain of src/engine/facts.ts), one décompte per practitioner carrying that practitioner's DPTM
 * status and dépassement, at 100 % (acte lourd, the 24 € being on the stay). With the `finess`
 * option the practitioner bills under his own number and the line carries the clinic's FINESS.
 */
function clinicFees(ctx: CareContext, clinic: Professional, surgeryDay: string, accident: boolean): DecompteDraft[] {
  const { rng } = ctx;
  const at = { careStart: surgeryDay, careEnd: surgeryDay };
  const bill = (kind: 'surgeon' | 'anaesthetist', code: string, lo: string, hi: string): DecompteDraft => {
    const practitioner = pickProfessional(rng, kind);
    const br = rng.money(lo, hi);
    // With FINESS on the lines, the practitioner bills under his own number and specialty; the
    // line's FINESS alone puts it in the hospital setting (src/engine/facts.ts).
    const ps: Professional = ctx.finess ? practitioner : { ...practitioner, id: clinic.id, specialty: null };
    const line = draft(code, br, fees(rng, practitioner, br), { roRate: '100', ...at });
    return decompte(ctx, ps, [ctx.finess ? { ...line, finess: clinic.id } : line], { ...at, tp: tpOf(rng, [['00', 50], ['15', 50]]), accident });
  };
  return [bill('surgeon', 'ADC', '150.00', '600.00'), bill('anaesthetist', 'ADA', '60.00', '250.00')];
}

/** A psychiatric stay's single room has its own code when the nomenclature has one (psychiatry=Y). */
function psyRoomCode(ctx: CareContext): string {
  const psy = ctx.nom.entries.find((e) => e.poste === 'hospi.chambre_particuliere_nuit' && e.attributes.psychiatry === 'Y');
  return psy?.actCode ?? 'CHP';
}
