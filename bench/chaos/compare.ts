import { Decimal } from 'decimal.js';
import type { HomeSnapshot, PainFile, StrayFile } from './snapshot.js';

/**
 * The comparison core: a home that was killed and restarted against the home of an uninterrupted
 * run of the same drop. Pure (plain data in, findings out), so the test can feed it a doctored
 * snapshot and see each finding appear.
 *
 * Money is compared with decimal.js. "Paid" is what the bank would execute: every transaction of
 * every well-formed pain.001 file handed over (each copy counts), mapped to its order's per-line
 * movements through the EndToEndId; the payment ledger's own "paid" per line is compared apart.
 */
export interface LineMoney {
  lineKey: string;
  payee: string;
  reference: string;
  chaos: string;
}

export interface PainCheck {
  files: number;
  transactions: number;
  /** EndToEndIds present in more than one file (or twice in one), with the files */
  duplicateEndToEndIds: { endToEndId: string; files: string[] }[];
  /** NbOfTxs / CtrlSum that do not match the transactions */
  controlSumErrors: string[];
  emptyFiles: string[];
  unreadableFiles: string[];
  /** transactions whose EndToEndId names no known order */
  unknownTransactions: string[];
  /** a transaction's amount differs from its order's */
  amountMismatches: string[];
}

export interface Findings {
  settlements: {
    reference: number;
    chaos: number;
    /** lineKeys settled in the reference and never in the chaos home */
    missing: string[];
    unexpected: string[];
    /** the latest version decides something else (status, amounts, payee, parts) */
    latestDiffers: string[];
    /** versions beyond the reference's, summed over lines */
    extraVersions: number;
    linesWithExtraVersions: string[];
    /** one (lineKey, version) published with two different contents (not counting those the reference has too) */
    conflictingCopies: string[];
    /** the same in the uninterrupted run: a pipeline behaviour, not a consequence of the kills */
    conflictingInReference: string[];
    /** identical copies beyond the first (at-least-once redeliveries, harmless downstream) */
    redeliveredCopies: number;
  };
  reconciliation: {
    reference: number;
    chaos: number;
    missing: string[];
    /** notices (outcome id without its sequence number) beyond the reference's count: a second notice for the same fact */
    unexpected: string[];
    /** a notice deciding something else than the reference's (kind, amounts, payee) */
    conflicting: string[];
    redeliveredCopies: number;
  };
  pain: { reference: PainCheck; chaos: PainCheck };
  payments: {
    referenceTotal: string;
    chaosTotal: string;
    /** lines the chaos home's files pay more than the reference's */
    overpaid: LineMoney[];
    /** lines the chaos home's files pay less than the reference's */
    underpaid: LineMoney[];
    /** payment ledger "paid" per line and payee differs */
    ledgerDiffers: LineMoney[];
    brokenOrderFiles: string[];
  };
  /** temp files, spools, and the files of run folders the payment ledger never recorded */
  stray: StrayFile[];
  unrecordedRuns: StrayFile[];
  inboxLeft: string[];
}

export interface Summary {
  linesLost: number;
  linesPaidTwice: number;
  endToEndIdsInTwoFiles: number;
  extraSettlementVersions: number;
  duplicateNotices: number;
  strayFiles: number;
  strayFilesWithPersonalData: number;
  emptyOrUnreadablePainFiles: number;
  controlSumErrors: number;
  latestSettlementDiffers: number;
  ledgerDiffers: number;
}

/**
 * Outcome ids name their decision (kind|lineKey@version|claim#revision, `|n` for a second wait:
 * src/reconcile/outcome.ts `outcomeIdOf`), so notices are matched on the whole id. Before, the id
 * ended with a per-person sequence number and one extra event renumbered every later outcome.
 */
export const noticeKey = (outcomeId: string) => outcomeId;

