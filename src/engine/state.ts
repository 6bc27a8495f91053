import { Decimal } from 'decimal.js';
import { addMonths, type IsoDate } from '../model/dates.js';
import type { Beneficiary } from '../model/reference.js';
import { fnv1a64 } from './hash.js';
import type { Consumption, EngineState, LineRecord, LiquidationRequest, RenewalEntry } from './types.js';

/** Counters, renewals and lines as explicit state (decider shape): read here, changed only by `applyEffects`. */

export function emptyState(): EngineState {
  return { counters: {}, renewals: {}, lines: {} };
}

/**
 * Which ledger a request belongs to: the adhérent (family); for an unknown beneficiary, the member
 * number the line names (the adhérent the caisse knows, `amc_member_id`). An unknown beneficiary's
 * lines consume nothing, but their versions must be remembered: the line and its annulation are two
 * contents, and when the membership file later knows the person — under that member number, the
 * usual case — the line's next decision is the next version of the same ledger, not a second 1.
 */
export function stateKeyOf(request: Pick<LiquidationRequest, 'beneficiary' | 'line'>): string {
  return request.beneficiary?.adherentId ?? request.line.amcMemberId;
}

/**
 * `record[key]` when it is the record's own (never an Object.prototype member such as
 * `constructor`). Looked up first: most calls miss (a new lineKey, a counter not yet used), and a
 * miss then costs one lookup, not two.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  const value = record[key];
  return value !== undefined && Object.hasOwn(record, key) ? value : undefined;
}

/**
 * Line records are spread over 16 buckets by a hash of the lineKey, so recording a line copies one
 * bucket (a sixteenth of the family's history) and the 16 bucket references, not every line the
 * family ever had. The bucket depends on the key only: an annulation or a corrected replay whose
 * care date changed still finds its original.
 */
export function lineBucket(lineKey: string): string {
  return fnv1a64(lineKey).slice(7, 8);
}

export function lineRecord(state: EngineState, lineKey: string): LineRecord | undefined {
  const bucket = own(state.lines, lineBucket(lineKey));
  return bucket ? own(bucket, lineKey) : undefined;
}

export function withLine(lines: EngineState['lines'], lineKey: string, record: LineRecord): EngineState['lines'] {
  const b = lineBucket(lineKey);
  return { ...lines, [b]: { ...(own(lines, b) ?? {}), [lineKey]: record } };
}

export function counterValue(state: EngineState, key: string): Decimal {
  return new Decimal(own(state.counters, key) ?? '0');
}

export function personKey(b: Pick<Beneficiary, 'nir' | 'rang'>): string {
  return `${b.nir}-${b.rang}`;
}

/** Counter values are integers for counts and days, cents for amounts: keep the text that way. */
function counterText(value: Decimal, kind: string): string {
  return kind === 'amount' || kind === 'budget' ? value.toFixed(2) : value.toFixed(0);
}

export function counterKind(key: string): string {
  return key.split('|')[3] ?? 'amount';
}

export interface Effects {
  consumed: Consumption[];
  renewals: { key: string; entry: RenewalEntry }[];
}

export interface CounterMove {
  key: string;
  before: string;
  after: string;
}

/** Adds (or, with sign −1, takes back) consumptions; returns the new counters and the before/after of each key. */
export function moveCounters(counters: Readonly<Record<string, string>>, consumed: readonly Consumption[], sign: 1 | -1): { counters: Readonly<Record<string, string>>; moves: CounterMove[] } {
  // Most lines consume nothing (a % BR without limit): keep the same object rather than copying
  // the family's counters for every line (10 % of the kernel's self time in bench/profiles).
  if (consumed.length === 0) return { counters, moves: [] };
  const next: Record<string, string> = { ...counters };
  const moves: CounterMove[] = [];
  for (const c of consumed) {
    const kind = counterKind(c.key);
    const before = new Decimal(own(next, c.key) ?? '0');
    const after = Decimal.max(0, before.plus(new Decimal(c.amount).times(sign)));
    next[c.key] = counterText(after, kind);
    moves.push({ key: c.key, before: counterText(before, kind), after: counterText(after, kind) });
  }
  return { counters: next, moves };
}

function withRenewals(renewals: EngineState['renewals'], added: Effects['renewals'], removedLineKey: string | null): EngineState['renewals'] {
  if (added.length === 0 && (removedLineKey === null || !Object.values(renewals).some((es) => es.some((e) => e.lineKey === removedLineKey)))) return renewals;
  const next: Record<string, readonly RenewalEntry[]> = { ...renewals };
  if (removedLineKey !== null) {
    for (const [key, entries] of Object.entries(renewals)) {
      if (entries.some((e) => e.lineKey === removedLineKey)) next[key] = entries.filter((e) => e.lineKey !== removedLineKey);
    }
  }
  for (const { key, entry } of added) {
    const list = [...(own(next, key) ?? []), entry];
    list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    next[key] = list;
  }
  return next;
}

/** Takes back everything a previous version of a line consumed (replay or annulation). */
export function releaseLine(state: EngineState, lineKey: string, record: LineRecord): { state: EngineState; moves: CounterMove[] } {
  const { counters, moves } = moveCounters(state.counters, record.consumed, -1);
  return { state: { counters, renewals: withRenewals(state.renewals, [], lineKey), lines: state.lines }, moves };
}

export function applyEffects(state: EngineState, lineKey: string, effects: Effects, record: LineRecord): { state: EngineState; moves: CounterMove[] } {
  const { counters, moves } = moveCounters(state.counters, effects.consumed, 1);
  return {
    state: { counters, renewals: withRenewals(state.renewals, effects.renewals, null), lines: withLine(state.lines, lineKey, record) },
    moves,
  };
}

export interface RenewalWindow {
  /** units still allowed in the current period */
  left: number;
  /** start of the period the line falls in (the line's own date when a new period opens) */
  since: IsoDate;
  /** first day a new period may open, when the current one is running */
  until: IsoDate | null;
  used: number;
}

/**
 * The renewal period runs from the acquisition that opened it ("à compter de la date d'acquisition
 * du dernier équipement"); acquisitions dated after the line (received out of order) are ignored.
 */
export function renewalWindow(entries: readonly RenewalEntry[], careDate: IsoDate, months: number, capacity: number): RenewalWindow {
  let since: IsoDate | null = null;
  let used = 0;
  for (const e of entries) {
    if (e.date > careDate) break;
    if (since === null || e.date >= addMonths(since, months)) {
      since = e.date;
      used = e.units;
    } else used += e.units;
  }
  if (since !== null && careDate < addMonths(since, months)) {
    return { left: Math.max(0, capacity - used), since, until: addMonths(since, months), used };
  }
  return { left: capacity, since: careDate, until: null, used: 0 };
}
