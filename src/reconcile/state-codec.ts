import type { TpClaim } from '../model/tp-claim.js';
import { emptyDict } from './dict.js';
import type { ClaimEntry, LineEntry, LineStatus, ReconState } from './types.js';

/**
 * The compact form of one beneficiary's ReconState, as kept in the state store and published on
 * `reconcile-changelog` (JSON text): arrays in a fixed field order instead of objects keyed by
 * data (maps of lineKey → entry). Why: the whole-object form repeats every field name of every
 * entry (≈ 2.2 KB per line on the changelog), and msgpackr, given objects whose key sets are data,
 * wrote a new record definition for each of them (a quarter of the service's time in the 100 k
 * profile). Arrays are structural: nothing in the encoding depends on the data.
 *
 *   [2, seq, [line…], [claim…]]
 *   line  = [lineKey, version, status, tp, nir, rang, careDate, psId, actCode, invoiceNo, adherentId,
 *            amcAmount, settled, claimId, owed, heldSince, deadline, exceptionRaised, holds]
 *   claim = [tpClaimId, operator, psId, nir, rang, careDate, actCode, invoiceNo, amcAmountClaimed,
 *            paidOn, revision, receivedAt, lineKey, deadline, exceptionRaised, waits, recoveredOn]
 *
 * `nir` / `rang` are 0 when they are the key's (always, in the service: a state is kept under its
 * beneficiary's NIR-rang), so the NIR is not repeated in every entry; absent optional fields are
 * null. The field lists are checked against the zod schemas by test/reconcile/state-codec.test.ts,
 * so a field added to an entry cannot be dropped silently.
 */
export const COMPACT_STATE_VERSION = 2;

export type CompactState = [typeof COMPACT_STATE_VERSION, number, unknown[][], unknown[][]];

/** The entry fields the tuples carry, in order (identity flattened; the test compares them with the schemas). */
export const LINE_FIELDS = ['lineKey', 'version', 'status', 'tp', 'identity.nir', 'identity.rang', 'identity.careDate', 'identity.psId', 'identity.actCode', 'invoiceNo', 'adherentId', 'amcAmount', 'settled', 'claimId', 'owed', 'heldSince', 'deadline', 'exceptionRaised', 'holds'] as const;
export const CLAIM_FIELDS = ['claim.tpClaimId', 'claim.operator', 'claim.psId', 'claim.nir', 'claim.rang', 'claim.careDate', 'claim.actCode', 'claim.invoiceNo', 'claim.amcAmountClaimed', 'claim.paidOn', 'revision', 'receivedAt', 'lineKey', 'deadline', 'exceptionRaised', 'waits', 'recoveredOn'] as const;

/** NIR and rang of a state key `NIR-rang` (a NIR holds no '-': digits, 2A / 2B). */
export function personOf(key: string): { nir: string; rang: number } {
  const dash = key.lastIndexOf('-');
  return { nir: key.slice(0, dash), rang: Number(key.slice(dash + 1)) };
}

export function lineTuple(l: LineEntry, p: { nir: string; rang: number }): unknown[] {
  const id = l.identity;
  return [
    l.lineKey, l.version, l.status, l.tp, id.nir === p.nir ? 0 : id.nir, id.rang === p.rang ? 0 : id.rang, id.careDate, id.psId, id.actCode,
    l.invoiceNo, l.adherentId, l.amcAmount, l.settled, l.claimId, l.owed, l.heldSince, l.deadline, l.exceptionRaised, l.holds ?? null,
  ];
}

export function claimTuple(e: ClaimEntry, p: { nir: string; rang: number }): unknown[] {
  const c = e.claim;
  return [
    c.tpClaimId, c.operator, c.psId, c.nir === p.nir ? 0 : c.nir, c.rang === p.rang ? 0 : c.rang, c.careDate, c.actCode, c.invoiceNo, c.amcAmountClaimed,
    c.paidOn, e.revision, e.receivedAt, e.lineKey, e.deadline, e.exceptionRaised, e.waits ?? null, e.recoveredOn ?? null,
  ];
}

