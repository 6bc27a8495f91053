import { lineKeyOf } from '../../model/act-line.js';
import type { Beneficiary } from '../../model/reference.js';
import type { Settlement, SettlementPart } from '../../model/settlement.js';
import { liquidate } from '../liquidate.js';
import { emptyState, own, stateKeyOf, type CounterMove } from '../state.js';
import { Fnv, LineHasher } from '../hash.js';
import type { EngineState, LineRecord, LiquidationContext, LiquidationRequest, RenewalEntry } from '../types.js';
import { counterCents, counterUnits, FALLBACK } from './grid.js';
import { cents, flat, money } from './cents.js';
import { hashOfTokens, str } from './digest.js';
import { CompiledReference } from './compile.js';
import { decideCents } from './decide.js';


/**
 * The liquidation kernel: `liquidateAll` (batch.ts) on a fast path. Per line it tries the
 * integer-cent decision (decide.ts, grid.ts of this folder) on a first decision of an initial line
 * (operation I, no version recorded yet: the bulk of a drop) and on the annulation of an initial
 * (`annulCents`), and falls back to the decimal.js engine (`liquidate`, ../liquidate.ts) for
 * anything else — replays, lines after an annulation, annulations of annulled or unknown lines,
 * stays across a period boundary, dated levels (contractPeriods), partial units, waiting periods,
 * negative amounts — and whenever a step would not be exact in integers. Both give the same settlements and ledgers (test/engine/kernel.test.ts,
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
  /** The line's `lineHash` (../hash.ts, definition line2), its key lists kept per kernel. */
  private readonly lineHasher = new LineHasher();
  /**
   * A beneficiary's token in the decision's input hash (`#` and its digest), once per beneficiary
   * object: the same string every line, no `#`-prefixed copy built per line.
   */
  private readonly beneficiaryTokens = new WeakMap<Beneficiary, string>();
  private readonly tokenOfBeneficiary = (b: Beneficiary): string => {
    let token = this.beneficiaryTokens.get(b);
    if (token === undefined) this.beneficiaryTokens.set(b, (token = flat(`#${this.reference.digester.digestOnce(b)}`)));
    return token;
  };

  constructor(private readonly context: Omit<LiquidationContext, 'asOf'>) {
    this.reference = new CompiledReference(context);
  }

  /**
   * Same contract as batch.ts liquidateAll: the given ledgers are not changed; new ones come back.
   *
   * The lines are decided family by family — each family's lines in their order, the families in
   * the order they first appear — and each settlement is put back at its line's place. A decision
   * reads and changes its family's ledger only (stateKeyOf: counters, renewals and line records are
   * the family's), so the settlements and ledgers are those of the lines taken in input order
   * (the equivalence test and the bench check hold it). Why: a family's ledger, beneficiaries and
   * compiled lookups stay in the processor's cache from one of its lines to the next, instead of
   * being fetched again from a heap of thousands of families for every line (the kernel is bound
   * by those fetches: the ledger lookups were the hottest lines of its profile); and the family's
   * ledger is looked up once per batch, not per line.
   */
  liquidateAll(requests: Iterable<LiquidationRequest>, asOf: string, ledgers: Readonly<Record<string, EngineState>> = {}): { settlements: Settlement[]; ledgers: Record<string, EngineState> } {
    const next: Record<string, EngineState> = { ...ledgers };
    const owned = new Ownership();
    const list = Array.isArray(requests) ? (requests as readonly LiquidationRequest[]) : [...requests];
    const n = list.length;
    const context: LiquidationContext = { ...this.context, asOf };
    // Each family's lines as a chain of indices (first line, then `following[i]`), families in the
    // order of their first line.
    // (Lists grown by push, not `new Array(n)`: past 100 000 slots V8 would make them dictionaries.)
    const keys: string[] = [];
    const settlements: Settlement[] = [];
    const following = new Int32Array(n).fill(-1);
    const last = new Map<string, number>();
    const firsts: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = stateKeyOf(list[i]!);
      keys.push(key);
      settlements.push(undefined as unknown as Settlement);
      const previous = last.get(key);
      if (previous === undefined) firsts.push(i);
      else following[previous] = i;
      last.set(key, i);
    }
    for (const first of firsts) {
      const key = keys[first]!;
      let state = own(next, key) ?? emptyState();
      for (let i = first; i >= 0; i = following[i]!) {
        const request = list[i]!;
        const fast = this.fast(request, asOf, key, state, owned);
        if (fast) {
          state = fast.state;
          settlements[i] = fast.settlement;
          this.stats.fast += 1;
          continue;
        }
        const decided = liquidate(request, context, state);
        state = decided.state;
        settlements[i] = decided.settlement;
        this.stats.fallback += 1;
      }
      next[key] = state;
    }
    return { settlements, ledgers: next };
  }

  /**
   * One line, with `liquidate`'s contract (../liquidate.ts): the given state is never changed, a
   * new one comes back (the line's ledger pieces copied, as the decimal path copies them). For
   * callers that go line by line (src/pipeline/liquidate-lines.ts): same settlement and state as
   * `liquidate(request, { ...reference, asOf }, state)`.
   */
  liquidate(request: LiquidationRequest, asOf: string, state: EngineState): { settlement: Settlement; state: EngineState } {
    const fast = this.fast(request, asOf, stateKeyOf(request), state, new Ownership());
    if (fast) {
      this.stats.fast += 1;
      return fast;
    }
    this.stats.fallback += 1;
    return liquidate(request, { ...this.context, asOf }, state);
  }

  /**
   * `liquidate` for a caller that owns its ledgers alone and never reads an old state again once it
   * passed it on (noemie liquidate's shards, src/pipeline/drop-shard.ts): a state this function
   * returned is written in place by the family's next line, where `liquidate` copies the touched
   * maps every line (a copy that grows with the family's history). Same settlements and states.
   */
  exclusive(): ExclusiveLiquidation {
    const owned = new Ownership();
    const run = (request: LiquidationRequest, asOf: string, state: EngineState) => {
      const fast = this.fast(request, asOf, stateKeyOf(request), state, owned);
      if (fast) {
        this.stats.fast += 1;
        return fast;
      }
      this.stats.fallback += 1;
      return liquidate(request, { ...this.context, asOf }, state);
    };
    // A caller that lets a family's state go (spilled to disk) must let the kernel forget it too.
    return Object.assign(run, { forget: (family: string) => owned.forget(family) });
  }

  /** The integer path for one line, or undefined (nothing changed) when the decimal path must decide. */
  private fast(request: LiquidationRequest, asOf: string, family: string, before: EngineState, owned: Ownership): { settlement: Settlement; state: EngineState } | undefined {
    const { line } = request;
    if (line.operation !== 'I' && line.operation !== 'A') return undefined;
    const lineKey = flat(lineKeyOf(line));
    const bucketIndex = bucketOf(lineKey);
    const bucketId = HEX[bucketIndex]!;
    const known = before.lines[bucketId];
    const previous = known !== undefined ? own(known, lineKey) : undefined;
    if (previous !== undefined && line.operation === 'I') return undefined;
    if (previous === undefined && line.operation === 'A') return undefined;
    const lineHash = this.lineHasher.hash(line);
    if (previous !== undefined) return annulCents(request, lineHash, before, owned.of(family, before), lineKey, bucketIndex, previous);
    const d = decideCents(request, this.reference, asOf, before, lineKey, lineHash, this.tokenOfBeneficiary);
    if (d === FALLBACK) return undefined;
    const s = d.settlement;
    const version = s.version;
    const record: LineRecord = {
      version,
      operation: 'I',
      status: s.status,
      payee: s.payee,
      expense: s.expense,
      roAmount: s.roAmount,
      amcAmount: s.amcAmount,
      restToPay: s.restToPay,
      parts: ledgerParts(s.parts),
      consumed: d.effects.consumed,
      renewals: d.effects.renewals,
      inputHash: s.inputHash ?? '',
      lineHash,
    };

    // Commit, copy-on-write (state.ts applyEffects, without the per-line copies).
    const mine = owned.of(family, before);
    const state = mine.state;
    // No counter moved (most lines): the settlement's `counters` is one shared frozen empty list.
    let moves: CounterMove[] = NO_MOVES;
    if (d.effects.consumed.length > 0) {
      const counters = mine.counters();
      // Of its final length (the settlement keeps it): `[]` grown by a push keeps 17 slots.
      moves = new Array(d.effects.consumed.length);
      for (let i = 0; i < d.effects.consumed.length; i++) {
        const c = d.effects.consumed[i]!;
        const kind = counterKind(c.key);
        if (kind === 'amount' || kind === 'budget') {
          const was = counterCents(own(counters, c.key));
          const after = Math.max(0, was + counterCents(c.amount));
          counters[c.key] = money(after);
          moves[i] = { key: c.key, before: money(was), after: money(after) };
        } else {
          const was = counterUnits(own(counters, c.key));
          const after = Math.max(0, was + counterUnits(c.amount));
          counters[c.key] = String(after);
          moves[i] = { key: c.key, before: String(was), after: String(after) };
        }
      }
      moves = mergeMoves(moves);
    }
    if (d.effects.renewals.length > 0) {
      const renewals = mine.renewals();
      for (const { key, entry } of d.effects.renewals) {
        const list = [...(own(renewals, key) ?? []), entry];
        list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
        renewals[key] = list;
      }
    }
    mine.bucket(bucketIndex)[lineKey] = record;
    // The decision's own object (decide.ts builds it in liquidate.ts's key order): no copy.
    s.counters = d.renewalMoves.length > 0 ? [...moves, ...d.renewalMoves] : moves;
    return { settlement: s, state };
  }
}

