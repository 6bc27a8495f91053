import { Decimal } from 'decimal.js';
import { emptyState, estimate, stateKeyOf } from '../../engine/index.js';
import { ActLineSchema, NIR_PATTERN, nirKey, type ActLine } from '../../model/act-line.js';
import { nomenclatureEntry } from '../../model/nomenclature.js';
import { formatMoney } from '../../model/money.js';
import { fromZodIssues } from '../../model/issues.js';
import { maskPersonalData } from '../../log.js';
import { UsageError, parseFlags, writeLine, type Command } from '../command.js';
import { REFERENCE_FLAGS, REFERENCE_USAGE, loadReference } from '../reference.js';
import { readLedgers } from '../ledger-file.js';

const USAGE = `noemie estimate --nir <13 digits> [--rang 1] --act <code> --expense <€> [--br <€>] [--date <YYYY-MM-DD>]
                [--quantity n] [--dptm] [--side R|L] [--finess <FINESS>] [--state <file>] [--json]

The "devis conseil" of seed 001: what the AMC would pay for a planned act and the rest to pay,
with the counters already consumed (--state) taken into account and nothing consumed.
  --br <€>     the RO tariff of the act; 0 for an act the RO does not reimburse (default 0)
  --date       the planned date of care (default: today)
  --finess     the establishment of a planned stay (9 characters): the act is quoted in the hospital
               setting (a surgeon's fee under "Honoraires: actes de chirurgie, d'anesthésie…")
${REFERENCE_USAGE}`;

const FLAGS = {
  nir: { type: 'string' }, rang: { type: 'string' }, act: { type: 'string' }, expense: { type: 'string' }, br: { type: 'string' },
  date: { type: 'string' }, quantity: { type: 'string' }, dptm: { type: 'boolean' }, side: { type: 'string' }, finess: { type: 'string' }, state: { type: 'string' },
  json: { type: 'boolean' }, ...REFERENCE_FLAGS,
} as const;

export const command: Command = {
  name: 'estimate',
  summary: 'quote (devis conseil): what the AMC would pay for a planned act, nothing consumed',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values: v } = parseFlags(argv, FLAGS, false);
    for (const required of ['nir', 'act', 'expense'] as const) if (!v[required]) throw new UsageError(`--${required} is required`);
    const reference = await loadReference(v);
    const entry = nomenclatureEntry(reference.nomenclature, v.act!);
    const br = v.br ?? '0';
    const roRate = entry?.roRate ?? '0';
    const today = new Date().toISOString().slice(0, 10);
    const date = v.date ?? today;
    const nir = v.nir!;
    const candidate = {
      source: 'invoice', decompteId: 'DEVIS', lineNo: 1, operation: 'I', caisse: null, roPaymentDate: null,
      nir, nirKey: NIR_PATTERN.test(nir) ? nirKey(nir) : '00', rang: Number(v.rang ?? '1'), birthDate: null, amcMemberId: 'DEVIS',
      psId: 'DEVIS', psSpecialty: '01', psDptm: v.dptm ?? false, actCode: v.act!, side: v.side ?? null,
      careStart: date, careEnd: date, quantity: Number(v.quantity ?? '1'), coefficient: '1',
      expense: money(v.expense!, 'expense'), br: money(br, 'br'), roRate,
      // The RO part of a quote is the normal one: BR × the nomenclature's rate, to the cent.
      roAmount: formatMoney(new Decimal(money(br, 'br')).times(roRate).dividedBy(100)),
      pf: '0.00', franchise: '0.00', pathway: 'I', tp: '00', accident: false,
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
    const ledgers = await readLedgers(v.state);
    const key = stateKeyOf({ line, beneficiary });
    const state = (Object.hasOwn(ledgers, key) ? ledgers[key] : undefined) ?? emptyState();
    const settlement = estimate({ line, beneficiary }, { grids: reference.grids, nomenclature: reference.nomenclature, pmss: reference.pmss, asOf: date > today ? date : today }, state);
    if (v.json) {
      writeLine(io.out, JSON.stringify(settlement));
      return 0;
    }
    writeLine(io.out, `act ${line.actCode} (${settlement.poste ?? 'not in the nomenclature'}) on ${line.careStart}: expense ${settlement.expense} €`);
    writeLine(io.out, `  Sécurité sociale  ${settlement.roAmount} €`);
    for (const p of settlement.parts) writeLine(io.out, `  ${p.contract.padEnd(16)}  ${p.amount} €   ${p.formula ?? ''}`);
    writeLine(io.out, `  AMC total         ${settlement.amcAmount} €`);
    writeLine(io.out, `  rest to pay       ${settlement.restToPay} €`);
    if (settlement.reason) writeLine(io.out, `  why: ${settlement.reason}`);
    return 0;
  },
};

function money(text: string, flag: string): string {
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(text)) throw new UsageError(`--${flag} expects an amount in euros like 40 or 31.50, got "${text}"`);
  return new Decimal(text).toFixed(2);
}
