import { createHash } from 'node:crypto';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bus, OutgoingMessage } from '../../bus/bus.js';
import type { LineMessage } from '../../bus/messages.js';
import type { BeneficiaryIndex } from '../../ingest/reference/beneficiaries.js';
import type { Logger } from '../../log.js';
import { lineKeyOf } from '../../model/act-line.js';
import { familyKeyOfLine } from '../../pipeline/keys.js';
import { compositeKey, type StateStore, type SubStore } from '../../state/kv-store.js';
import { HttpError, httpIssue } from '../errors.js';
import { ATTACHMENT_TYPES, clearIncoming, type AttachmentType } from './attachment.js';

/**
 * Receipts of invoices uploaded over HTTP, and the idempotency of their upload, in the home's
 * state store (src/state):
 *
 *   http.idempotency/<clientId>␟<Idempotency-Key>  IdempotencyRecord — the receipt, the request's hash, its state
 *   http.receipt/<receiptId>                        { clientId, key } — GET /v1/invoices/{receipt} finds the record
 *   http.pending/<receiptId>                        { clientId, key } — receipts recorded but not yet published
 *
 * THE RULE (record first, publish with ids, then mark):
 *  1. the record is committed as `pending`, with the receipt id and the exact messages to publish
 *     (their partition keys included), BEFORE anything is published: a receipt once answered, or
 *     once published, is never lost, and the same key finds it again;
 *  2. the attachment is moved from `incoming/` to its place, named by the receipt id;
 *  3. the lines are produced to `invoice-lines`, each with a record id derived from the receipt id;
 *  4. the record is marked `published` (and its messages dropped) in one transaction.
 *  A crash, or a bus failure, between 1 and 4 leaves the record pending: the next start of the
 *  service (`recover`), or the client's retry with the same key, does 2–4 again with the SAME
 *  messages. Lines that had reached the bus are then on it twice with the same record id and the
 *  same key, so the liquidation service drops the second copy (a record id already applied to
 *  the line is not liquidated again: src/pipeline/README.md, "Ingest bus sink") — the invoice is
 *  liquidated once. Publishing only after marking would instead lose the invoice when a crash fell
 *  between the two.
 */
export interface ReceiptLine {
  lineKey: string;
  lineNo: number;
  actCode: string;
  careDate: string;
  quantity: number;
  expense: string;
}

export interface StoredAttachment {
  /** file name under the attachments folder: `<receiptId>.<ext>`, never a NIR */
  file: string;
  type: AttachmentType;
  bytes: number;
  sha256: string;
}

export interface IdempotencyRecord {
  receiptId: string;
  clientId: string;
  /** SHA-256 of the invoice as validated (canonical JSON) and of the attachment's bytes */
  requestHash: string;
  receivedAt: string;
  invoiceId: string;
  lines: ReceiptLine[];
  attachment: StoredAttachment;
  state: 'pending' | 'published';
  /** what to produce, kept while pending only */
  messages?: { key: string; value: LineMessage }[];
}

interface RecordRef {
  clientId: string;
  key: string;
}

/** What a validated upload brings to `submit`. */
export interface Upload {
  receiptId: string;
  clientId: string;
  idempotencyKey: string;
  requestHash: string;
  invoiceId: string;
  lines: LineMessage[];
  /** the attachment as received, in the incoming folder */
  incoming: string;
  attachment: Omit<StoredAttachment, 'file'>;
}

export interface Submitted {
  record: IdempotencyRecord;
  /** true: the key had been seen with this request; nothing new was published */
  replayed: boolean;
}

/**
 * A record id fitting the line topics' `recordId` (schemas/topics: `<16 hex>:<part>:<line>`):
 * the receipt plays the drop (its hash), the invoice is part 1, its lines 1…n.
 */
export function recordIdOf(receiptId: string, lineNo: number): string {
  return `${createHash('sha256').update(`http-invoice:${receiptId}`).digest('hex').slice(0, 16)}:1:${lineNo}`;
}

export function receiptLineOf(m: LineMessage): ReceiptLine {
  const l = m.line;
  return { lineKey: lineKeyOf(l), lineNo: l.lineNo, actCode: l.actCode, careDate: l.careStart, quantity: l.quantity, expense: l.expense };
}

export class InvoiceReceipts {
  private readonly records: SubStore<IdempotencyRecord>;
  private readonly byReceipt: SubStore<RecordRef>;
  private readonly pending: SubStore<RecordRef>;
  /** one request per (client, key) at a time in this process: a concurrent retry waits for the first */
  private readonly inflight = new Map<string, Promise<unknown>>();
  readonly incomingDir: string;
  readonly attachmentsDir: string;

  constructor(
    private readonly kv: StateStore,
    home: string,
    private readonly bus: Pick<Bus, 'produce'>,
    private readonly members?: Pick<BeneficiaryIndex, 'byNirRang'>,
  ) {
    this.records = kv.sub('http.idempotency');
    this.byReceipt = kv.sub('http.receipt');
    this.pending = kv.sub('http.pending');
    this.incomingDir = join(home, 'invoices', 'incoming');
    this.attachmentsDir = join(home, 'invoices', 'attachments');
  }