/**
 * liquidate.ts `annul` for its usual case, in cents: an annulation of a line whose last version is an
 * initial (not already annulled), without stay slices. Amounts negated, counters released (floored
 * at 0, as moveCounters), the line's renewal entries removed; same settlement, record and texts.
 * Every counter is read before anything changes: an unreadable one sends the line to the decimal path.
 */
function annulCents(
  request: LiquidationRequest,
  lineHash: string,
  before: EngineState,
  mine: OwnedFamily,
  lineKey: string,
  bucketIndex: number,
  previous: LineRecord,
): { settlement: Settlement; state: EngineState } | undefined {
  if (previous.operation !== 'I') return undefined;
  const { line } = request;
  const amc = cents(previous.amcAmount);
  const expense = cents(previous.expense);
  const ro = cents(previous.roAmount);
  const rest = cents(previous.restToPay);
  if (Number.isNaN(amc + expense + ro + rest)) return undefined;
  const parts: SettlementPart[] = new Array(previous.parts.length);
  for (let i = 0; i < previous.parts.length; i++) {
    const p = previous.parts[i]!;
    const a = cents(p.amount);
    if (p.slices !== undefined || Number.isNaN(a)) return undefined;
    parts[i] = { ...p, amount: money(-a), formula: `reverses version ${previous.version}: −${p.amount}` };
  }
  // Counters released in order (a key twice sees its first release), computed before any change.
  let released: Map<string, string> | undefined;
  const moves: CounterMove[] = [];
  for (const c of previous.consumed) {
    const kind = counterKind(c.key);
    const text = released?.get(c.key) ?? own(before.counters, c.key);
    let was: string;
    let after: string;
    if (kind === 'amount' || kind === 'budget') {
      const w = counterCents(text);
      const amount = cents(c.amount);
      if (Number.isNaN(w) || Number.isNaN(amount)) return undefined;
      was = money(w);
      after = money(Math.max(0, w - amount));
    } else {
      const w = counterUnits(text);
      const amount = counterUnits(c.amount);
      if (Number.isNaN(w) || Number.isNaN(amount)) return undefined;
      was = String(w);
      after = String(Math.max(0, w - amount));
    }
    (released ??= new Map()).set(c.key, after);
    moves.push({ key: c.key, before: was, after });
  }
  for (const r of previous.renewals) moves.push({ key: r.key, before: `${r.entry.date}:+${r.entry.units}`, after: 'released' });
  const version = request.version ?? previous.version + 1;
  const inputHash = hashOfTokens(`{line:${str(lineHash)},previous:${str(previous.inputHash)},version:${previous.version},}`);
  const settlement: Settlement = {
    lineKey, beneficiary: { nir: line.nir, rang: line.rang }, adherentId: request.beneficiary?.adherentId ?? null,
    careDate: line.careStart, actCode: line.actCode, poste: null,
    status: amc === 0 ? 'zero' : 'paid',
    reason: `annulled by the RO: reverses version ${previous.version}${amc > 0 ? `, ${previous.amcAmount} to recover (${previous.payee})` : ''}`,
    expense: money(-expense), roAmount: money(-ro), amcAmount: money(-amc), parts, restToPay: money(-rest), payee: previous.payee,
    counters: mergeMoves(moves), version, operation: line.operation, tp: line.tp, psId: line.psId,
    inputHash,
  };
  const record: LineRecord = {
    version, operation: 'A', status: settlement.status, payee: settlement.payee,
    expense: settlement.expense, roAmount: settlement.roAmount, amcAmount: settlement.amcAmount, restToPay: settlement.restToPay,
    parts, consumed: [], renewals: [], inputHash,
    ...(previous.lineHash !== undefined ? { reversed: previous.lineHash } : {}),
    seen: [lineHash],
  };

  // Commit, copy-on-write (state.ts releaseLine, then withLine).
  const state = mine.state;
  if (released) {
    const counters = mine.counters();
    for (const [key, value] of released) counters[key] = value;
  }
  let renewals: Record<string, readonly RenewalEntry[]> | undefined;
  for (const key in state.renewals) {
    const entries = state.renewals[key]!;
    if (!entries.some((e) => e.lineKey === lineKey)) continue;
    renewals ??= mine.renewals();
    renewals[key] = entries.filter((e) => e.lineKey !== lineKey);
  }
  mine.bucket(bucketIndex)[lineKey] = record;
  return { settlement, state };
}

