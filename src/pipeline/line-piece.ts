/**
 * A ledger's LINE piece as it is stored since session 17 (counters-changelog value, the state
 * store's text): positional, the field names and the line key left out — they were a third of a
 * piece's JSON (≈ 250 B of names and the 41 B lineKey repeated, of ≈ 765 B), and stringifying the
 * kernel's record stamped in place (new hidden classes, bench/README.md "Session 16 — kernel")
 * cost more than an array of its values:
 *
 *   [4, seq, record | null, undo | null]
 *   record: [version, operation, status, payee, expense, roAmount, amcAmount, restToPay,
 *            parts, consumed, renewals, inputHash, lineHash, reversed, seen, recordIds, input,
 *            cause, {any other field}?]   (absent: null; trailing nulls left out)
 *   a part [contract, amount, rule?, formula?], a consumption [key, amount], a renewal
 *   [key, date, units, lineKey?] (lineKey left out when it is the piece's own line), the input
 *   [at, n0, n1, line]: each only when the element has exactly those fields in that order (the
 *   engine's); any other element (a part with `slices`, …) stays the object it is.
 *
 * The first element, 4, tells it from the object form `{"v":3,"piece":"line",…}` that earlier
 * builds wrote (and that heads still are): every reader reads both (ledgers.ts `decodeSnapshot`,
 * ledger-store.ts `decode`). Decoding gives the object back, deep-equal to the one encoded with its
 * fields and each element's fields in the same order (so texts made of them, e.g. a JSON of
 * `consumed` compared in liquidate-lines.ts `sameDecision`, are the same). Never reorder
 * RECORD_FIELDS: pieces already written are read by position.
 */
export const LINE_PIECE_TAG = 4;

export const RECORD_FIELDS = [
  'version', 'operation', 'status', 'payee', 'expense', 'roAmount', 'amcAmount', 'restToPay',
  'parts', 'consumed', 'renewals', 'inputHash', 'lineHash', 'reversed', 'seen', 'recordIds', 'input', 'cause',
] as const;
const KNOWN = new Set<string>(RECORD_FIELDS);
const EXTRA = RECORD_FIELDS.length;
const PARTS = 8;
const CONSUMED = 9;
const RENEWALS = 10;
const RECORD_IDS = 15;
const INPUT = 16;

/** As stampLines puts them: record ids when there are any, the input on an I record, the cause when given. */
function stamped(i: number, own: unknown, r: Obj, stamp: Stamp): unknown {
  if (i === RECORD_IDS) return stamp.recordIds && stamp.recordIds.length > 0 ? stamp.recordIds : own;
  if (i === INPUT) return stamp.input && r.operation === 'I' ? stamp.input : own;
  return stamp.cause ?? own;
}

export type LineTuple = [typeof LINE_PIECE_TAG, number, unknown[] | null, unknown[] | null];

type Obj = Record<string, unknown>;

/** The stored form of a line piece of `line` (its lineKey) written at `seq`. */
export function lineTuple(line: string, seq: number, record: object | null, undo: object | null, stamp?: Stamp): LineTuple {
  return [LINE_PIECE_TAG, seq, record === null ? null : recordTuple(record as Obj, line, stamp), undo === null ? null : recordTuple(undo as Obj, line)];
}

/** The pipeline's fields of a record (ledgers.ts `stampLines`), written into its tuple instead of into the record. */
export interface Stamp {
  recordIds?: readonly string[];
  input?: unknown;
  cause?: unknown;
}

export function isLineTuple(value: unknown): value is unknown[] {
  return Array.isArray(value) && value[0] === LINE_PIECE_TAG;
}

function recordTuple(r: Obj, line: string, stamp?: Stamp): unknown[] {
  const out: unknown[] = new Array(EXTRA);
  let end = 0;
  let present = 0;
  let extra: Obj | undefined;
  for (let i = 0; i < EXTRA; i++) {
    const f = RECORD_FIELDS[i]!;
    const own = r[f];
    out[i] = null;
    if (own !== undefined) present += 1;
    const v = stamp === undefined || i < RECORD_IDS ? own : stamped(i, own, r, stamp);
    if (v === undefined) continue;
    // a null field (none of the engine's or pipeline's is) rides in the trailing object: null means absent
    if (v === null) {
      (extra ??= {})[f] = null;
      continue;
    }
    out[i] = i === PARTS ? listOf(v, partTuple, line) : i === CONSUMED ? listOf(v, consumedTuple, line) : i === RENEWALS ? listOf(v, renewalTuple, line) : i === INPUT ? inputTuple(v) : v;
    end = i + 1;
  }
  // fields the list does not name (the schema lets a record carry more): only looked for when the record holds more keys
  if (Object.keys(r).length > present) {
    for (const k in r) {
      if (!Object.hasOwn(r, k) || KNOWN.has(k) || r[k] === undefined) continue;
      (extra ??= {})[k] = r[k];
    }
  }
  if (extra !== undefined) {
    out[EXTRA] = extra;
    return out;
  }
  out.length = end;
  return out;
}

