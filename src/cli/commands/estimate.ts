import { Decimal } from 'decimal.js';
import { emptyState, estimate, stateKeyOf } from '../../engine/index.js';
import { ActLineSchema, NIR_PATTERN, nirKey, type ActLine } from '../../model/act-line.js';
import { nomenclatureEntry, type NomenclatureEntry } from '../../model/nomenclature.js';
import { participationForfaitaire, type Pf } from '../../model/participation-forfaitaire.js';
import type { Settlement } from '../../model/settlement.js';
import { NEUTRAL_MEMBER_TEXT, euros, frenchDate, memberReasons } from '../../statement/index.js';
import { JSON_FLAG, jsonUsage, writeJson } from '../json-output.js';
import { formatMoney } from '../../model/money.js';
import { fromZodIssues } from '../../model/issues.js';
import { maskPersonalData } from '../../log.js';
import { UsageError, parseFlags, writeLine, type CliIo, type Command } from '../command.js';
import { REFERENCE_FLAGS, REFERENCE_USAGE, loadReference } from '../reference.js';
import { readFamilyLedger } from '../ledger-file.js';

const USAGE = `noemie estimate --nir <13 digits> [--rang 1] --act <code> --expense <€> [--br <€>] [--date <YYYY-MM-DD>]
                [--quantity n] [--dptm] [--side R|L] [--finess <FINESS>] [--pf <€>] [--state <file>] [--verbose] [--json]

The "devis conseil" of seed 001: what the AMC would pay for a planned act and the rest to pay,
with the counters already consumed (--state) taken into account and nothing consumed. It is printed
for the member, in French; --verbose adds the operator's details (each contract part, its formula).
  --br <€>     the Sécurité sociale's tariff (base de remboursement) of the act. Without it, the
               tariff of the home's nomenclature (attribute tariff=<€ per unit> of the act code,
               × --quantity); an act the RO does not reimburse (ro_reimbursed N) has 0. An act the
               RO reimburses with neither is an error naming the act: never a silent 0.
  --pf <€>     the participation forfaitaire the RO will deduct, when the default is not the
               member's (e.g. 0 when exempt: pregnancy from month 6, CSS / AME). Default: 1 € (2 €
               from 15 May 2024) per doctor's act, imaging or biology in town, none under 18
  --date       the planned date of care (default: today)
  --dptm       the practitioner has signed the OPTAM / OPTAM-CO (DPTM)
  --side R|L   the side (optics, hearing: one element per eye / ear)
  --quantity n units of the act (default 1)
  --finess     the establishment of a planned stay (9 characters): the act is quoted in the hospital
               setting (a surgeon's fee under "Honoraires: actes de chirurgie, d'anesthésie…")
  --state <file>  family ledgers (noemie liquidate --state): the counters already consumed
  --verbose    also print the operator's details: contract parts and formulas, the engine's reason
${jsonUsage('estimate')}:
               the member's figures and text, where the tariff came from, the participation
               forfaitaire and its rule, and the engine's settlement
${REFERENCE_USAGE}`;

const FLAGS = {
  nir: { type: 'string' }, rang: { type: 'string' }, act: { type: 'string' }, expense: { type: 'string' }, br: { type: 'string' },
  date: { type: 'string' }, quantity: { type: 'string' }, dptm: { type: 'boolean' }, side: { type: 'string' }, finess: { type: 'string' }, state: { type: 'string' },
  pf: { type: 'string' }, verbose: { type: 'boolean' }, ...JSON_FLAG, ...REFERENCE_FLAGS,
} as const;

type TariffSource = '--br' | 'nomenclature' | 'not reimbursed by the RO';

/**
 * The act's BR: --br, else the nomenclature's tariff × quantity, else 0 for an act the RO does
 * not reimburse. Anything else is the missing input named (issue 11: a quote silently on a BR of 0
 * told a member the RO pays nothing and the AMC everything).
 */
