import { sumMoneyText } from './cents.js';

/**
 * Settlements counted per (status, operation) with the sum of their |amcAmount| as exact Money
 * text (`sumMoneyText`: integer cents, decimal.js past the safe range): what the liquidation
 * metrics record per batch (http/metrics.ts `recordLiquidationSums`). Made where the settlements
 * are — a liquidation worker sums its task's, so no per-line summary crosses back to the service's
 * thread (bench/README.md "Session 19 — liquidation") — and sums of sums are the same sums.
 */
export interface SettlementSum {
  status: string;
  operation: 'I' | 'A';
  count: number;
  /** Σ |amcAmount|, Money text */
  amount: string;
}

/** Accumulates settlements (or partial sums), then gives the sums per (status, operation). */
export class SettlementSums {
  private readonly groups = new Map<string, { status: string; operation: 'I' | 'A'; count: number; amounts: string[] }>();

  add(status: string, operation: 'I' | 'A' | undefined, amcAmount: string, count = 1): void {
    const op = operation ?? 'I';
    const key = `${status}\u001f${op}`;
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { status, operation: op, count: 0, amounts: [] }));
    g.count += count;
    g.amounts.push(amcAmount.charCodeAt(0) === 45 /* - */ ? amcAmount.slice(1) : amcAmount);
  }

  /** Settlements' values (`{ status, amcAmount, operation? }`). */
  addSettlements(values: Iterable<{ status: string; amcAmount: string; operation?: 'I' | 'A' }>): this {
    for (const v of values) this.add(v.status, v.operation, v.amcAmount);
    return this;
  }

  /** Sums made elsewhere (a worker's task). */
  addSums(sums: readonly SettlementSum[]): this {
    for (const s of sums) this.add(s.status, s.operation, s.amount, s.count);
    return this;
  }

  /**
   * Never throws: metrics must never stop a stage (http/metrics.ts `safely`), and these are made
   * in a liquidation worker too, where a throw would fail the task and its batch. A group whose
   * amounts do not sum (one not a decimal: never an engine's settlement) is left out.
   */
  sums(): SettlementSum[] {
    const out: SettlementSum[] = [];
    for (const { status, operation, count, amounts } of this.groups.values()) {
      try {
        out.push({ status, operation, count, amount: sumMoneyText(amounts) });
      } catch {
        // left out (above)
      }
    }
    return out;
  }
}