export function checkPain(files: readonly PainFile[], orders: HomeSnapshot['orders']): PainCheck {
  const seen = new Map<string, string[]>();
  const controlSumErrors: string[] = [];
  const unknownTransactions: string[] = [];
  const amountMismatches: string[] = [];
  let transactions = 0;
  for (const f of files) {
    if (!f.transactions || !f.header) continue;
    const sum = f.transactions.reduce((s, t) => s.plus(t.amount || '0'), new Decimal(0));
    if (f.header.nbOfTxs !== String(f.transactions.length) || !sameMoney(f.header.ctrlSum, sum)) {
      controlSumErrors.push(`${f.path}: GrpHdr NbOfTxs ${f.header.nbOfTxs} CtrlSum ${f.header.ctrlSum}, transactions ${f.transactions.length} summing ${sum.toFixed(2)}`);
    }
    const pmtCount = f.header.pmtInf.reduce((s, p) => s + Number(p.nbOfTxs), 0);
    const pmtSum = f.header.pmtInf.reduce((s, p) => s.plus(p.ctrlSum || '0'), new Decimal(0));
    if (pmtCount !== f.transactions.length || !pmtSum.equals(sum)) controlSumErrors.push(`${f.path}: PmtInf NbOfTxs/CtrlSum ${pmtCount}/${pmtSum.toFixed(2)} vs ${f.transactions.length}/${sum.toFixed(2)}`);
    for (const t of f.transactions) {
      transactions += 1;
      seen.set(t.endToEndId, [...(seen.get(t.endToEndId) ?? []), f.path]);
      const order = orders.get(t.endToEndId);
      if (!order) unknownTransactions.push(`${f.path}: ${t.endToEndId}`);
      else if (!sameMoney(order.amount, new Decimal(t.amount || '0'))) amountMismatches.push(`${f.path}: ${t.endToEndId} ${t.amount} vs order ${order.amount}`);
    }
  }
  return {
    files: files.length,
    transactions,
    duplicateEndToEndIds: [...seen].filter(([, fs]) => fs.length > 1).map(([endToEndId, fs]) => ({ endToEndId, files: fs })),
    controlSumErrors,
    emptyFiles: files.filter((f) => f.bytes === 0).map((f) => f.path),
    unreadableFiles: files.filter((f) => f.bytes > 0 && !f.transactions).map((f) => `${f.path}: ${f.error}`),
    unknownTransactions,
    amountMismatches,
  };
}

function sameMoney(text: string, d: Decimal): boolean {
  try {
    return new Decimal(text).equals(d);
  } catch {
    return false;
  }
}

/** What the handed-over files pay, per line and payee (each copy of a transaction counts). */
export function paidByFiles(snapshot: HomeSnapshot): Map<string, Decimal> {
  const paid = new Map<string, Decimal>();
  for (const f of snapshot.painFiles) {
    for (const t of f.transactions ?? []) {
      const order = snapshot.orders.get(t.endToEndId);
      if (!order) continue;
      for (const l of order.lines) {
        const k = `${l.lineKey}\t${order.payee}`;
        paid.set(k, (paid.get(k) ?? new Decimal(0)).plus(l.amount));
      }
    }
  }
  return paid;
}

function moneyDiff(ref: Map<string, Decimal>, chaos: Map<string, Decimal>): { over: LineMoney[]; under: LineMoney[] } {
  const over: LineMoney[] = [];
  const under: LineMoney[] = [];
  for (const k of new Set([...ref.keys(), ...chaos.keys()])) {
    const r = ref.get(k) ?? new Decimal(0);
    const c = chaos.get(k) ?? new Decimal(0);
    if (r.equals(c)) continue;
    const [lineKey, payee] = k.split('\t') as [string, string];
    (c.greaterThan(r) ? over : under).push({ lineKey, payee, reference: r.toFixed(2), chaos: c.toFixed(2) });
  }
  return { over, under };
}

const ledgerMap = (s: HomeSnapshot) => {
  const m = new Map<string, Decimal>();
  for (const [lineKey, payees] of s.ledgerPaid) for (const [payee, amount] of payees) m.set(`${lineKey}\t${payee}`, new Decimal(amount));
  return m;
};

function latestDecision(versions: Map<number, Map<string, number>>): string | undefined {
  const top = Math.max(...versions.keys());
  return [...(versions.get(top)?.keys() ?? [])][0];
}