/** liquidate.ts ledgerPart for the kernel's parts (never sliced): the formula stays in the settlement. */
function ledgerParts(parts: readonly SettlementPart[]): SettlementPart[] {
  const out: SettlementPart[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    out[i] = p.rule !== undefined ? { contract: p.contract, amount: p.amount, rule: p.rule } : { contract: p.contract, amount: p.amount };
  }
  return out;
}

/** key.split('|')[3] ?? 'amount' (the kind of a counter key: grid|who|counter|kind|period), without the list of five texts. */
function counterKind(key: string): string {
  let at = -1;
  for (let n = 0; n < 3; n++) {
    at = key.indexOf('|', at + 1);
    if (at < 0) return 'amount';
  }
  const end = key.indexOf('|', at + 1);
  return end < 0 ? key.slice(at + 1) : key.slice(at + 1, end);
}

const HEX = '0123456789abcdef';
const NO_MOVES = Object.freeze([]) as unknown as CounterMove[];

/**
 * state.ts lineBucket (the 8th hex digit of fnv1a64(lineKey): the low nibble of the first lane), as
 * its index in HEX. The first lane alone (hash.ts Fnv's `a`, which never reads the second): half the
 * multiplications of the two-lane hash, same nibble (test/engine/kernel.test.ts checks it against
 * lineBucket).
 */
