import type { EngineState, LineRecord } from '../engine/index.js';
import { withLines } from './ledgers.js';

/**
 * A family ledger as `noemie liquidate` moves it (the `--state` file's lines, the shards' load and
 * dump): its head — counters and renewals, what every line of the family reads — and one piece per
 * line record, what only an annulation or a replay of that line reads. Pieces of one family may
 * come in any order and far apart: nothing has to hold a whole family's history to pass it on.
 */
export type LedgerPiece =
  | { family: string; head: Pick<EngineState, 'counters' | 'renewals'> }
  | { family: string; line: string; record: LineRecord };

export function* piecesOf(family: string, state: EngineState): Generator<LedgerPiece> {
  yield { family, head: { counters: state.counters, renewals: state.renewals } };
  for (const bucket of Object.values(state.lines)) for (const [line, record] of Object.entries(bucket)) yield { family, line, record };
}

/** Whole ledgers from their pieces (tests, `noemie estimate`'s one family). */
export function assembleLedgers(pieces: Iterable<LedgerPiece>): Record<string, EngineState> {
  const heads = new Map<string, Pick<EngineState, 'counters' | 'renewals'>>();
  const records = new Map<string, Record<string, LineRecord>>();
  for (const piece of pieces) {
    if ('head' in piece) heads.set(piece.family, piece.head);
    else {
      let mine = records.get(piece.family);
      if (mine === undefined) records.set(piece.family, (mine = {}));
      mine[piece.line] = piece.record;
    }
  }
  const out: Record<string, EngineState> = {};
  for (const family of new Set([...heads.keys(), ...records.keys()])) {
    const head = heads.get(family);
    out[family] = { counters: head?.counters ?? {}, renewals: head?.renewals ?? {}, lines: withLines({}, records.get(family) ?? {}) };
  }
  return out;
}