function tariffOf(actCode: string, entry: NomenclatureEntry | undefined, brFlag: string | undefined, quantity: number): { br: string; source: TariffSource } {
  if (brFlag !== undefined) return { br: money(brFlag, 'br'), source: '--br' };
  if (entry === undefined) throw new UsageError(`act ${actCode} is not in the home's nomenclature: give its Sécurité sociale tariff with --br <€> (0 for an act the RO does not reimburse)`);
  if (!entry.roReimbursed) return { br: '0.00', source: 'not reimbursed by the RO' };
  const tariff = Object.hasOwn(entry.attributes, 'tariff') ? entry.attributes.tariff : undefined;
  if (tariff === undefined) {
    throw new UsageError(`--br is required: act ${actCode} (${entry.label}) is reimbursed by the RO and the home's nomenclature gives no tariff for it (attribute tariff=<€>); give the Sécurité sociale tariff with --br <€>`);
  }
  return { br: new Decimal(tariff).times(quantity).toFixed(2), source: 'nomenclature' };
}

export const command: Command = {
  name: 'estimate',
  summary: 'quote (devis conseil): what the AMC would pay for a planned act, nothing consumed',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values: v } = parseFlags(argv, FLAGS, false);
    for (const required of ['nir', 'act', 'expense'] as const) if (!v[required]) throw new UsageError(`--${required} is required`);
    const quantity = Number(v.quantity ?? '1');
    if (!Number.isInteger(quantity) || quantity < 1) throw new UsageError(`--quantity expects a whole number from 1, got "${v.quantity}"`);
    const expense = money(v.expense!, 'expense');
    const reference = await loadReference(v);
    const entry = nomenclatureEntry(reference.nomenclature, v.act!);
    const tariff = tariffOf(v.act!, entry, v.br, quantity);
    const roRate = entry?.roRate ?? '0';
    const today = new Date().toISOString().slice(0, 10);
    const date = v.date ?? today;
    const nir = v.nir!;
    const rang = Number(v.rang ?? '1');
    // The RO part of a quote is the normal one: BR × the nomenclature's rate, to the cent.
    const roGross = formatMoney(new Decimal(tariff.br).times(roRate).dividedBy(100));
    const person = NIR_PATTERN.test(nir) ? reference.beneficiaries.byNirRang(nir, rang) : undefined;
    const pf: Pf = v.pf !== undefined
      ? { amount: Decimal.min(money(v.pf, 'pf'), roGross).toFixed(2), rule: `participation forfaitaire given with --pf (${money(v.pf, 'pf')} €)` }
      : participationForfaitaire({ poste: entry?.poste ?? null, careDate: date, birthDate: person?.birthDate ?? null, hospital: v.finess !== undefined, roGross });
    const candidate = {
      source: 'invoice', decompteId: 'DEVIS', lineNo: 1, operation: 'I', caisse: null, roPaymentDate: null,
      nir, nirKey: NIR_PATTERN.test(nir) ? nirKey(nir) : '00', rang, birthDate: null, amcMemberId: 'DEVIS',
      psId: 'DEVIS', psSpecialty: '01', psDptm: v.dptm ?? false, actCode: v.act!, side: v.side ?? null,
      careStart: date, careEnd: date, quantity, coefficient: '1',
      expense, br: tariff.br, roRate, roAmount: roGross,
      pf: pf.amount, franchise: '0.00', pathway: 'I', tp: '00', accident: false,
      ...(v.finess !== undefined ? { finess: v.finess } : {}),
    };
    const parsed = ActLineSchema.safeParse(candidate, { reportInput: true });
    if (!parsed.success) {
      const issues = fromZodIssues(parsed.error.issues).map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new UsageError(maskPersonalData(`the quote is not a valid act line: ${issues.join('; ')}`));
    }
    const beneficiary = reference.beneficiaries.byNirRang(parsed.data.nir, parsed.data.rang);
    // A quote has no member number of its own: the beneficiary's family, as the members file says
    // (the engine reviews a line whose number disagrees with it).
    const line: ActLine = { ...parsed.data, amcMemberId: beneficiary?.adherentId ?? parsed.data.amcMemberId };
    const key = stateKeyOf({ line, beneficiary });
    const state = (await readFamilyLedger(v.state, key)) ?? emptyState();
    const settlement = estimate({ line, beneficiary }, { grids: reference.grids, nomenclature: reference.nomenclature, pmss: reference.pmss, asOf: date > today ? date : today }, state);
    const text = memberText({ label: entry?.label ?? `acte ${line.actCode}`, date, br: tariff.br, roRate, pf: pf.amount, settlement });
    if (v.json) {
      writeJson(io, 'estimate', {
        member: { text, expense: settlement.expense, securiteSociale: settlement.roAmount, complementaire: settlement.amcAmount, participationForfaitaire: pf.amount, resteACharge: settlement.restToPay },
        tariff: { br: tariff.br, source: tariff.source, roRate },
        participationForfaitaire: pf,
        settlement,
      });
      return 0;
    }
    for (const l of text) writeLine(io.out, l);
    if (v.verbose) operatorDetails(io, settlement, tariff, pf);
    return 0;
  },
};

