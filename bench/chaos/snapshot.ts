import { existsSync } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { openEmbeddedBus, type Bus, type TopicName } from '../../src/bus/index.js';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { KafkaSettings } from '../../src/config.js';
import type { PaymentOrder } from '../../src/model/payment.js';
import type { ReconOutcome } from '../../src/model/reconciliation.js';
import type { Settlement } from '../../src/model/settlement.js';
import { loadPaymentsState } from '../../src/pipeline/payments-store.js';

/**
 * Everything one home ended with, as plain data the comparison (compare.ts) can take: what the bus
 * holds (settlements, reconciliation outcomes, payment orders — every copy, redeliveries included),
 * what the payment stage left on disk (ledger, run folders, pain.001 files as they would be handed
 * to the bank), and files a crash may have left behind (temp names under the home, anything under
 * the children's own temp directory).
 */
export interface SettlementCopies {
  /** version → the distinct contents published for it (one expected) with their copy count */
  versions: Map<number, Map<string, number>>;
}

export interface PainTransaction {
  endToEndId: string;
  amount: string;
}

export interface PainFile {
  /** relative to the home */
  path: string;
  bytes: number;
  /** null: empty or not well-formed XML (a write cut short) */
  transactions: PainTransaction[] | null;
  /** GrpHdr and PmtInf NbOfTxs / CtrlSum as written */
  header: { nbOfTxs: string; ctrlSum: string; pmtInf: { nbOfTxs: string; ctrlSum: string }[] } | null;
  error?: string;
}

export interface StrayFile {
  path: string;
  bytes: number;
  /** NIR- or IBAN-shaped text inside */
  personalData: boolean;
}

export interface HomeSnapshot {
  settlements: Map<string, SettlementCopies>;
  /** outcomeId → distinct contents (without `at`) with copy counts */
  outcomes: Map<string, Map<string, number>>;
  /** every order on payment-orders and in every run's orders.ndjson, by endToEndId */
  orders: Map<string, PaymentOrder>;
  ordersOnTopic: number;
  painFiles: PainFile[];
  /** payments/ledger.json: lineKey → payee → net paid */
  ledgerPaid: Map<string, Map<string, string>>;
  ledgerRuns: string[];
  /** orders.ndjson files that could not be read whole (a write cut short) */
  brokenOrderFiles: string[];
  stray: StrayFile[];
  /** files still in the inbox after the last run */
  inboxLeft: string[];
  /** run folders under payments/ whose run the ledger never recorded (a run cut before its ledger save) */
  unrecordedRuns: StrayFile[];
}

export type BusAccess = { kind: 'embedded'; home: string } | { kind: 'kafka'; settings: KafkaSettings };

/**
 * Settlement fields that carry the decision (money, status, payee): what must match between homes.
 * Not `reason`: an annulation's says which version it reverses, and extra versions are counted apart.
 */
export function settlementDecision(s: Settlement): string {
  return JSON.stringify({
    status: s.status, amcAmount: s.amcAmount, payee: s.payee, restToPay: s.restToPay, operation: s.operation ?? 'I',
    parts: s.parts.map((p) => [p.contract, p.amount, p.rule ?? null]),
  });
}

/**
 * An outcome without its id, the instant it was decided at (a tick uses the run's clock) and its
 * wording: the decision itself, which must not differ between homes.
 */
export function outcomeDecision(o: ReconOutcome): string {
  const { at: _at, reason: _reason, outcomeId: _id, ...rest } = o;
  return JSON.stringify(rest);
}

async function* allRecords<T extends TopicName>(bus: Bus, topic: T) {
  for (const { partition, low, high } of await bus.endOffsets(topic)) {
    if (high <= low) continue;
    for await (const batch of bus.readRange(topic, partition, { from: low, to: high })) yield* batch;
  }
}

async function openFor(access: BusAccess): Promise<Bus> {
  return access.kind === 'embedded' ? openEmbeddedBus({ dir: join(access.home, 'bus'), readOnly: true }) : openKafkaBus(access.settings);
}