  /**
   * At start: finishes every receipt left pending by a crash (its attachment moved, its lines
   * published, marked), then empties the incoming folder — attachments of requests that never got
   * a receipt are personal data nobody will claim. Costs the pending receipts, not the history.
   */
  async recover(logger?: Logger): Promise<number> {
    await mkdir(this.incomingDir, { recursive: true, mode: 0o700 });
    await mkdir(this.attachmentsDir, { recursive: true, mode: 0o700 });
    let finished = 0;
    for (const [, ref] of [...this.pending.entries()]) {
      const k = compositeKey(ref.clientId, ref.key);
      const record = this.records.get(k);
      if (record === undefined || record.state === 'published') continue;
      await this.placeAttachment(record, join(this.incomingDir, `${record.receiptId}.part`));
      await this.publishAndMark(k, record);
      finished += 1;
      logger?.info({ receiptId: record.receiptId, client: record.clientId }, 'http: a receipt left pending by a stop was published');
    }
    await clearIncoming(this.incomingDir, new Set());
    return finished;
  }

  incomingFileOf(receiptId: string): string {
    return join(this.incomingDir, `${receiptId}.part`);
  }

  /** The record of a client's key, if any (the first look of a request: a known key needs no new receipt). */
  recordOf(clientId: string, key: string): IdempotencyRecord | undefined {
    return this.records.get(compositeKey(clientId, key));
  }

  /** The record of a receipt, for its client only (another client's receipt is "not found", not "forbidden"). */
  receiptOf(clientId: string, receiptId: string): IdempotencyRecord | undefined {
    const ref = this.byReceipt.get(receiptId);
    if (ref === undefined || ref.clientId !== clientId) return undefined;
    return this.records.get(compositeKey(ref.clientId, ref.key));
  }

  async submit(upload: Upload): Promise<Submitted> {
    const k = compositeKey(upload.clientId, upload.idempotencyKey);
    const before = this.inflight.get(k) ?? Promise.resolve();
    const step = before.catch(() => undefined).then(() => this.submitAlone(k, upload));
    const tail = step.catch(() => undefined);
    this.inflight.set(k, tail);
    try {
      return await step;
    } finally {
      if (this.inflight.get(k) === tail) this.inflight.delete(k);
      await rm(upload.incoming, { force: true });
    }
  }

  private async submitAlone(k: string, upload: Upload): Promise<Submitted> {
    const messages = upload.lines.map((value) => ({ key: familyKeyOfLine(value.line, this.members), value }));
    const fresh: IdempotencyRecord = {
      receiptId: upload.receiptId,
      clientId: upload.clientId,
      requestHash: upload.requestHash,
      receivedAt: new Date().toISOString(),
      invoiceId: upload.invoiceId,
      lines: upload.lines.map(receiptLineOf),
      attachment: { ...upload.attachment, file: `${upload.receiptId}.${ATTACHMENT_TYPES[upload.attachment.type].ext}` },
      state: 'pending',
      messages,
    };
    let existing: IdempotencyRecord | undefined;
    await this.kv.update(() => {
      existing = this.records.get(k);
      if (existing !== undefined) return () => {};
      const ref: RecordRef = { clientId: upload.clientId, key: upload.idempotencyKey };
      return () => {
        this.records.put(k, fresh);
        this.byReceipt.put(fresh.receiptId, ref);
        this.pending.put(fresh.receiptId, ref);
      };
    });
    if (existing !== undefined && existing.requestHash !== upload.requestHash) {
      throw new HttpError(422, [
        httpIssue('HTTP_IDEMPOTENCY_CONFLICT', `Idempotency-Key already used by this client for another request (receipt ${existing.receiptId}): use a new key for a new invoice`, ['headers', 'idempotency-key'], upload.idempotencyKey),
      ]);
    }
    const record = existing ?? fresh;
    if (record.state === 'published') return { record, replayed: true };
    await this.placeAttachment(record, upload.incoming);
    return { record: await this.publishAndMark(k, record), replayed: existing !== undefined };
  }

  /** Moves the attachment from `incoming` to its place, unless it is there already. */
  private async placeAttachment(record: IdempotencyRecord, incoming: string): Promise<void> {
    const target = join(this.attachmentsDir, record.attachment.file);
    if (await exists(target)) return;
    if (!(await exists(incoming))) return;
    await rename(incoming, target);
  }

  private async publishAndMark(k: string, record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const messages: OutgoingMessage<'invoice-lines'>[] = (record.messages ?? []).map((m) => ({ key: m.key, value: m.value }));
    try {
      if (messages.length > 0) await this.bus.produce('invoice-lines', messages);
    } catch (e) {
      throw new HttpError(503, [httpIssue('HTTP_UNAVAILABLE', `the invoice is recorded (receipt ${record.receiptId}) but could not be published yet: retry with the same Idempotency-Key (${(e as Error).message})`)]);
    }
    const { messages: _dropped, ...kept } = record;
    void _dropped;
    const published: IdempotencyRecord = { ...kept, state: 'published' };
    await this.kv.commit(() => {
      this.records.put(k, published);
      this.pending.remove(record.receiptId);
    });
    return published;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