export function encodeReconState(key: string, state: ReconState): CompactState {
  const p = personOf(key);
  const lines: unknown[][] = [];
  for (const k in state.lines) lines.push(lineTuple(state.lines[k]!, p));
  const claims: unknown[][] = [];
  for (const k in state.claims) claims.push(claimTuple(state.claims[k]!, p));
  return [COMPACT_STATE_VERSION, state.seq, lines, claims];
}

/** The JSON text of each entry object of a state, kept beside it (EntryTexts of the state before a change). */
export type EntryTexts = Map<object, string>;

/**
 * JSON.stringify(encodeReconState(key, state)) — the same text — and each entry's JSON. Entries
 * are never changed in place (a decision replaces them), so an entry object found in `known` (the
 * texts of the state before the change, under the same key) is not encoded again: a change costs
 * the entries it replaced plus a join, not every field of the person's whole history.
 */
export function encodeReconStateText(key: string, state: ReconState, known?: EntryTexts): { text: string; texts: EntryTexts } {
  const p = personOf(key);
  const texts: EntryTexts = new Map();
  const lines: string[] = [];
  for (const k in state.lines) {
    const entry = state.lines[k]!;
    const text = known?.get(entry) ?? JSON.stringify(lineTuple(entry, p));
    texts.set(entry, text);
    lines.push(text);
  }
  const claims: string[] = [];
  for (const k in state.claims) {
    const entry = state.claims[k]!;
    const text = known?.get(entry) ?? JSON.stringify(claimTuple(entry, p));
    texts.set(entry, text);
    claims.push(text);
  }
  return { text: `[${COMPACT_STATE_VERSION},${JSON.stringify(state.seq)},[${lines.join(',')}],[${claims.join(',')}]]`, texts };
}

export function isCompactState(value: unknown): value is CompactState {
  return Array.isArray(value) && value[0] === COMPACT_STATE_VERSION;
}

export function lineOf(t: unknown[], p: { nir: string; rang: number }): LineEntry {
  const line: LineEntry = {
    lineKey: t[0] as string,
    version: t[1] as number,
    status: t[2] as LineStatus,
    tp: t[3] as string | null,
    identity: { nir: t[4] === 0 ? p.nir : (t[4] as string), rang: t[5] === 0 ? p.rang : (t[5] as number), careDate: t[6] as string, psId: t[7] as string | null, actCode: t[8] as string },
    invoiceNo: t[9] as string | null,
    adherentId: t[10] as string | null,
    amcAmount: t[11] as string,
    settled: t[12] as string,
    claimId: t[13] as string | null,
    owed: t[14] as string | null,
    heldSince: t[15] as string | null,
    deadline: t[16] as string | null,
    exceptionRaised: t[17] as boolean,
  };
  if (t[18] !== null && t[18] !== undefined) line.holds = t[18] as number;
  return line;
}

export function claimOf(t: unknown[], p: { nir: string; rang: number }): ClaimEntry {
  const claim: TpClaim = {
    tpClaimId: t[0] as string,
    operator: t[1] as string,
    psId: t[2] as string,
    nir: t[3] === 0 ? p.nir : (t[3] as string),
    rang: t[4] === 0 ? p.rang : (t[4] as number),
    careDate: t[5] as string,
    actCode: t[6] as string,
    invoiceNo: t[7] as string | null,
    amcAmountClaimed: t[8] as string,
    paidOn: t[9] as string | null,
  };
  const entry: ClaimEntry = {
    claim,
    revision: t[10] as number,
    receivedAt: t[11] as string,
    lineKey: t[12] as string | null,
    deadline: t[13] as string | null,
    exceptionRaised: t[14] as boolean,
  };
  if (t[15] !== null && t[15] !== undefined) entry.waits = t[15] as number;
  if (t[16] !== null && t[16] !== undefined) entry.recoveredOn = t[16] as string;
  return entry;
}