/**
 * The quote as the member reads it, in French: the amounts (French format, decimal strings, no
 * float), the participation forfaitaire said apart since it is part of the rest to pay and never
 * reimbursed, and the reasons in the member's words (src/statement/member-reasons.ts), never the
 * engine's English.
 */
export function memberText(q: { label: string; date: string; br: string; roRate: string; pf: string; settlement: Settlement }): string[] {
  const s = q.settlement;
  const row = (label: string, amount: string) => `  ${label.padEnd(46)} ${euros(amount).padStart(12)}`;
  const out = [`Estimation de remboursement — ${q.label}, soins prévus le ${frenchDate(q.date)}`];
  out.push(row('Dépense prévue', s.expense));
  out.push(row('Remboursement de la Sécurité sociale', s.roAmount));
  if (new Decimal(q.br).gt(0)) {
    const base = `base de remboursement ${euros(q.br)} × ${q.roRate} %`;
    out.push(`    (${base}${new Decimal(q.pf).gt(0) ? ', moins la participation forfaitaire' : ''})`);
  } else {
    out.push('    (acte non remboursé par la Sécurité sociale)');
  }
  if (s.status === 'review') {
    out.push(`  ${NEUTRAL_MEMBER_TEXT} : le remboursement de votre complémentaire ne peut pas être estimé ici.`);
  } else {
    out.push(row('Remboursement de votre complémentaire santé', s.amcAmount));
  }
  // under review the AMC's part is not known: the rest is what is left after the Sécurité sociale only
  out.push(row(s.status === 'review' ? 'Reste avant votre complémentaire' : 'Reste à votre charge', s.restToPay));
  if (new Decimal(q.pf).gt(0)) {
    out.push(row('  dont participation forfaitaire', q.pf));
    out.push('    (retenue par la Sécurité sociale, jamais remboursée par votre complémentaire)');
  }
  // the participation forfaitaire is said above; the other reasons in the member's words
  for (const r of memberReasons(s.reason, s.status)) if (!r.startsWith('Participation forfaitaire') && s.status !== 'review') out.push(`  ${r}`);
  out.push('Estimation indicative, sans engagement : le remboursement dépend des soins réellement facturés et de vos droits à la date des soins.');
  return out;
}

function operatorDetails(io: CliIo, s: Settlement, tariff: { br: string; source: TariffSource }, pf: Pf): void {
  writeLine(io.out);
  writeLine(io.out, `operator details: act ${s.actCode} (${s.poste ?? 'not in the nomenclature'}), status ${s.status}`);
  writeLine(io.out, `  BR ${tariff.br} € (${tariff.source}); ${pf.rule}: ${pf.amount} €`);
  writeLine(io.out, `  Sécurité sociale  ${s.roAmount} €`);
  for (const p of s.parts) writeLine(io.out, `  ${p.contract.padEnd(16)}  ${p.amount} €   ${p.formula ?? ''}`);
  writeLine(io.out, `  AMC total         ${s.amcAmount} €`);
  writeLine(io.out, `  rest to pay       ${s.restToPay} €`);
  if (s.reason) writeLine(io.out, `  why: ${s.reason}`);
}

function money(text: string, flag: string): string {
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(text)) throw new UsageError(`--${flag} expects an amount in euros like 40 or 31.50, got "${text}"`);
  return new Decimal(text).toFixed(2);
}
