import type { EngineState, LineRecord } from '../engine/index.js';
import { lineBucket } from '../engine/state.js';

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
  const out: Record<string, { counters: EngineState['counters']; renewals: EngineState['renewals']; lines: Record<string, Record<string, LineRecord>> }> = {};
  for (const piece of pieces) {
    const state = (out[piece.family] ??= { counters: {}, renewals: {}, lines: {} });
    if ('head' in piece) {
      state.counters = piece.head.counters;
      state.renewals = piece.head.renewals;
    } else {
      (state.lines[lineBucket(piece.line)] ??= {})[piece.line] = piece.record;
    }
  }
  return out;
}
