import { Decimal } from 'decimal.js';
import { addDays } from '../model/dates.js';
import { formatMoney } from '../model/money.js';
import type { ActLine } from '../model/act-line.js';
import { TP_CLAIM_COLUMNS, TP_CLAIM_COLUMN_NAMES, TpClaimSchema, type TpClaim } from '../model/tp-claim.js';
import { Rng, hashSeed } from './prng.js';
import { pad } from './identity.js';

/**
 * tp_claims.csv (formats.md §4) for the tiers-payant lines of a drop (tp 15 or 25): what the
 * professional asks the AMC, the part of the bill the RO left (FR − RO; PF and franchises are the
 * patient's). Deliberate mismatches for the reconciliation: a few claims ask more than the line
 * allows, a few name another care date, some TP lines get no claim yet (hold), and a few claims
 * match no line at all (never confirmed). Streams: give it the same line stream again.
 */
const OPERATORS = ['VIAMEDIS', 'ALMERYS', 'ISANTE', 'SP SANTE', 'DIRECT'] as const;

export function* generateTpClaims(seed: number, lines: Iterable<ActLine>): Generator<TpClaim> {
  const rng = Rng.derive(seed, 'tp-claims');
  const prefix = String(100 + (seed % 900));
  let n = 0;
  const id = () => `TPC${prefix}${pad(++n, 8)}`;
  for (const l of lines) {
    if (l.operation !== 'I' || (l.tp !== '15' && l.tp !== '25')) continue;
    const owed = new Decimal(l.expense).minus(l.roAmount);
    if (owed.lessThanOrEqualTo(0) || rng.chance(0.05)) continue; // nothing to claim, or not claimed yet
    const operator = OPERATORS[hashSeed(0, l.psId) % OPERATORS.length] as string;
    let amount = owed;
    let careDate = l.careStart;
    const twist = rng.next();
    if (twist < 0.03) amount = owed.plus(rng.int(5, 30)); // asks more than the line allows: an indu once paid
    else if (twist < 0.05) careDate = addDays(careDate, 1); // the operator's date is a day off
    const paid = rng.chance(0.6);
    yield TpClaimSchema.parse({
      tpClaimId: id(),
      operator,
      psId: l.psId,
      nir: l.nir,
      rang: l.rang,
      careDate,
      actCode: l.actCode,
      invoiceNo: rng.chance(0.7) ? `F${rng.digits(9)}` : null,
      amcAmountClaimed: formatMoney(amount),
      paidOn: paid ? addDays(l.careEnd, rng.int(3, 20)) : null,
    });
    if (rng.chance(0.01)) {
      // A claim the caisse will never confirm: care a month later that no décompte relays.
      yield TpClaimSchema.parse({
        tpClaimId: id(), operator, psId: l.psId, nir: l.nir, rang: l.rang, careDate: addDays(l.careStart, 30), actCode: l.actCode,
        invoiceNo: `F${rng.digits(9)}`, amcAmountClaimed: formatMoney(owed), paidOn: null,
      });
    }
  }
}

export function* encodeTpClaims(claims: Iterable<TpClaim>): Generator<string> {
  yield `${TP_CLAIM_COLUMN_NAMES.join(';')}\n`;
  for (const c of claims) yield `${TP_CLAIM_COLUMN_NAMES.map((col) => String(c[TP_CLAIM_COLUMNS[col]] ?? '')).join(';')}\n`;
}
