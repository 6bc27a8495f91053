import { Packr } from 'msgpackr';
import type { LineLedger, LineReturn, LineRun } from '../payments/types.js';
import type { BinaryCodec } from '../state/level-store.js';
import type { StoredLine } from './payments-store.js';

/**
 * The value of `payments.line/<lineKey>` (payments-store.ts, `StoredLine`: a LineLedger whose
 * payee-keyed maps are [key, value] pairs) since session 12: msgpack with four structures fixed
 * here, in the code, as `statements.line` does (statement-line-codec.ts) — the line, its
 * settlement facts, its TP facts, a bank return. Every value is written in exactly those shapes
 * (an absent optional field is a nil), so msgpackr writes records of known structures: no key
 * names in the bytes (≈ 90 bytes a line against ≈ 250 in JSON), and a decode that builds the
 * objects from their structures. A line is read up to four times and written up to three in a
 * payment stage (the consumed settlement and outcome, the run's scan and apply, the statements'
 * payment facts): JSON.parse / JSON.stringify of it were ≈ 6 / 4 µs, unpack / pack ≈ 2 / 1.6
 * (bench/README.md, "Session 12 — payments").
 *
 * Values written as JSON (sessions 9–11, the LMDB → LevelDB move) still read: JSON text starts
 * with `{` (0x7b), these records with their structure id (0x40). A line holding a field these
 * structures do not name (a later version's) is written as JSON, whole: never a field dropped.
 * Adding a field means a FIFTH structure (appended: 0x40–0x43 stay what they are), never a change
 * of these four.
 *
 * Session 21: the fifth (0x44), `LINE_RUNS`, is the line with its run list (`runs`, which a
 * separate `payments.line-runs/<lineKey>` value held before: one key and one put per paid line
 * less). msgpackr takes a structure by the object's keys in order: a line without `runs` is packed
 * with 0x40 as before, byte for byte (test/pipeline/payment-line-codec.int.test.ts). The runs are
 * arrays, not records: `[runId, at, [[payee, amount] | [payee, amount, endToEndId, code, label], …]]`
 * (a movement the bank returned carries its mark's three fields). Not the reverse: a build before
 * session 21 cannot read a line written with 0x44.
 */
const LINE = ['settlement', 'tp', 'returns', 'paid', 'returned'];
const SETTLEMENT = ['version', 'status', 'annulled', 'tiersPayant', 'adherentId', 'amcAmount', 'careDate'];
const TP = ['version', 'kind', 'payee', 'owed'];
const RETURN = ['payee', 'paymentId', 'runId', 'amount', 'code', 'label', 'blocks', 'file', 'record', 'at'];
const LINE_RUNS = [...LINE, 'runs'];
const JSON_OBJECT = 0x7b;

// the structures are the format's: none is ever added (maxSharedStructures) and nothing is saved
const packr = new Packr({ structures: [LINE.slice(), SETTLEMENT.slice(), TP.slice(), RETURN.slice(), LINE_RUNS.slice()], maxSharedStructures: 5 });

type Facts = NonNullable<StoredLine['settlement']>;
type Tp = NonNullable<StoredLine['tp']>;
type Pairs<V> = readonly (readonly [string, V])[];

const LINE_KEYS = new Set(LINE_RUNS);
const RUN_KEYS = new Set(['runId', 'at', 'moved']);
const MOVED_KEYS = new Set(['payee', 'amount', 'returned']);
const MARK_KEYS = new Set(['endToEndId', 'code', 'label']);
const SETTLEMENT_KEYS = new Set(SETTLEMENT);
const TP_KEYS = new Set(TP);
const RETURN_KEYS = new Set(RETURN);

/** Whether every own key of `o` is one of `known` (a field the structures do not name: JSON instead). */
function only(o: object, known: ReadonlySet<string>): boolean {
  for (const k in o) if (!known.has(k)) return false;
  return true;
}

const pairsOf = <V>(m: Pairs<V> | Readonly<Record<string, V>>): Pairs<V> => (Array.isArray(m) ? (m as Pairs<V>) : Object.entries(m));

/** Whether a run list is of the shapes the arrays hold (strings where strings are): else the line is JSON. */
function runsFit(runs: readonly LineRun[] | undefined): boolean {
  if (runs === undefined) return true;
  if (!Array.isArray(runs)) return false;
  for (const r of runs) {
    if (r === null || typeof r !== 'object' || !only(r, RUN_KEYS) || typeof r.runId !== 'string' || typeof r.at !== 'string' || !Array.isArray(r.moved)) return false;
    for (const m of r.moved) {
      if (m === null || typeof m !== 'object' || !only(m, MOVED_KEYS) || typeof m.payee !== 'string' || typeof m.amount !== 'string') return false;
      const x = m.returned;
      if (x !== undefined && (x === null || typeof x !== 'object' || !only(x, MARK_KEYS) || typeof x.endToEndId !== 'string' || typeof x.code !== 'string' || typeof x.label !== 'string')) return false;
    }
  }
  return true;
}

type MovedWire = [payee: string, amount: string] | [payee: string, amount: string, endToEndId: string, code: string, label: string];
type RunWire = [runId: string, at: string, moved: MovedWire[]];

const runsWire = (runs: readonly LineRun[]): RunWire[] =>
  runs.map((r) => [r.runId, r.at, r.moved.map((m): MovedWire => (m.returned === undefined ? [m.payee, m.amount] : [m.payee, m.amount, m.returned.endToEndId, m.returned.code, m.returned.label]))]);

const runsOf = (wire: readonly RunWire[]): LineRun[] =>
  wire.map(([runId, at, moved]) => ({ runId, at, moved: moved.map((m) => (m.length === 2 ? { payee: m[0], amount: m[1] } : { payee: m[0], amount: m[1], returned: { endToEndId: m[2], code: m[3], label: m[4] } })) }));

