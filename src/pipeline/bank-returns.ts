import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Decimal } from 'decimal.js';
import { isBankReturnName, isInProgressName } from '../ingest/inbox/complete.js';
import type { InboxLayout } from '../ingest/inbox/layout.js';
import { stamp } from '../ingest/inbox/move.js';
import { INCOMPLETE_GRACE_MS } from '../ingest/inbox/settled.js';
import { MAX_BANK_FILE_BYTES, parseBankMessage, sniffBankMessage, type BankMessage, type BankTxStatus } from '../payments/bank-returns/parse.js';
import { returnReason } from '../payments/bank-returns/reasons.js';
import { PaymentsError } from '../payments/errors.js';
import { applyReturn, type TransferRecord } from '../payments/returns.js';
import type { PaymentsLedger, ReturnBlock } from '../payments/types.js';
import { applyCursorOf, applyStreamedRun } from './payment-run-stream.js';
import { PaymentsStore, type ReturnedTransfer, type ReturnException, type ReturnFileRecord } from './payments-store.js';

/**
 * A bank return file (camt.054 or pain.002) applied to the payment state: every returned or
 * rejected transfer of ours is undone (src/payments/returns.ts: the amount due again, the payee
 * blocked on that account when the reason is about the account); anything that cannot be applied —
 * an EndToEndId no transfer of ours carries, a second return of the same transfer, an amount that
 * is not the transfer's — is kept as an exception for ops (file, record, reason). ONE commit per
 * file, keyed by the file's SHA-256: the same bytes again are skipped, a crash applies all or none.
 * A malformed file throws PAYMENTS_RETURN_MALFORMED (file, record, field) before anything is applied.
 */
export interface AppliedReturn extends ReturnedTransfer {
  endToEndId: string;
}

export interface BankReturnReport {
  file: string;
  sha256: string;
  format: BankMessage['format'] | null;
  messageId: string | null;
  /** the same bytes were applied before: nothing done */
  duplicateOf: ReturnFileRecord | null;
  returned: AppliedReturn[];
  acknowledged: number;
  exceptions: ReturnException[];
}


/** Whether an inbox file is a bank return: by its name (camt054*.xml, pain002*.xml) or its root namespace. */
export function isBankReturnFile(name: string, head: string): boolean {
  return isBankReturnName(name) || (name.toLowerCase().endsWith('.xml') && sniffBankMessage(head) !== null);
}

export interface ApplyReturnOptions {
  /** when the file is applied (data, not a clock read inside) */
  at: string;
  /** how the file is named in the state and messages; default its base name */
  label?: string;
}

export async function applyBankReturnFile(store: PaymentsStore, path: string, options: ApplyReturnOptions): Promise<BankReturnReport> {
  const bytes = await readBankReturnFile(path, options.label ?? basename(path));
  return applyBankReturnBytes(store, bytes, { ...options, label: options.label ?? basename(path) });
}

/**
 * A bank return file's bytes, refused unread past MAX_BANK_FILE_BYTES (PAYMENTS_RETURN_MALFORMED):
 * what `noemie payments returns` sends to a running service holding the payment state.
 */
export async function readBankReturnFile(path: string, label: string = basename(path)): Promise<Buffer> {
  if ((await stat(path)).size > MAX_BANK_FILE_BYTES) throw tooLarge(label);
  return readFile(path);
}

const tooLarge = (file: string) => new PaymentsError('PAYMENTS_RETURN_MALFORMED', `${file}: Document: larger than ${MAX_BANK_FILE_BYTES} bytes: refused unread`, { file, field: 'Document' });

/**
 * A bank return file given by its bytes (the admin API's POST /v1/admin/bank-returns): keyed by
 * their SHA-256 as a file read here is, so the same bytes given either way are applied once.
 */