function listOf(v: unknown, tuple: (o: Obj, line: string) => unknown, line: string): unknown {
  if (!Array.isArray(v)) return v;
  const out: unknown[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const o = v[i] as unknown;
    out[i] = typeof o === 'object' && o !== null && !Array.isArray(o) ? tuple(o as Obj, line) : o;
  }
  return out;
}

/** `o`'s own keys are exactly `names` (a prefix of at least `min` of them when `min` is given), in that order, each a string unless listed in `numbers`. */
function shaped(o: Obj, names: readonly string[], min = names.length): number {
  let n = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    if (n >= names.length || k !== names[n]) return -1;
    n += 1;
  }
  return n >= min ? n : -1;
}

const PART = ['contract', 'amount', 'rule', 'formula'] as const;
function partTuple(o: Obj): unknown {
  const n = shaped(o, PART, 2);
  if (n < 0) return o;
  // rule and formula are optional: a formula without a rule keeps the rule's place with null (then no null is a value)
  if (n === 4 && (o.rule === undefined || o.rule === null)) return o;
  for (let i = 0; i < n; i++) if (typeof o[PART[i]!] !== 'string') return o;
  return n === 2 ? [o.contract, o.amount] : n === 3 ? [o.contract, o.amount, o.rule] : [o.contract, o.amount, o.rule, o.formula];
}

function consumedTuple(o: Obj): unknown {
  if (shaped(o, ['key', 'amount']) < 0 || typeof o.key !== 'string' || typeof o.amount !== 'string') return o;
  return [o.key, o.amount];
}

function renewalTuple(o: Obj, line: string): unknown {
  if (shaped(o, ['key', 'entry']) < 0 || typeof o.key !== 'string') return o;
  const e = o.entry as Obj;
  if (typeof e !== 'object' || e === null || shaped(e, ['date', 'units', 'lineKey']) < 0 || typeof e.date !== 'string' || typeof e.units !== 'number' || typeof e.lineKey !== 'string') return o;
  return e.lineKey === line ? [o.key, e.date, e.units] : [o.key, e.date, e.units, e.lineKey];
}

function inputTuple(v: unknown): unknown {
  const o = v as Obj;
  if (typeof o !== 'object' || o === null || shaped(o, ['at', 'n', 'line']) < 0) return v;
  const n = o.n as unknown[];
  if (typeof o.at !== 'string' || !Array.isArray(n) || n.length !== 2 || typeof n[0] !== 'number' || typeof n[1] !== 'number' || !Array.isArray(o.line)) return v;
  return [o.at, n[0], n[1], o.line];
}

/**
 * The line piece's object (`{ v: 4, piece: 'line', line, seq, record, undo }`) from its stored
 * form and its lineKey (the piece key's part after `#`). Throws on a value that is not such a tuple;
 * the fields themselves are checked by the caller (zod on the changelog; the store's own writes are trusted).
 */
export function linePieceOfTuple(line: string, t: unknown[]): { v: 4; piece: 'line'; line: string; seq: number; record: Obj | null; undo: Obj | null } {
  if (t.length !== 4 || t[0] !== LINE_PIECE_TAG || typeof t[1] !== 'number') throw new Error('not a line piece tuple [4, seq, record, undo]');
  return { v: LINE_PIECE_TAG, piece: 'line', line, seq: t[1], record: recordOf(t[2], line), undo: recordOf(t[3], line) };
}

function recordOf(t: unknown, line: string): Obj | null {
  if (t === null) return null;
  if (!Array.isArray(t)) throw new Error('a record is not an array');
  const r: Obj = {};
  const n = Math.min(t.length, EXTRA);
  for (let i = 0; i < n; i++) {
    const v = t[i] as unknown;
    if (v === null || v === undefined) continue;
    r[RECORD_FIELDS[i]!] = i === PARTS ? listBack(v, partOf, line) : i === CONSUMED ? listBack(v, consumedOf, line) : i === RENEWALS ? listBack(v, renewalOf, line) : i === INPUT ? inputOf(v) : v;
  }
  const extra = t[EXTRA];
  if (extra !== undefined && extra !== null) {
    if (typeof extra !== 'object' || Array.isArray(extra)) throw new Error('a record holds something other than an object past its fields');
    Object.assign(r, extra);
  }
  return r;
}

function listBack(v: unknown, of: (t: unknown[], line: string) => Obj, line: string): unknown {
  if (!Array.isArray(v)) return v;
  const out: unknown[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const e = v[i] as unknown;
    out[i] = Array.isArray(e) ? of(e, line) : e;
  }
  return out;
}

function partOf(t: unknown[]): Obj {
  return t.length === 2 ? { contract: t[0], amount: t[1] } : t.length === 3 ? { contract: t[0], amount: t[1], rule: t[2] } : { contract: t[0], amount: t[1], rule: t[2], formula: t[3] };
}

function consumedOf(t: unknown[]): Obj {
  return { key: t[0], amount: t[1] };
}

function renewalOf(t: unknown[], line: string): Obj {
  return { key: t[0], entry: { date: t[1], units: t[2], lineKey: t.length > 3 ? t[3] : line } };
}

function inputOf(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  return { at: v[0], n: [v[1], v[2]], line: v[3] };
}