export function bucketOf(lineKey: string): number {
  let a = FNV_OFFSET_A;
  for (let i = 0; i < lineKey.length; i++) a = Math.imul(a ^ lineKey.charCodeAt(i), FNV_PRIME);
  return a & 15;
}
const FNV_OFFSET_A = new Fnv().a;
const FNV_PRIME = 0x01000193;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * What a batch has made its own in one family's ledger (copy-on-write): its copy of the state, and
 * which of the state's maps and line buckets are the batch's copies, so a line finds them by one
 * lookup of the family key instead of a WeakSet lookup per object (four per line before). An
 * object the caller gave is copied the first time the batch changes it, then updated in place.
 */
class OwnedFamily {
  private ownCounters = false;
  private ownRenewals = false;
  private ownLines = false;
  /** bit i set: the bucket HEX[i] is the batch's copy */
  private ownBuckets = 0;
  readonly state: Mutable<EngineState>;

  constructor(readonly source: EngineState) {
    this.state = { ...source };
  }

  counters(): Record<string, string> {
    if (!this.ownCounters) {
      this.state.counters = dictionaryCopy(this.state.counters);
      this.ownCounters = true;
    }
    return this.state.counters as Record<string, string>;
  }

  renewals(): Record<string, readonly RenewalEntry[]> {
    if (!this.ownRenewals) {
      this.state.renewals = dictionaryCopy(this.state.renewals);
      this.ownRenewals = true;
    }
    return this.state.renewals as Record<string, readonly RenewalEntry[]>;
  }

