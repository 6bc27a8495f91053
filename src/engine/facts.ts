import { Decimal } from 'decimal.js';
import type { ActLine } from '../model/act-line.js';
import { ageOn, type IsoDate } from '../model/dates.js';
import { roundCents } from '../model/money.js';
import type { NomenclatureEntry } from '../model/nomenclature.js';
import type { Beneficiary } from '../model/reference.js';

/**
 * The facts of one line every grid computation reads, computed once. Amounts are Decimals.
 * Setting: a line carrying the FINESS of an establishment (`finess`) was given during a stay:
 * hospital, whoever bills it (a surgeon's or anaesthetist's fee falls under the hospital rows
 * "Honoraires: actes de chirurgie, d'anesthésie…", not town care). Without it, today's reading: a
 * NOEMIE line billed by an establishment carries no specialty (professionals always do), so
 * `psSpecialty === null` means hospital. Invoice lines (hors NOEMIE) never carry a specialty code
 * (formats.md §2 has `ps_kind` instead) nor a FINESS, so they are always in town.
 */
export interface LineFacts {
  line: ActLine;
  beneficiary: Beneficiary;
  entry: NomenclatureEntry;
  poste: string;
  setting: 'hospital' | 'town';
  careDate: IsoDate;
  age: number;
  quantity: number;
  br: Decimal;
  fr: Decimal;
  /** BR × normal RO rate, to the cent: the RO part a guarantee "including the RO" counts */
  mrn: Decimal;
  normalRate: Decimal;
  /** what the RO computed (before PF and franchise) */
  roGross: Decimal;
  pf: Decimal;
  franchise: Decimal;
  /** PMSS of 1 January of the year of care, when pmss.csv has that year */
  pmss: Decimal | undefined;
  /** PLV/HLF per unit when the nomenclature gives one */
  priceLimit: Decimal | undefined;
}

export function settingOf(line: Pick<ActLine, 'source' | 'psSpecialty' | 'finess'>): 'hospital' | 'town' {
  if (line.finess !== undefined) return 'hospital';
  return line.source === 'noemie' && line.psSpecialty === null ? 'hospital' : 'town';
}

export function posteOf(entry: NomenclatureEntry, setting: 'hospital' | 'town'): string {
  return setting === 'hospital' && entry.hospitalPoste !== null ? entry.hospitalPoste : entry.poste;
}

export function lineFacts(line: ActLine, beneficiary: Beneficiary, entry: NomenclatureEntry, pmss: string | undefined): LineFacts {
  const setting = settingOf(line);
  const br = new Decimal(line.br);
  // The majoration hors parcours lowers the line's rate and is never covered: count the RO part at
  // the normal rate. A higher line rate (ALD, maternity) is what the RO really paid: count that.
  const normalRate = Decimal.max(new Decimal(entry.roRate), new Decimal(line.roRate));
  const limit = entry.attributes.price_limit;
  return {
    line,
    beneficiary,
    entry,
    poste: posteOf(entry, setting),
    setting,
    careDate: line.careStart,
    age: ageOn(beneficiary.birthDate, line.careStart),
    quantity: line.quantity,
    br,
    fr: new Decimal(line.expense),
    mrn: roundCents(br.times(normalRate).dividedBy(100)),
    normalRate,
    roGross: new Decimal(line.roAmount),
    pf: new Decimal(line.pf),
    franchise: new Decimal(line.franchise),
    pmss: pmss === undefined ? undefined : new Decimal(pmss),
    priceLimit: limit === undefined ? undefined : new Decimal(limit),
  };
}