export async function applyBankReturnBytes(store: PaymentsStore, bytes: Buffer, options: ApplyReturnOptions & { label: string }): Promise<BankReturnReport> {
  const file = options.label;
  if (bytes.length > MAX_BANK_FILE_BYTES) throw tooLarge(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const seen = store.returnFiles.get(sha256);
  if (seen !== undefined) return { file, sha256, format: null, messageId: null, duplicateOf: seen, returned: [], acknowledged: 0, exceptions: [] };
  const message = parseBankMessage(bytes.toString('utf8'), file);
  return applyBankMessage(store, message, { file, sha256, at: options.at });
}

/** Applies a parsed message in one commit (exported for tests; `applyBankReturnFile` is the entry point). */
export async function applyBankMessage(store: PaymentsStore, message: BankMessage, where: { file: string; sha256: string; at: string }): Promise<BankReturnReport> {
  const { file, sha256, at } = where;
  // a payment run recorded but not wholly applied (a crash): its line updates go first — they
  // are computed from the lines as the run decided on them, which a return would change under it
  if (applyCursorOf(store) !== null) await applyStreamedRun(store);
  let report!: BankReturnReport;
  await store.commitReturns(async () => {
    const duplicateOf = store.returnFiles.get(sha256) ?? null;
    report = { file, sha256, format: message.format, messageId: message.messageId, duplicateOf, returned: [], acknowledged: 0, exceptions: [] };
    const empty = { before: { lines: {}, operatorPaid: {}, due: {}, debts: {}, runs: {}, held: {}, approvals: {} } satisfies PaymentsLedger, write: () => {} };
    if (duplicateOf !== null) return { ...empty, after: empty.before };

    const exception = (tx: Pick<BankTxStatus, 'record' | 'path'> & { endToEndId: string | null; reasonCode: string | null }, reason: string) =>
      report.exceptions.push({ file, sha256, record: tx.record, path: tx.path, endToEndId: tx.endToEndId, code: tx.reasonCode, reason, at });
    const toApply: { tx: BankTxStatus; transfer: TransferRecord }[] = [];
    const inThisFile = new Map<string, number>();
    for (const tx of message.transactions) {
      if (tx.status === 'acknowledged') {
        report.acknowledged += 1;
        continue;
      }
      const first = store.returned.get(tx.endToEndId);
      const earlierHere = inThisFile.get(tx.endToEndId);
      if (first !== undefined || earlierHere !== undefined) {
        const was = first !== undefined ? `${first.file} record ${first.record}` : `record ${earlierHere} of this file`;
        exception(tx, `second return of EndToEndId ${tx.endToEndId} (already returned by ${was}): not applied again`);
        continue;
      }
      const transfer = store.transfers.get(tx.endToEndId);
      if (transfer === undefined) {
        const msgId = store.handedOverOf([tx.endToEndId])[tx.endToEndId];
        exception(tx, msgId === undefined
          ? `unknown EndToEndId ${tx.endToEndId}: no transfer of ours carries it`
          : `EndToEndId ${tx.endToEndId} (pain.001 ${msgId}) was handed over before bank returns were recorded: undo it by hand`);
        continue;
      }
      if (tx.amount !== null && !new Decimal(tx.amount).eq(transfer.amount)) {
        exception(tx, `returned amount ${tx.amount} is not the transfer's ${transfer.amount} (${transfer.paymentId}): a SEPA return is whole, check with the bank`);
        continue;
      }
      inThisFile.set(tx.endToEndId, tx.record);
      toApply.push({ tx, transfer });
    }
    for (const u of message.unattributed) {
      exception({ record: 0, path: u.path, endToEndId: null, reasonCode: u.reasonCode }, `${u.path} status ${u.status} without the transactions listed: which transfers it rejects must be checked with the bank`);
    }

    const before = await store.readSlice({ lineKeys: toApply.flatMap((a) => a.transfer.lines.map((l) => l.lineKey)), payees: toApply.map((a) => a.transfer.payee) });
    let after = before;
    for (const { tx, transfer } of toApply) {
      after = applyReturn(after, transfer, { code: tx.reasonCode, file, record: tx.record, endToEndId: tx.endToEndId, at });
      const reason = returnReason(tx.reasonCode);
      report.returned.push({ endToEndId: tx.endToEndId, paymentId: transfer.paymentId, payee: transfer.payee, amount: transfer.amount, code: reason.code, label: reason.label, blocks: reason.blocks, file, record: tx.record, at });
    }
    const write = () => {
      for (const { endToEndId, ...r } of report.returned) store.returned.put(endToEndId, r);
      for (const { tx, transfer } of toApply) {
        const reason = returnReason(tx.reasonCode);
        store.markLineRunsReturned(transfer, { endToEndId: tx.endToEndId, code: reason.code, label: reason.label });
      }
      for (const e of report.exceptions) store.returnExceptions.put(`${sha256}\u241f${String(e.record).padStart(6, '0')}\u241f${e.path}`, e);
      store.returnFiles.put(sha256, { file, format: message.format, messageId: message.messageId, at, returned: report.returned.length, acknowledged: report.acknowledged, exceptions: report.exceptions.length });
    };
    return { before, after, write };
  });
  return report;
}

/** What `payments show` lists of the bank returns: payees blocked on a returned account, returns applied, exceptions. */
export interface BankReturnsView {
  blocked: ({ payee: string } & ReturnBlock)[];
  returned: AppliedReturn[];
  exceptions: ReturnException[];
  files: (ReturnFileRecord & { sha256: string })[];
}

export async function bankReturnsView(store: PaymentsStore): Promise<BankReturnsView> {
  return {
    blocked: (await store.returnBlocks.entriesIn()).map(([payee, b]) => ({ payee, ...b })),
    returned: (await store.returned.entriesIn()).map(([endToEndId, r]) => ({ endToEndId, ...r })),
    exceptions: (await store.returnExceptions.entriesIn()).map(([, e]) => e),
    files: (await store.returnFiles.entriesIn()).map(([sha256, f]) => ({ sha256, ...f })),
  };
}

/** The report's lines for ops (no IBAN in clear: only the masked one of a block). */
export function renderBankReturnReport(r: BankReturnReport): string[] {
  if (r.duplicateOf !== null) return [`${r.file}: duplicate — the same bank file was applied on ${r.duplicateOf.at} as ${r.duplicateOf.file}, skipped`];
  const out = [`${r.file}: ${r.format} ${r.messageId}: ${r.returned.length} returned, ${r.acknowledged} acknowledged, ${r.exceptions.length} exception(s)`];
  for (const x of r.returned) out.push(`  returned: ${x.paymentId} ${x.amount} — ${x.code} ${x.label}${x.blocks ? `; ${x.payee} blocked until its account changes` : '; due again'}`);
  for (const e of r.exceptions) out.push(`  EXCEPTION record ${e.record} (${e.path}): ${e.reason}`);
  return out;
}

export function renderBankReturnsView(v: BankReturnsView): string[] {
  const out: string[] = [];
  if (v.blocked.length + v.exceptions.length + v.returned.length === 0) return out;
  out.push(`bank returns: ${v.returned.length} returned transfer(s), ${v.blocked.length} payee(s) blocked, ${v.exceptions.length} exception(s)`);
  for (const b of v.blocked) out.push(`  blocked: ${b.payee} — returned by the bank: ${b.code} ${b.label} (${b.paymentId}, account ${b.ibanMasked}; ${b.file} record ${b.record}): paid again once its account changes`);
  for (const e of v.exceptions) out.push(`  EXCEPTION: ${e.file} record ${e.record} (${e.path}): ${e.reason}`);
  return out;
}

// ---- the inbox ---------------------------------------------------------------------------------

export interface InboxBankReturn {
  file: string;
  /** where the file went, relative to the home: archive/<stamp>-<name>[.duplicate] or quarantine/<stamp>-<name> */
  storedAs: string | null;
  report: BankReturnReport | null;
  /** PAYMENTS_RETURN_MALFORMED: the message (file, record, field); nothing of the file was applied */
  error: string | null;
  /** left in the inbox: it does not end with </Document> yet (still being written?) */
  waiting?: string;
}

/** A bank file cut mid-write does not end with its root's closing tag. */
async function looksComplete(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const window = Math.min(size, 4096);
    const tail = Buffer.alloc(window);
    await fh.read(tail, 0, window, size - window);
    return /<\/(?:[\w.-]+:)?Document\s*>\s*(<!--[\s\S]*?-->\s*)*$/.test(tail.toString('latin1'));
  } finally {
    await fh.close();
  }
}