  bucket(index: number): Record<string, LineRecord> {
    if (!this.ownLines) {
      this.state.lines = dictionaryCopy(this.state.lines);
      this.ownLines = true;
    }
    const lines = this.state.lines as Record<string, Readonly<Record<string, LineRecord>>>;
    const id = HEX[index]!;
    if ((this.ownBuckets & (1 << index)) === 0) {
      lines[id] = dictionaryCopy(own(lines, id) ?? {});
      this.ownBuckets |= 1 << index;
    }
    return lines[id] as Record<string, LineRecord>;
  }
}

/** The families a batch has changed, by family key. */
/** `LiquidationKernel.exclusive()`: liquidate one line; `forget` drops what the kernel holds of a family's state. */
export type ExclusiveLiquidation = ((request: LiquidationRequest, asOf: string, state: EngineState) => { settlement: Settlement; state: EngineState }) & {
  forget(family: string): void;
};

class Ownership {
  private readonly families = new Map<string, OwnedFamily>();

  forget(family: string): void {
    this.families.delete(family);
  }

  /**
   * The batch's own copy of `before`, the family's state: the same one line after line, a new one
   * when the state is not the one the batch made (first line of the family, or the decimal path
   * returned a new state: its maps are then copied again when changed, never written to).
   */
  of(family: string, before: EngineState): OwnedFamily {
    let mine = this.families.get(family);
    if (mine === undefined || mine.state !== before) {
      mine = new OwnedFamily(before);
      this.families.set(family, mine);
    }
    return mine;
  }
}

/**
 * A copy of a record keyed by data (lineKeys, counter keys) that starts as a V8 dictionary.
 * Adding a new key to a plain object literal makes a new hidden class per key, and every lineKey
 * is new: the bucket insert was the second costliest line of the kernel. Two throwaway keys, the
 * first deleted, switch the object to dictionary mode (deleting only the last key would not);
 * insertion order, hence JSON text, is unchanged.
 */
function dictionaryCopy<T extends object>(o: T): Mutable<T> {
  const copy: Record<string, unknown> = { '\u0000a': 0, '\u0000b': 0 };
  delete copy['\u0000a'];
  delete copy['\u0000b'];
  // Object.assign's own keys in its order (integer keys ascending, then insertion order), by for…in
  // with the own check: Object.assign into a dictionary took the generic path per key (a copy of
  // each family's touched buckets per batch: 2–3 % of the kernel).
  const from = o as Record<string, unknown>;
  for (const k in from) if (Object.hasOwn(from, k)) copy[k] = from[k];
  return copy as Mutable<T>;
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
