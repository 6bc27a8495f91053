import { Decimal } from 'decimal.js';
import { addDays } from '../../model/dates.js';
import type { ActLine } from '../../model/act-line.js';
import type { Rng } from '../prng.js';
import type { CareContext, DecompteDraft, Draft, Professional } from './types.js';

/**
 * Regulatory figures by date of care (domain.md §6) and the small builders every scenario uses.
 * NGAP letter values are the public ones of 2024-2025, rounded to what the fixtures need.
 */
export const D = (v: string | number): Decimal => new Decimal(v);
export const ZERO = D(0);

/** Consultation G: 26.50 € from 1 Nov 2023, 30 € from 22 Dec 2024. */
export function gFee(date: string): Decimal {
  if (date >= '2024-12-22') return D('30.00');
  return date >= '2023-11-01' ? D('26.50') : D('25.00');
}

/** Avis ponctuel de consultant: 56.50 €, 60 € from 22 Dec 2024. */
export function apcFee(date: string): Decimal {
  return date >= '2024-12-22' ? D('60.00') : D('56.50');
}

export const CS_FEE = D('31.50');

/** Participation forfaitaire per act: 1 € until 14 May 2024, 2 € from 15 May 2024; 4 € a day per professional. */
export function pfUnit(date: string): Decimal {
  return date >= '2024-05-15' ? D('2.00') : D('1.00');
}
export const PF_DAILY_CAP = D('4.00');

export type FranchiseKind = 'box' | 'paramedical' | 'transport';

/** Franchises from 31 Mar 2024: 1 € a box, 1 € a paramedical act (4 €/day), 4 € a transport (8 €/day); half before. */
export function franchiseUnit(kind: FranchiseKind, date: string): { unit: Decimal; dailyCap: Decimal | null } {
  const after = date >= '2024-03-31';
  switch (kind) {
    case 'box':
      return { unit: after ? D('1.00') : D('0.50'), dailyCap: null };
    case 'paramedical':
      return { unit: after ? D('1.00') : D('0.50'), dailyCap: after ? D('4.00') : D('2.00') };
    case 'transport':
      return { unit: after ? D('4.00') : D('2.00'), dailyCap: after ? D('8.00') : D('4.00') };
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** NGAP / biology letter values (€ per unit of coefficient). */
export const LETTER = { K: D('1.92'), AMK: D('2.15'), AMI: D('3.15'), B: D('0.27'), SF: D('2.80') } as const;

export function cents(v: Decimal): Decimal {
  return v.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

export function draft(actCode: string, br: Decimal, expense: Decimal, extra: Partial<Draft> = {}): Draft {
  return { actCode, quantity: 1, coefficient: '1', br: cents(br), expense: cents(expense), ...extra };
}

/** What a doctor bills over the BR: nothing in sector 1, a moderate dépassement under OPTAM, more otherwise (≤ 3 × BR). */
export function fees(rng: Rng, ps: Professional, br: Decimal): Decimal {
  if (ps.optam) return br.plus(cents(br.times(rng.int(5, 50)).dividedBy(100)));
  if (ps.freeFees) return br.plus(cents(br.times(rng.int(30, 160)).dividedBy(100)));
  return br;
}

export function decompte(ctx: CareContext, ps: Professional, lines: Draft[], opts: Partial<Omit<DecompteDraft, 'ps' | 'lines'>> = {}): DecompteDraft {
  return {
    ps,
    lines,
    tp: opts.tp ?? '00',
    pathway: opts.pathway ?? 'I',
    accident: opts.accident ?? ctx.rng.chance(0.015),
    careStart: opts.careStart ?? ctx.date,
    careEnd: opts.careEnd ?? ctx.date,
    payDelay: opts.payDelay ?? ctx.rng.int(2, 12),
  };
}

export function tpOf(rng: Rng, weights: readonly (readonly [ActLine['tp'], number])[]): ActLine['tp'] {
  return rng.weighted(weights);
}

/** The focus code when it is one of `codes`, else a weighted pick. */
export function choose(ctx: CareContext, weights: readonly (readonly [string, number])[]): string {
  if (ctx.focus !== undefined && weights.some(([c]) => c === ctx.focus)) return ctx.focus;
  return ctx.rng.weighted(weights);
}

export function daysBefore(date: string, days: number): string {
  return addDays(date, -days);
}