async function headOf(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, 4096, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * `noemie run`'s pass over the inbox for bank return files, before the drops are read: each file
 * (by name, or an .xml whose root namespace is camt.054 / pain.002) is applied to the payment state,
 * then moved to archive/ (`.duplicate` when the same bytes were applied before) — or to quarantine/
 * when it is malformed, nothing of it applied. A file that does not end yet is left for a later look
 * for `graceMs` after its last change, then read as it is (and quarantined if it is cut).
 */
export async function applyInboxBankReturns(layout: InboxLayout, options: { now: () => Date; graceMs?: number }): Promise<InboxBankReturn[]> {
  const entries = await readdir(layout.inbox, { withFileTypes: true });
  const candidates: string[] = [];
  for (const name of entries.filter((e) => e.isFile()).map((e) => e.name).sort()) {
    if (isInProgressName(name) || !name.toLowerCase().endsWith('.xml')) continue;
    if (isBankReturnFile(name, isBankReturnName(name) ? '' : await headOf(join(layout.inbox, name)))) candidates.push(name);
  }
  if (candidates.length === 0) return [];
  const out: InboxBankReturn[] = [];
  const store = await PaymentsStore.open(layout.home);
  try {
    for (const name of candidates) {
      const path = join(layout.inbox, name);
      const { mtimeMs } = await stat(path);
      if (!(await looksComplete(path)) && options.now().getTime() - mtimeMs < (options.graceMs ?? INCOMPLETE_GRACE_MS)) {
        out.push({ file: name, storedAs: null, report: null, error: null, waiting: 'it does not end with </Document> (still being written?): left in the inbox for a later look' });
        continue;
      }
      const at = options.now();
      try {
        const report = await applyBankReturnFile(store, path, { at: at.toISOString(), label: name });
        const storedAs = join('archive', `${stamp(at)}-${name}${report.duplicateOf ? '.duplicate' : ''}`);
        await rename(path, join(layout.home, storedAs));
        out.push({ file: name, storedAs, report, error: null });
      } catch (e) {
        if (!(e instanceof PaymentsError) || e.code !== 'PAYMENTS_RETURN_MALFORMED') throw e;
        const storedAs = join('quarantine', `${stamp(at)}-${name}`);
        await rename(path, join(layout.home, storedAs));
        await writeFile(join(layout.home, `${storedAs}.errors.json`), `${JSON.stringify({ file: name, code: e.code, message: e.message, context: e.context }, null, 2)}\n`);
        out.push({ file: name, storedAs, report: null, error: e.message });
      }
    }
  } finally {
    await store.close();
  }
  return out;
}