export function compareHomes(ref: HomeSnapshot, chaos: HomeSnapshot): Findings {
  const missing: string[] = [];
  const latestDiffers: string[] = [];
  const linesWithExtraVersions: string[] = [];
  const conflictingCopies: string[] = [];
  let extraVersions = 0;
  let redeliveredCopies = 0;
  for (const [lineKey, r] of ref.settlements) {
    const c = chaos.settlements.get(lineKey);
    if (!c) {
      missing.push(lineKey);
      continue;
    }
    if (latestDecision(r.versions) !== latestDecision(c.versions)) latestDiffers.push(lineKey);
    const extra = c.versions.size - r.versions.size;
    if (extra > 0) {
      extraVersions += extra;
      linesWithExtraVersions.push(lineKey);
    }
  }
  const conflicts = (s: HomeSnapshot) => {
    const out = new Map<string, string>();
    for (const [lineKey, c] of s.settlements) {
      for (const [version, contents] of c.versions) if (contents.size > 1) out.set(`${lineKey}@${version}`, [...contents].map(([d, n]) => `${n}× ${d}`).join(' / '));
    }
    return out;
  };
  const refConflicts = conflicts(ref);
  for (const [k, text] of conflicts(chaos)) if (!refConflicts.has(k)) conflictingCopies.push(`${k}: ${text}`);
  for (const c of chaos.settlements.values()) for (const contents of c.versions.values()) for (const n of contents.values()) redeliveredCopies += n - 1;
  const unexpected = [...chaos.settlements.keys()].filter((k) => !ref.settlements.has(k));

  // Notices are matched on their id (see noticeKey), counting how many each home sent.
  const notices = (s: HomeSnapshot) => {
    const m = new Map<string, { ids: number; decisions: Set<string> }>();
    for (const [id, contents] of s.outcomes) {
      const key = noticeKey(id);
      const e = m.get(key) ?? { ids: 0, decisions: new Set<string>() };
      e.ids += 1;
      for (const d of contents.keys()) e.decisions.add(d);
      m.set(key, e);
    }
    return m;
  };
  const refNotices = notices(ref);
  const chaosNotices = notices(chaos);
  const outMissing: string[] = [];
  const outUnexpected: string[] = [];
  const outConflicting: string[] = [];
  for (const [key, r] of refNotices) for (let i = chaosNotices.get(key)?.ids ?? 0; i < r.ids; i++) outMissing.push(key);
  for (const [key, c] of chaosNotices) {
    const r = refNotices.get(key);
    for (let i = r?.ids ?? 0; i < c.ids; i++) outUnexpected.push(key);
    if (r && [...c.decisions].some((d) => !r.decisions.has(d))) outConflicting.push(key);
  }
  let outCopies = 0;
  for (const [id, contents] of chaos.outcomes) {
    if (contents.size > 1) outConflicting.push(`${id} (one id, two contents)`);
    for (const n of contents.values()) outCopies += n - 1;
  }

  const refPaid = paidByFiles(ref);
  const chaosPaid = paidByFiles(chaos);
  const byFiles = moneyDiff(refPaid, chaosPaid);
  const byLedger = moneyDiff(ledgerMap(ref), ledgerMap(chaos));
  const total = (m: Map<string, Decimal>) => [...m.values()].reduce((s, d) => s.plus(d), new Decimal(0)).toFixed(2);

  return {
    settlements: {
      reference: ref.settlements.size,
      chaos: chaos.settlements.size,
      missing,
      unexpected,
      latestDiffers,
      extraVersions,
      linesWithExtraVersions,
      conflictingCopies,
      conflictingInReference: [...refConflicts].map(([k, text]) => `${k}: ${text}`),
      redeliveredCopies,
    },
    reconciliation: { reference: ref.outcomes.size, chaos: chaos.outcomes.size, missing: outMissing, unexpected: outUnexpected, conflicting: outConflicting, redeliveredCopies: outCopies },
    pain: { reference: checkPain(ref.painFiles, ref.orders), chaos: checkPain(chaos.painFiles, chaos.orders) },
    payments: {
      referenceTotal: total(refPaid),
      chaosTotal: total(chaosPaid),
      overpaid: byFiles.over,
      underpaid: byFiles.under,
      ledgerDiffers: [...byLedger.over, ...byLedger.under],
      brokenOrderFiles: chaos.brokenOrderFiles,
    },
    stray: chaos.stray,
    unrecordedRuns: chaos.unrecordedRuns,
    inboxLeft: chaos.inboxLeft,
  };
}

export function summarize(f: Findings): Summary {
  const lost = new Set([...f.settlements.missing, ...f.payments.underpaid.map((l) => l.lineKey)]);
  return {
    linesLost: lost.size,
    linesPaidTwice: new Set(f.payments.overpaid.map((l) => l.lineKey)).size,
    endToEndIdsInTwoFiles: f.pain.chaos.duplicateEndToEndIds.length,
    extraSettlementVersions: f.settlements.extraVersions,
    duplicateNotices: f.reconciliation.unexpected.length + f.reconciliation.conflicting.length,
    strayFiles: f.stray.length,
    strayFilesWithPersonalData: f.stray.filter((s) => s.personalData).length,
    emptyOrUnreadablePainFiles: f.pain.chaos.emptyFiles.length + f.pain.chaos.unreadableFiles.length,
    controlSumErrors: f.pain.chaos.controlSumErrors.length,
    latestSettlementDiffers: f.settlements.latestDiffers.length,
    ledgerDiffers: f.payments.ledgerDiffers.length,
  };
}

/** Money safety: the run fails on any of these. */
export function moneyUnsafe(s: Summary): string[] {
  const why: string[] = [];
  if (s.linesLost > 0) why.push(`${s.linesLost} line(s) lost`);
  if (s.linesPaidTwice > 0) why.push(`${s.linesPaidTwice} line(s) paid twice`);
  if (s.endToEndIdsInTwoFiles > 0) why.push(`${s.endToEndIdsInTwoFiles} EndToEndId(s) in two files`);
  if (s.emptyOrUnreadablePainFiles > 0) why.push(`${s.emptyOrUnreadablePainFiles} empty or truncated pain.001 file(s)`);
  if (s.controlSumErrors > 0) why.push(`${s.controlSumErrors} pain.001 control sum error(s)`);
  if (s.latestSettlementDiffers > 0) why.push(`${s.latestSettlementDiffers} line(s) settled differently`);
  // a recovery or a debt is money too, though never a transfer: the ledger must agree line by line
  if (s.ledgerDiffers > 0) why.push(`payment ledger differs on ${s.ledgerDiffers} line(s)`);
  return why;
}