export async function snapshotHome(home: string, access: BusAccess, childTmp: string): Promise<HomeSnapshot> {
  const settlements = new Map<string, SettlementCopies>();
  const outcomes = new Map<string, Map<string, number>>();
  const orders = new Map<string, PaymentOrder>();
  let ordersOnTopic = 0;
  const bus = await openFor(access);
  try {
    for await (const r of allRecords(bus, 'settlements')) {
      const s = r.value;
      let entry = settlements.get(s.lineKey);
      if (!entry) settlements.set(s.lineKey, (entry = { versions: new Map() }));
      let contents = entry.versions.get(s.version);
      if (!contents) entry.versions.set(s.version, (contents = new Map()));
      const d = settlementDecision(s);
      contents.set(d, (contents.get(d) ?? 0) + 1);
    }
    for await (const r of allRecords(bus, 'reconciliation')) {
      const o = r.value;
      let contents = outcomes.get(o.outcomeId);
      if (!contents) outcomes.set(o.outcomeId, (contents = new Map()));
      const d = outcomeDecision(o);
      contents.set(d, (contents.get(d) ?? 0) + 1);
    }
    for await (const r of allRecords(bus, 'payment-orders')) {
      ordersOnTopic += 1;
      orders.set(r.value.endToEndId, r.value);
    }
  } finally {
    await bus.close();
  }

  const payments = join(home, 'payments');
  const painFiles: PainFile[] = [];
  const brokenOrderFiles: string[] = [];
  if (existsSync(payments)) {
    for (const run of (await readdir(payments, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      const dir = join(payments, run);
      for (const name of (await readdir(dir)).sort()) {
        const path = join(dir, name);
        if (name === 'orders.ndjson') {
          const read = await readOrdersFile(path);
          for (const o of read.orders) orders.set(o.endToEndId, o);
          if (read.broken) brokenOrderFiles.push(relative(home, path));
        } else if (/^pain\.001\..*\.xml$/.test(name)) {
          painFiles.push(await readPainFile(home, path));
        }
      }
    }
  }

  const ledgerPaid = new Map<string, Map<string, string>>();
  let ledgerRuns: string[] = [];
  // the payment state lives in the home's state store (src/state); a home of an older build kept payments/ledger.json
  const state = await loadPaymentsState(home);
  {
    for (const [lineKey, l] of Object.entries(state.ledger.lines)) {
      const paid = Object.entries(l.paid).filter(([, a]) => !/^-?0(\.0+)?$/.test(a));
      if (paid.length > 0) ledgerPaid.set(lineKey, new Map(paid));
    }
    ledgerRuns = Object.keys(state.ledger.runs).sort();
  }

  // a run folder the ledger does not know was written by a run that never happened: its files (orders
  // with IBANs, maybe a pain.001) are left behind by a crash
  const unrecordedRuns: StrayFile[] = [];
  if (existsSync(payments)) {
    for (const d of (await readdir(payments, { withFileTypes: true })).filter((e) => e.isDirectory() && !ledgerRuns.includes(e.name))) {
      unrecordedRuns.push(...(await strayFiles(home, join(payments, d.name), () => true)));
    }
  }
  const inbox = join(home, 'inbox');
  const inboxLeft = existsSync(inbox) ? (await readdir(inbox)).sort() : [];
  const stray = [...(await strayFiles(home, home, isTempName)), ...(await strayFiles(childTmp, childTmp, () => true)).map((f) => ({ ...f, path: `$TMPDIR/${f.path}` }))];
  return { settlements, outcomes, orders, ordersOnTopic, painFiles, ledgerPaid, ledgerRuns, brokenOrderFiles, stray: [...stray, ...unrecordedRuns], inboxLeft, unrecordedRuns };
}

async function readOrdersFile(path: string): Promise<{ orders: PaymentOrder[]; broken: boolean }> {
  const text = await readFile(path, 'utf8');
  const orders: PaymentOrder[] = [];
  let broken = text.length === 0 || !text.endsWith('\n');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      orders.push(JSON.parse(line) as PaymentOrder);
    } catch {
      broken = true;
    }
  }
  return { orders, broken };
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

interface PainDoc {
  Document?: {
    CstmrCdtTrfInitn?: {
      GrpHdr?: { NbOfTxs?: string; CtrlSum?: string };
      PmtInf?: PmtInf | PmtInf[];
    };
  };
}
interface PmtInf {
  NbOfTxs?: string;
  CtrlSum?: string;
  CdtTrfTxInf?: { PmtId?: { EndToEndId?: string }; Amt?: { InstdAmt?: string | { '#text'?: string } } } | { PmtId?: { EndToEndId?: string }; Amt?: { InstdAmt?: string | { '#text'?: string } } }[];
}

export async function readPainFile(home: string, path: string): Promise<PainFile> {
  const bytes = (await stat(path)).size;
  const rel = relative(home, path);
  if (bytes === 0) return { path: rel, bytes, transactions: null, header: null, error: 'empty file' };
  const text = await readFile(path, 'utf8');
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { path: rel, bytes, transactions: null, header: null, error: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})` };
  const doc = new XMLParser({ parseTagValue: false, ignoreAttributes: true }).parse(text) as PainDoc;
  const root = doc.Document?.CstmrCdtTrfInitn;
  if (!root) return { path: rel, bytes, transactions: null, header: null, error: 'no Document/CstmrCdtTrfInitn' };
  const pmtInfs = asArray(root.PmtInf);
  const transactions: PainTransaction[] = [];
  for (const p of pmtInfs) {
    for (const tx of asArray(p.CdtTrfTxInf)) {
      const amt = tx.Amt?.InstdAmt;
      transactions.push({ endToEndId: tx.PmtId?.EndToEndId ?? '', amount: typeof amt === 'string' ? amt : (amt?.['#text'] ?? '') });
    }
  }
  return {
    path: rel,
    bytes,
    transactions,
    header: { nbOfTxs: root.GrpHdr?.NbOfTxs ?? '', ctrlSum: root.GrpHdr?.CtrlSum ?? '', pmtInf: pmtInfs.map((p) => ({ nbOfTxs: p.NbOfTxs ?? '', ctrlSum: p.CtrlSum ?? '' })) },
  };
}

/** Names a writer gives a file before it is complete (ours and the usual conventions). */
export function isTempName(name: string): boolean {
  return /\.tmp($|[-.])|\.part$|\.partial$|^\.|spool|\.swp$/.test(name);
}

const NIR_LIKE = /\b[12]\d{12}(\d{2})?\b/;
const IBAN_LIKE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/;

async function containsPersonalData(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('latin1');
    return NIR_LIKE.test(text) || IBAN_LIKE.test(text);
  } finally {
    await fh.close();
  }
}

/** Files under `dir` whose name `pick` selects (the embedded bus and ledger store keep no temp files once closed). */
async function strayFiles(root: string, dir: string, pick: (name: string) => boolean): Promise<StrayFile[]> {
  if (!existsSync(dir)) return [];
  const out: StrayFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      // the inbox's own in-progress names belong to senders, not to a crash of ours
      if (root === dir && e.name === 'inbox') continue;
      out.push(...(await strayFiles(root, path, pick)));
    } else if (e.isFile() && pick(e.name)) {
      out.push({ path: relative(root, path), bytes: (await stat(path)).size, personalData: await containsPersonalData(path) });
    }
  }
  return out;
}