/**
 * The state back from its compact form. Not a validation: the store's values are this service's
 * own; what comes from the bus goes through parseReconState (zod) after this.
 */
export function decodeReconState(key: string, compact: CompactState): ReconState {
  if (!isCompactState(compact) || !Array.isArray(compact[2]) || !Array.isArray(compact[3])) throw new Error(`not a compact reconciliation state (version ${COMPACT_STATE_VERSION})`);
  const p = personOf(key);
  const lines = emptyDict<LineEntry>();
  for (const t of compact[2] as unknown[][]) {
    const line = lineOf(t, p);
    lines[line.lineKey] = line;
  }
  const claims = emptyDict<ClaimEntry>();
  for (const t of compact[3] as unknown[][]) {
    const entry = claimOf(t, p);
    claims[entry.claim.tpClaimId] = entry;
  }
  return { lines, claims, seq: compact[1] };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** The quote at `at` is escaped: an odd number of backslashes before it. */
function escaped(text: string, at: number): boolean {
  let n = 0;
  for (let k = at - 1; text.charCodeAt(k) === BACKSLASH; k--) n += 1;
  return n % 2 === 1;
}

/**
 * The tuples of a text written by encodeReconStateText (`[2,seq,[[…],[…]],[[…]]]`, no spaces,
 * tuples of scalars), as substrings: [seq, line texts, claim texts]; undefined for any other text.
 */
function splitCanonical(text: string): [number, string[], string[]] | undefined {
  const head = `[${COMPACT_STATE_VERSION},`;
  if (!text.startsWith(head)) return undefined;
  const comma = text.indexOf(',', head.length);
  const seq = Number(text.slice(head.length, comma));
  if (!Number.isInteger(seq) || text.charCodeAt(comma + 1) !== OPEN) return undefined;
  const lists: string[][] = [[], []];
  let list = -1;
  let depth = 1;
  let start = 0;
  for (let i = comma + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // strings are most of the text: jump to the closing quote (the next one not escaped)
      if (depth !== 3) return undefined;
      let j = text.indexOf('"', i + 1);
      while (j !== -1 && escaped(text, j)) j = text.indexOf('"', j + 1);
      if (j === -1) return undefined;
      i = j;
    } else if (c === OPEN) {
      depth += 1;
      if (depth === 2) list += 1;
      else if (depth === 3) start = i;
      else return undefined;
    } else if (c === CLOSE) {
      if (depth === 3) lists[list]!.push(text.slice(start, i + 1));
      depth -= 1;
      if (depth === 0 && i !== text.length - 1) return undefined;
    }
  }
  if (depth !== 0 || list !== 1) return undefined;
  return [seq, lists[0]!, lists[1]!];
}

/**
 * decodeReconState of a compact text, with each entry's text (EntryTexts), so the first change
 * after a read re-encodes only what it replaced. A text not in the canonical form (another
 * writer's spacing) is parsed whole, without texts.
 */
export function decodeReconStateText(key: string, text: string): { state: ReconState; texts: EntryTexts | undefined } {
  const split = splitCanonical(text);
  if (split === undefined) return { state: decodeReconState(key, JSON.parse(text) as CompactState), texts: undefined };
  const p = personOf(key);
  const texts: EntryTexts = new Map();
  const lines = emptyDict<LineEntry>();
  for (const t of split[1]) {
    const line = lineOf(JSON.parse(t) as unknown[], p);
    lines[line.lineKey] = line;
    texts.set(line, t);
  }
  const claims = emptyDict<ClaimEntry>();
  for (const t of split[2]) {
    const entry = claimOf(JSON.parse(t) as unknown[], p);
    claims[entry.claim.tpClaimId] = entry;
    texts.set(entry, t);
  }
  return { state: { lines, claims, seq: split[0] }, texts };
}
