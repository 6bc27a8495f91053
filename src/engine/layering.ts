import { Decimal } from 'decimal.js';
import { formatMoney as money } from '../model/money.js';
import type { SettlementPart } from '../model/settlement.js';
import type { LineFacts } from './facts.js';
import type { GridOutcome } from './grid-liquidation.js';

/**
 * Layering of the grids' outcomes for one line (or one slice of a stay): the socle pays its AMC;
 * each higher level pays what it adds, "sous déduction" of the levels below (AMC(option) −
 * AMC(socle)), never less than 0; RO + AMC never exceeds the expense, even when the RO figures on
 * the line are odd. `decisive` is the level whose AMC is the total (the highest that paid, else the
 * socle): it explains the rest to pay. `prefix` (the level in force, when dated) opens each formula.
 */
export function layer(outcomes: readonly GridOutcome[], facts: LineFacts, prefix = ''): { parts: SettlementPart[]; total: Decimal; rest: Decimal; decisive: GridOutcome } {
  const parts: SettlementPart[] = [];
  let paid = new Decimal(0);
  outcomes.forEach((o, i) => {
    const amount = i === 0 ? o.amc : Decimal.max(0, o.amc.minus(paid));
    const formula = prefix + (i === 0 ? o.formula : `AMC(${o.contract}) ${money(o.amc)} − AMC of the levels below ${money(paid)} = ${money(amount)}; ${o.formula}`);
    parts.push({ contract: o.contract, amount: money(amount), ...(o.rule ? { rule: o.rule } : {}), formula });
    paid = paid.plus(amount);
  });
  const ceiling = Decimal.max(0, facts.fr.minus(facts.roGross));
  if (paid.gt(ceiling)) trimTop(parts, paid.minus(ceiling));
  const total = Decimal.min(paid, ceiling);
  const roNet = facts.roGross.minus(facts.pf).minus(facts.franchise);
  const rest = facts.fr.minus(roNet).minus(total);
  const decisive = [...outcomes].reverse().find((o) => o.amc.eq(Decimal.max(...outcomes.map((x) => x.amc)))) ?? outcomes[0]!;
  return { parts, total, rest, decisive };
}

function trimTop(parts: SettlementPart[], excess: Decimal): void {
  let left = excess;
  for (let i = parts.length - 1; i >= 0 && left.gt(0); i--) {
    const p = parts[i]!;
    const cut = Decimal.min(left, new Decimal(p.amount));
    parts[i] = { ...p, amount: money(new Decimal(p.amount).minus(cut)), formula: `${p.formula}; less ${money(cut)} so that RO + AMC ≤ FR` };
    left = left.minus(cut);
  }
}

/** The socle and the surco renew the same element on the same line: keep it once. */
export function unique<T extends { key: string }>(items: T[]): T[] {
  const seen = new Map<string, T>();
  for (const it of items) if (!seen.has(it.key)) seen.set(it.key, it);
  return [...seen.values()];
}

