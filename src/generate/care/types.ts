import type { Decimal } from 'decimal.js';
import type { ActLine } from '../../model/act-line.js';
import type { Nomenclature } from '../nomenclature.js';
import type { Person } from '../population.js';
import type { Rng } from '../prng.js';

/** One act line before the décompte-wide fields (ids, beneficiary, RO amount) are filled in. */
export interface Draft {
  actCode: string;
  quantity: number;
  /** NGAP coefficient, "1" for CCAM, LPP and drugs */
  coefficient: string;
  br: Decimal;
  expense: Decimal;
  /** RO rate when not the nomenclature's (hors parcours 30 %, actes lourds 100 %) */
  roRate?: string;
  side?: ActLine['side'];
  careStart?: string;
  careEnd?: string;
  /** FINESS of the establishment of a stay, when the line carries it (`finess` option) */
  finess?: string;
}

export interface Professional {
  id: string;
  specialty: string | null;
  dptm: boolean;
  /** sector 2 and not OPTAM: the dépassements are the largest and the grids pay the least */
  freeFees: boolean;
  /** sector 2 OPTAM: moderate dépassements */
  optam: boolean;
}

/** One décompte: one beneficiary, one executing professional, 1-5 lines. */
export interface DecompteDraft {
  ps: Professional;
  lines: Draft[];
  tp: ActLine['tp'];
  pathway: ActLine['pathway'];
  accident: boolean;
  careStart: string;
  careEnd: string;
  /** days between the end of care and the RO payment */
  payDelay: number;
}

export interface CareContext {
  rng: Rng;
  nom: Nomenclature;
  person: Person;
  /** age on the day of care */
  age: number;
  /** last day of care */
  date: string;
  /** an act code the décompte must hold (the rotation that makes every poste appear) */
  focus?: string;
  /**
   * Hospital lines carry the establishment's FINESS (the optional `finess` of an act line), and the
   * surgeon and anaesthetist of a clinic bill under their own number and specialty. Off by default:
   * the committed sample stays as it was. No random draw depends on it.
   */
  finess?: boolean;
}

/** A kind of care event: builds one or more décomptes (a clinic stay also bills the surgeon's fees). */
export type Scenario = (ctx: CareContext) => DecompteDraft[];
