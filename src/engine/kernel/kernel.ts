import { lineKeyOf } from '../../model/act-line.js';
import type { Beneficiary } from '../../model/reference.js';
import type { Settlement } from '../../model/settlement.js';
import { liquidate } from '../liquidate.js';
import { emptyState, lineBucket, lineRecord, own, stateKeyOf, type CounterMove } from '../state.js';
import type { EngineState, LineRecord, LiquidationContext, LiquidationRequest, RenewalEntry } from '../types.js';
import { counterCents, counterUnits, FALLBACK } from './grid.js';
import { money } from './cents.js';
import { CompiledReference } from './compile.js';
import { decideCents } from './decide.js';


/**
 * The liquidation kernel: `liquidateAll` (batch.ts) on a fast path. Per line it tries the
 * integer-cent decision (decide.ts, grid.ts of this folder) on a first decision of an initial line
 * (operation I, no version recorded yet: the bulk of a drop) and falls back to the decimal.js
 * engine (`liquidate`, ../liquidate.ts) for anything else — annulations, replays, lines after an
 * annulation, partial units, waiting periods, negative amounts — and whenever a step would not be
 * exact in integers. Both give the same settlements and ledgers (test/engine/kernel.test.ts,
 * bench/liquidate.bench.ts check it on generated drops).
 *
 * State: the family ledgers of a batch are changed in place, copy-on-write: an object the caller
 * gave (a ledger, its counters, renewals, line buckets) is copied once, the first time the batch
 * changes it, and the copy is then updated line after line. The caller's ledgers are never
 * changed, and each line no longer copies its family's maps (the decimal path's `applyEffects`
 * copies counters, renewals and a line bucket per line).
 */
export interface KernelStats {
  /** lines decided on the integer path */
  fast: number;
  /** lines decided by the decimal.js engine */
  fallback: number;
}

export class LiquidationKernel {
  readonly reference: CompiledReference;
  readonly stats: KernelStats = { fast: 0, fallback: 0 };
  private readonly tokenOfBeneficiary = (b: Beneficiary): string => `#${this.reference.digester.digestOnce(b)}`;

  constructor(private readonly context: Omit<LiquidationContext, 'asOf'>) {
    this.reference = new CompiledReference(context);
  }

  /** Same contract as batch.ts liquidateAll: the given ledgers are not changed; new ones come back. */
  liquidateAll(requests: Iterable<LiquidationRequest>, asOf: string, ledgers: Readonly<Record<string, EngineState>> = {}): { settlements: Settlement[]; ledgers: Record<string, EngineState> } {
    const next: Record<string, EngineState> = { ...ledgers };
    const owned = new WeakSet<object>();
    const settlements: Settlement[] = [];
    const context: LiquidationContext = { ...this.context, asOf };
    for (const request of requests) {
      const key = stateKeyOf(request);
      const before = Object.hasOwn(next, key) ? next[key]! : emptyState();
      const fast = this.fast(request, asOf, before, owned);
      if (fast) {
        next[key] = fast.state;
        settlements.push(fast.settlement);
        this.stats.fast += 1;
        continue;
      }
      const { settlement, state } = liquidate(request, context, before);
      next[key] = state;
      settlements.push(settlement);
      this.stats.fallback += 1;
    }
    return { settlements, ledgers: next };
  }

  /** The integer path for one line, or undefined (nothing changed) when the decimal path must decide. */
  private fast(request: LiquidationRequest, asOf: string, before: EngineState, owned: WeakSet<object>): { settlement: Settlement; state: EngineState } | undefined {
    const { line } = request;
    if (line.operation !== 'I') return undefined;
    const lineKey = lineKeyOf(line);
    if (lineRecord(before, lineKey) !== undefined) return undefined;
    const lineHash = `fnv1a64:${this.reference.digester.digest(line)}`;
    const d = decideCents(request, this.reference, asOf, before, lineKey, lineHash, this.tokenOfBeneficiary);
    if (d === FALLBACK) return undefined;
    const version = request.version ?? 1;
    const s = d.settlement;
    const record: LineRecord = {
      version,
      operation: 'I',
      status: s.status,
      payee: s.payee,
      expense: s.expense,
      roAmount: s.roAmount,
      amcAmount: s.amcAmount,
      restToPay: s.restToPay,
      parts: s.parts.map(({ formula: _formula, ...p }) => p),
      consumed: d.effects.consumed,
      renewals: d.effects.renewals,
      inputHash: s.inputHash ?? '',
      lineHash,
    };

    // Commit, copy-on-write (state.ts applyEffects, without the per-line copies).
    const state = ownCopy(before, owned);
    let moves: CounterMove[] = [];
    if (d.effects.consumed.length > 0) {
      const counters = ownCopy(state.counters, owned) as Record<string, string>;
      state.counters = counters;
      moves = [];
      for (const c of d.effects.consumed) {
        const kind = c.key.split('|')[3] ?? 'amount';
        if (kind === 'amount' || kind === 'budget') {
          const was = counterCents(own(counters, c.key));
          const after = Math.max(0, was + counterCents(c.amount));
          counters[c.key] = money(after);
          moves.push({ key: c.key, before: money(was), after: money(after) });
        } else {
          const was = counterUnits(own(counters, c.key));
          const after = Math.max(0, was + counterUnits(c.amount));
          counters[c.key] = String(after);
          moves.push({ key: c.key, before: String(was), after: String(after) });
        }
      }
      moves = mergeMoves(moves);
    }
    if (d.effects.renewals.length > 0) {
      const renewals = ownCopy(state.renewals, owned) as Record<string, readonly RenewalEntry[]>;
      state.renewals = renewals;
      for (const { key, entry } of d.effects.renewals) {
        const list = [...(own(renewals, key) ?? []), entry];
        list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
        renewals[key] = list;
      }
    }
    const lines = ownCopy(state.lines, owned) as Record<string, Readonly<Record<string, LineRecord>>>;
    state.lines = lines;
    const bucketId = lineBucket(lineKey);
    const bucket = ownCopy(own(lines, bucketId) ?? {}, owned) as Record<string, LineRecord>;
    lines[bucketId] = bucket;
    bucket[lineKey] = record;
    const settlement: Settlement = { ...s, version, counters: d.renewalMoves.length > 0 ? [...moves, ...d.renewalMoves] : moves };
    return { settlement, state };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The batch's own copy of `o`: `o` itself when the batch made it, else a shallow copy it now owns. */
function ownCopy<T extends object>(o: T, owned: WeakSet<object>): Mutable<T> {
  if (owned.has(o)) return o as Mutable<T>;
  const copy = { ...o } as Mutable<T>;
  owned.add(copy);
  return copy;
}

/** liquidate.ts mergeMoves: a key moved twice shows once, its first before and last after. */
function mergeMoves(moves: CounterMove[]): CounterMove[] {
  if (moves.length < 2) return moves;
  const byKey = new Map<string, CounterMove>();
  for (const m of moves) {
    const seen = byKey.get(m.key);
    byKey.set(m.key, seen ? { key: m.key, before: seen.before, after: m.after } : m);
  }
  return [...byKey.values()];
}