function fits(line: StoredLine): boolean {
  if (!only(line, LINE_KEYS)) return false;
  if (line.settlement !== null && !only(line.settlement, SETTLEMENT_KEYS)) return false;
  if (line.tp !== null && !only(line.tp, TP_KEYS)) return false;
  if (line.returned !== undefined) for (const [, r] of pairsOf(line.returned)) if (!only(r, RETURN_KEYS)) return false;
  return runsFit(line.runs);
}

function encode(line: StoredLine): Uint8Array {
  if (!fits(line)) return Buffer.from(JSON.stringify(line), 'utf8');
  return packFitting(line);
}

/** A line that fits the structures, packed: every object in its structure's key order, every field there (nil for an absent one). */
function packFitting(line: StoredLine | LineLedger): Uint8Array {
  const s = line.settlement;
  const tp = line.tp;
  const w: Wire = {
    settlement: s === null ? null : { version: s.version, status: s.status, annulled: s.annulled, tiersPayant: s.tiersPayant, adherentId: s.adherentId, amcAmount: s.amcAmount, careDate: s.careDate ?? null },
    tp: tp === null ? null : { version: tp.version, kind: tp.kind, payee: tp.payee, owed: tp.owed },
    returns: line.returns ?? null,
    paid: pairsOf(line.paid),
    returned:
      line.returned === undefined
        ? null
        : pairsOf(line.returned).map(([id, r]) => [id, { payee: r.payee, paymentId: r.paymentId, runId: r.runId, amount: r.amount, code: r.code, label: r.label, blocks: r.blocks, file: r.file, record: r.record, at: r.at }]),
  };
  // (the sixth key last: the structure LINE_RUNS; without it, LINE as before)
  if (line.runs !== undefined) w.runs = runsWire(line.runs);
  return packr.pack(w);
}

interface Wire {
  settlement: (Omit<Facts, 'careDate'> & { careDate: string | null }) | null;
  tp: Tp | null;
  returns: number | null;
  paid: Pairs<string>;
  returned: Pairs<LineReturn> | null;
  /** LINE_RUNS only */
  runs?: RunWire[];
}

/** The settlement facts a packed value holds, in the fields' order JSON gave them (careDate last, when known). */
function factsOf(w: Wire): Facts | null {
  const s = w.settlement;
  if (s === null) return null;
  const facts: Facts = { version: s.version, status: s.status, annulled: s.annulled, tiersPayant: s.tiersPayant, adherentId: s.adherentId, amcAmount: s.amcAmount };
  if (s.careDate !== null) facts.careDate = s.careDate;
  return facts;
}

/**
 * The StoredLine a value holds, as JSON.parse gave it before: the same fields in the same order
 * (settlement, tp, returns?, paid, returned? — `storedLine`'s), the absent optional ones left out.
 */
function decode(raw: Buffer): StoredLine {
  if (raw[0] === JSON_OBJECT) return JSON.parse(raw.toString('utf8')) as StoredLine;
  const w = packr.unpack(raw) as Wire;
  const settlement = factsOf(w);
  const out: StoredLine = w.returns === null ? { settlement, tp: w.tp, paid: w.paid } : { settlement, tp: w.tp, returns: w.returns, paid: w.paid };
  if (w.returned !== null) out.returned = w.returned;
  if (w.runs !== undefined) out.runs = runsOf(w.runs);
  return out;
}

export const paymentLineCodec: BinaryCodec<StoredLine> = { encode, decode };

/**
 * The same bytes as `paymentLineCodec`, read and written as the LineLedger the payment code uses
 * (payee-keyed objects): a line is read up to four times in a payment stage (the consumed
 * settlement and outcome, the run's scan and apply) and written up to three, and going through
 * the StoredLine (its pairs) built one more object per read and per write, plus a copy of the line
 * field by field (bench/README.md, "Session 14 — payments"). `toLedger` turns what the value held
 * before (JSON, pairs or objects) into the LineLedger; `toStored` gives the StoredLine a JSON value
 * holds (a line with a field the structures do not name).
 */
export function ledgerLineCodec(toLedger: (stored: StoredLine) => LineLedger, toStored: (line: LineLedger) => StoredLine): BinaryCodec<LineLedger> {
  return {
    encode(line: LineLedger): Uint8Array {
      return fitsLedger(line) ? packFitting(line) : Buffer.from(JSON.stringify(toStored(line)), 'utf8');
    },
    decode(raw: Buffer): LineLedger {
      if (raw[0] === JSON_OBJECT) return toLedger(JSON.parse(raw.toString('utf8')) as StoredLine);
      const w = packr.unpack(raw) as Wire;
      const settlement = factsOf(w);
      // the fields in the order the StoredLine → LineLedger conversion always gave them (payments-store.ts lineOf)
      const line: LineLedger = { settlement, tp: w.tp, paid: Object.fromEntries(w.paid) };
      if (w.returns !== null) line.returns = w.returns;
      if (w.returned !== null) line.returned = Object.fromEntries(w.returned);
      if (w.runs !== undefined) line.runs = runsOf(w.runs);
      return line;
    },
  };
}

/** `fits` for a LineLedger (its maps are objects). */
function fitsLedger(line: LineLedger): boolean {
  if (!only(line, LINE_KEYS)) return false;
  if (line.settlement !== null && !only(line.settlement, SETTLEMENT_KEYS)) return false;
  if (line.tp !== null && !only(line.tp, TP_KEYS)) return false;
  if (line.returned !== undefined) for (const id in line.returned) if (!only(line.returned[id]!, RETURN_KEYS)) return false;
  return runsFit(line.runs);
}
