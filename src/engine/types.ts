import type { ActLine } from '../model/act-line.js';
import type { IsoDate } from '../model/dates.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { Beneficiary, PmssTable } from '../model/reference.js';
import type { Settlement, SettlementPart, SettlementStatus } from '../model/settlement.js';

/** One act line to liquidate, with the person it names (undefined when nobody matches: review). */
export interface LiquidationRequest {
  line: ActLine;
  beneficiary: Beneficiary | undefined;
  /** forced settlement version; default: the previous version of this lineKey + 1 */
  version?: number;
}

/** Reference data and the liquidation date. `asOf` replaces a clock: the 2-year prescription is judged against it. */
export interface LiquidationContext {
  grids: GridSet;
  nomenclature: Nomenclature;
  pmss: PmssTable;
  asOf: IsoDate;
}

/** One acquisition in a renewal history (optics element, hearing aid per ear). */
export interface RenewalEntry {
  date: IsoDate;
  units: number;
  lineKey: string;
}

/** What one line took from one counter (count, days, or € amount), as a decimal string. */
export interface Consumption {
  key: string;
  amount: string;
}

/** What the state remembers of a liquidated line: enough to reverse it (annulation) or replay it. */
export interface LineRecord {
  version: number;
  operation: 'I' | 'A';
  status: SettlementStatus;
  payee: string;
  expense: string;
  roAmount: string;
  amcAmount: string;
  restToPay: string;
  parts: SettlementPart[];
  consumed: Consumption[];
  renewals: { key: string; entry: RenewalEntry }[];
  inputHash: string;
  /** I records: hash of the initial line last decided (what an annulation records as `reversed`): hash.ts `lineHashOf` (`line2:`) since session 22, `fnv1a64:` (`hashInputs(line)`) in records written before; compared through `namesLine` */
  lineHash?: string;
  /** A records: `lineHash` of the initial the annulation reversed; '' when it reversed nothing (it came first) */
  reversed?: string;
  /** A records: hashes of the records already settled against the annulled line (the annulation first): seen again, they are nothing new */
  seen?: string[];
}

/**
 * The ledger of ONE family (adhérent): counters, renewal histories and the lines liquidated.
 * Plain data, immutable by convention: `liquidate` never changes the object it is given and
 * returns a new one (sharing what did not change), so the caller may persist either.
 * One ledger per adhérent (see `stateKeyOf`) keeps each update small whatever the portfolio size;
 * family-scoped counters ("per family" forfaits) live in it naturally.
 */
export interface EngineState {
  /** counter key → consumed so far (integer string for counts and days, Money for amounts) */
  counters: Readonly<Record<string, string>>;
  /** renewal key → acquisitions, oldest first */
  renewals: Readonly<Record<string, readonly RenewalEntry[]>>;
  /** bucket (one hex digit of a hash of the lineKey) → lineKey → what it consumed and was paid, latest version; read with `lineRecord` */
  lines: Readonly<Record<string, Readonly<Record<string, LineRecord>>>>;
}

export interface Liquidation {
  settlement: Settlement;
  state: EngineState;
}
