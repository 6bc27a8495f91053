import { Decimal } from 'decimal.js';
import { addDays } from '../model/dates.js';
import { formatMoney } from '../model/money.js';
import type { ActLine } from '../model/act-line.js';
import type { Beneficiary } from '../model/reference.js';
import type { Nomenclature } from './nomenclature.js';
import { PF_DAILY_CAP, franchiseUnit, pfUnit, type FranchiseKind } from './care/common.js';
import type { DecompteDraft } from './care/types.js';

/**
 * A décompte draft → its act lines: RO amount at the line's rate (the nomenclature's, unless the
 * scenario set hors parcours or acte lourd), then what the RO deducts — participation forfaitaire
 * on doctors' acts, biology and imaging; franchises on boxes, paramedical acts and transport — never
 * under 18, within the daily caps, and never more than the line's RO amount.
 */
const PF_CODES = new Set(['G', 'VG', 'TCG', 'CS', 'APC', 'K', 'ATM', 'ADC', 'ADA', 'ACO', 'ADI', 'ADE', 'B', 'OST']);
const FRANCHISE_OF: Record<string, FranchiseKind> = { PH7: 'box', PH4: 'box', PH2: 'box', TAB: 'box', AMK: 'paramedical', AMI: 'paramedical', TAX: 'transport', VSL: 'transport', AMB: 'transport' };
/** Acts outside the nomenclature (an unmapped code) are paid by the RO like a consultation. */
const DEFAULT_RATE = '70';

export interface DecompteIds {
  decompteId: string;
  caisse: string;
}

export function toActLines(d: DecompteDraft, who: Beneficiary, ids: DecompteIds, nom: Nomenclature, age: number): ActLine[] {
  const adult = age >= 18;
  let pfLeft = adult ? PF_DAILY_CAP : new Decimal(0);
  let biologyPf = false;
  const franchiseLeft = new Map<FranchiseKind, Decimal | null>();

  return d.lines.map((l, i) => {
    const rate = l.roRate ?? (nom.has(l.actCode) ? nom.get(l.actCode).roRate : DEFAULT_RATE);
    const careStart = l.careStart ?? d.careStart;
    const careEnd = l.careEnd ?? d.careEnd;
    const roAmount = l.br.times(rate).dividedBy(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

    let pf = new Decimal(0);
    if (PF_CODES.has(l.actCode) && rate !== '100' && !(l.actCode === 'B' && biologyPf)) {
      pf = Decimal.min(pfUnit(careStart).times(l.actCode === 'B' ? 1 : l.quantity), pfLeft);
      pfLeft = pfLeft.minus(pf);
      if (l.actCode === 'B') biologyPf = true;
    }
    let franchise = new Decimal(0);
    const kind = FRANCHISE_OF[l.actCode];
    if (kind && adult) {
      const { unit, dailyCap } = franchiseUnit(kind, careStart);
      franchise = unit.times(l.quantity);
      // The daily cap binds when the acts fall on one day; a series over several days pays each act.
      if (dailyCap && careStart === careEnd) {
        const left = franchiseLeft.has(kind) ? franchiseLeft.get(kind) ?? dailyCap : dailyCap;
        franchise = Decimal.min(franchise, left);
        franchiseLeft.set(kind, left.minus(franchise));
      }
    }
    // The RO cannot withhold more than it pays on the line.
    pf = Decimal.min(pf, roAmount);
    franchise = Decimal.min(franchise, roAmount.minus(pf));

    return {
      source: 'noemie',
      decompteId: ids.decompteId,
      lineNo: i + 1,
      operation: 'I',
      caisse: ids.caisse,
      roPaymentDate: addDays(d.careEnd, d.payDelay),
      nir: who.nir,
      nirKey: who.nirKey,
      rang: who.rang,
      birthDate: who.birthDate,
      amcMemberId: who.adherentId,
      psId: d.ps.id,
      psSpecialty: d.ps.specialty,
      psDptm: d.ps.dptm,
      actCode: l.actCode,
      side: l.side ?? null,
      careStart,
      careEnd,
      quantity: l.quantity,
      coefficient: l.coefficient,
      expense: formatMoney(l.expense),
      br: formatMoney(l.br),
      roRate: rate,
      roAmount: formatMoney(roAmount),
      pf: formatMoney(pf),
      franchise: formatMoney(franchise),
      pathway: d.pathway,
      tp: d.tp,
      accident: d.accident,
      ...(l.finess !== undefined ? { finess: l.finess } : {}),
    };
  });
}
