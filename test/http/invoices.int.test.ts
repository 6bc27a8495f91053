import { readdir, readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.js';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { addApiClient, apiKeysFileOf, loadApiKeys } from '../../src/http/auth.js';
import { invoicesPlugin } from '../../src/http/invoices/index.js';
import { invoiceJsonCodec } from '../../src/ingest/invoice/index.js';
import { nirKey } from '../../src/model/act-line.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { startStatementIndexer, type StatementIndexer } from '../../src/pipeline/statement-index.js';
import { copyReference, HAND_FAMILY, HAND_NIR, membershipIndexOf, readTopic, waitIdle } from '../pipeline/liquidation-support.js';

/**
 * The invoices API over a real socket: the plugin on a fastify instance listening on port 0, the
 * embedded bus and the state store in a temporary home, the hand member A001 (CCN-HLA-BASE since
 * 2024) in its membership store, and — for the status — the liquidation service and the statement
 * indexer running as in `noemie run`.
 */
const MAX_ATTACHMENT = 64 * 1024;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

/** The hand invoice: a GP consultation with its paper décompte, and an osteopathy session the RO does not reimburse. */
function handInvoice(id = 'INV-HTTP-1', dates = { g: '2024-03-10', osteo: '2024-03-15', invoice: '2024-03-20' }) {
  return {
    invoice_id: id, amc_member_id: HAND_FAMILY, nir: HAND_NIR, rang: 1, ps_id: '10003456789', ps_kind: 'osteopath', invoice_date: dates.invoice,
    lines: [
      { act_code: 'G', care_date: dates.g, quantity: 1, expense: '50.00', br: '30.00', ro_rate: '70', ro_amount: '21.00' },
      { act_code: 'OSTEO', care_date: dates.osteo, quantity: 1, expense: '60.00' },
    ],
  };
}

let home = '';
let bus: EmbeddedBus;
let app: FastifyInstance;
let url = '';
let portalKey = '';
let opsKey = '';
let members: { close: () => Promise<void> } | undefined;
let beneficiaries: Awaited<ReturnType<typeof membershipIndexOf>>['index'];
/** the bus the plugin produces with: the real one, unless a test makes it fail */
let produceVia: (bus: Bus, ...args: Parameters<Bus['produce']>) => Promise<void> = (b, topic, messages) => b.produce(topic, messages);

async function startApp(): Promise<void> {
  app = Fastify({ logger: false });
  const keys = await loadApiKeys(home);
  const plugin = invoicesPlugin({ home, bus: { produce: (topic, messages) => produceVia(bus, topic, messages) }, keys, members: beneficiaries, maxAttachmentBytes: MAX_ATTACHMENT });
  await plugin.register(app);
  url = await app.listen({ port: 0, host: '127.0.0.1' });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-http-'));
  const reference = await copyReference(home);
  await writeFile(
    reference.beneficiariesFile,
    `adherent_id;nir;nir_key;rang;birth_date;role;contracts;start;end;suspended;noemie;iban;bic;name\n${HAND_FAMILY};${HAND_NIR};${nirKey(HAND_NIR)};1;1985-03-12;A;CCN-HLA-BASE;2024-01-01;;;Y;;;Jean Dupont\n`,
  );
  const m = await membershipIndexOf(reference.beneficiariesFile, home);
  members = m;
  beneficiaries = m.index;
  bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
  portalKey = (await addApiClient(apiKeysFileOf(home, undefined), 'portal', ['invoices'])).key;
  opsKey = (await addApiClient(apiKeysFileOf(home, undefined), 'ops', ['admin'])).key;
  await startApp();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await members?.close();
  await rm(home, { recursive: true, force: true });
});

function form(invoice: unknown, attachment: Buffer = PDF, options: { invoiceAsField?: boolean; attachmentName?: string; attachmentType?: string } = {}): FormData {
  const f = new FormData();
  const text = typeof invoice === 'string' ? invoice : JSON.stringify(invoice);
  if (options.invoiceAsField) f.append('invoice', text);
  else f.append('invoice', new Blob([text], { type: 'application/json' }), 'invoice.json');
  f.append('attachment', new Blob([attachment], { type: options.attachmentType ?? 'application/pdf' }), options.attachmentName ?? 'facture.pdf');
  return f;
}

async function post(body: FormData, headers: Record<string, string>) {
  const res = await fetch(`${url}/v1/invoices`, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const auth = (key = portalKey) => ({ authorization: `Bearer ${key}` });
const invoiceLines = async () => (await readTopic(bus, 'invoice-lines')).map((r) => r.value);

describe('POST /v1/invoices', () => {
  let firstReceipt = '';

  it('accepts an invoice with its attachment: 202, a receipt naming the act lines, the lines on invoice-lines keyed by family, the attachment kept', async () => {
    const res = await post(form(handInvoice()), { ...auth(), 'idempotency-key': 'k-1' });
    expect(res.status).toBe(202);
    expect(res.body.receiptId).toMatch(/^rcpt_/);
    expect(res.body.lines.map((l: { lineKey: string }) => l.lineKey)).toEqual(['invoice:INV-HTTP-1:1', 'invoice:INV-HTTP-1:2']);
    expect(res.headers.get('location')).toBe(`/v1/invoices/${res.body.receiptId}`);
    firstReceipt = res.body.receiptId;

    const published = (await readTopic(bus, 'invoice-lines'));
    expect(published.map((r) => r.value.line.actCode)).toEqual(['G', 'OSTEO']);
    // the same key as the inbox would give: the family's adhérent from the membership store
    expect(published.every((r) => r.key === HAND_FAMILY)).toBe(true);
    // the same act lines as the inbox's codec makes of the same document
    const inbox: unknown[] = [];
    for await (const ev of invoiceJsonCodec.decode({ file: 'x.json', open: async () => Readable.from([Buffer.from(JSON.stringify(handInvoice()))]) })) if (ev.kind === 'line') inbox.push(ev.line);
    expect(published.map((r) => r.value.line)).toEqual(inbox);
    expect(new Set(published.map((r) => r.value.recordId)).size).toBe(2);

    const attachments = await readdir(join(home, 'invoices', 'attachments'));
    expect(attachments).toEqual([`${firstReceipt}.pdf`]);
    const file = join(home, 'invoices', 'attachments', attachments[0]!);
    expect(await readFile(file)).toEqual(PDF);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(attachments.some((n) => n.includes(HAND_NIR))).toBe(false);
    expect(await readdir(join(home, 'invoices', 'incoming'))).toEqual([]);
  });

  it('the same key again (even with the JSON written otherwise): the first receipt, nothing published again', async () => {
    const reordered = JSON.stringify(handInvoice(), ['lines', 'act_code', 'care_date', 'quantity', 'expense', 'br', 'ro_rate', 'ro_amount', 'invoice_id', 'amc_member_id', 'nir', 'rang', 'ps_id', 'ps_kind', 'invoice_date'], 1);
    const res = await post(form(reordered, PDF, { invoiceAsField: true }), { ...auth(), 'idempotency-key': 'k-1' });
    expect(res.status).toBe(202);
    expect(res.body.receiptId).toBe(firstReceipt);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect(await invoiceLines()).toHaveLength(2);
    expect(await readdir(join(home, 'invoices', 'attachments'))).toEqual([`${firstReceipt}.pdf`]);
  });

  it('two concurrent first sends of one key: one receipt, published once', async () => {
    const before = (await invoiceLines()).length;
    const [a, b] = await Promise.all([1, 2].map(() => post(form(handInvoice('INV-HTTP-2')), { ...auth(), 'idempotency-key': 'k-2' })));
    expect([a!.status, b!.status]).toEqual([202, 202]);
    expect(a!.body.receiptId).toBe(b!.body.receiptId);
    expect((await invoiceLines()).length - before).toBe(2);
  });

  it('the same key with another request: 422 naming the key, nothing published', async () => {
    const before = (await invoiceLines()).length;
    const other = { ...handInvoice(), lines: [{ act_code: 'G', care_date: '2024-03-10', quantity: 1, expense: '55.00', br: '30.00', ro_rate: '70', ro_amount: '21.00' }] };
    const res = await post(form(other), { ...auth(), 'idempotency-key': 'k-1' });
    expect(res.status).toBe(422);
    expect(res.body.issues).toEqual([expect.objectContaining({ code: 'HTTP_IDEMPOTENCY_CONFLICT', path: ['headers', 'idempotency-key'], input: 'k-1' })]);
    // another attachment is another request too
    const res2 = await post(form(handInvoice(), Buffer.concat([PDF, Buffer.from('%% page 2\n')])), { ...auth(), 'idempotency-key': 'k-1' });
    expect(res2.status).toBe(422);
    expect((await invoiceLines()).length).toBe(before);
  });

  it('without an Idempotency-Key: 400', async () => {
    const res = await post(form(handInvoice('INV-HTTP-3')), auth());
    expect(res.status).toBe(400);
    expect(res.body.issues[0]).toMatchObject({ code: 'HTTP_IDEMPOTENCY_KEY', path: ['headers', 'idempotency-key'] });
  });

  it('refuses without a key or with an unknown one (401), and a client without the invoices scope (403); nothing published', async () => {
    const before = (await invoiceLines()).length;
    const none = await post(form(handInvoice('INV-HTTP-4')), { 'idempotency-key': 'k-4' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body.issues[0]).toMatchObject({ code: 'HTTP_UNAUTHENTICATED' });
    const unknown = await post(form(handInvoice('INV-HTTP-4')), { ...auth(`${portalKey}x`), 'idempotency-key': 'k-4' });
    expect(unknown.status).toBe(401);
    const viaHeader = await post(form(handInvoice('INV-HTTP-4')), { 'x-api-key': opsKey, 'idempotency-key': 'k-4' });
    expect(viaHeader.status).toBe(403);
    expect(viaHeader.body.issues[0]).toMatchObject({ code: 'HTTP_FORBIDDEN' });
    const status = await fetch(`${url}/v1/invoices/${firstReceipt}`, { headers: auth(opsKey) });
    expect(status.status).toBe(403);
    expect((await invoiceLines()).length).toBe(before);
  });

  it('a bad invoice: 422 with every issue, the same the inbox lists for the same document', async () => {
    const bad = {
      invoice_id: 'INV-BAD', amc_member_id: HAND_FAMILY, nir: '1850375123457', rang: 1, ps_id: '10003456789', invoice_date: '2025-03-20',
      lines: [
        { act_code: 'G', care_date: '2025-03-25', quantity: 0, expense: '50.00', br: '30.00', ro_rate: '70' },
        { act_code: 'OSTEO', care_date: '2025-03-15', quantity: 1, expense: '60.5' },
      ],
    };
    const res = await post(form(bad), { ...auth(), 'idempotency-key': 'k-bad' });
    expect(res.status).toBe(422);
    const paths = res.body.issues.map((i: { path: unknown[] }) => JSON.stringify(i.path)).sort();
    // NIR key (NIR ≠ its checksum), ps_kind missing, line 0: quantity 0, care date after the invoice date, br without ro_amount; line 1: amount without cents
    expect(paths).toEqual(
      [['invoice', 'lines', 0, 'care_date'], ['invoice', 'lines', 0, 'quantity'], ['invoice', 'lines', 0, 'ro_amount'], ['invoice', 'lines', 1, 'expense'], ['invoice', 'ps_kind']]
        .map((p) => JSON.stringify(p))
        .sort(),
    );
    const inbox: { path: unknown[] }[] = [];
    for await (const ev of invoiceJsonCodec.decode({ file: 'x.json', open: async () => Readable.from([Buffer.from(JSON.stringify(bad))]) })) if (ev.kind === 'reject') inbox.push(...ev.rejected.issues);
    expect(res.body.issues).toEqual(inbox.map((i) => ({ ...i, path: ['invoice', ...i.path] })));
    expect(await readdir(join(home, 'invoices', 'incoming'))).toEqual([]);
    // a document that is not JSON: the inbox's INGEST_STRUCTURE
    const notJson = await post(form('{"invoice_id": '), { ...auth(), 'idempotency-key': 'k-bad-2' });
    expect(notJson.status).toBe(422);
    expect(notJson.body.issues[0]).toMatchObject({ code: 'INGEST_STRUCTURE', path: ['invoice'] });
  });

  it('an attachment over the limit: 413 with its issue, nothing kept; at the limit exactly: accepted', async () => {
    const before = (await invoiceLines()).length;
    const big = Buffer.concat([PDF, Buffer.alloc(MAX_ATTACHMENT + 1 - PDF.length, 0x20)]);
    const res = await post(form(handInvoice('INV-HTTP-5'), big), { ...auth(), 'idempotency-key': 'k-5' });
    expect(res.status).toBe(413);
    expect(res.body.issues).toEqual([expect.objectContaining({ code: 'HTTP_ATTACHMENT_TOO_LARGE', path: ['body', 'attachment'] })]);
    expect(await readdir(join(home, 'invoices', 'incoming'))).toEqual([]);
    expect((await invoiceLines()).length).toBe(before);
    const atLimit = await post(form(handInvoice('INV-HTTP-5'), big.subarray(0, MAX_ATTACHMENT)), { ...auth(), 'idempotency-key': 'k-5' });
    expect(atLimit.status).toBe(202);
  });

  it('an attachment that is not a PDF nor an image, whatever its name and declared type: 415', async () => {
    const exe = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(200)]);
    const res = await post(form(handInvoice('INV-HTTP-6'), exe, { attachmentName: 'facture.pdf', attachmentType: 'application/pdf' }), { ...auth(), 'idempotency-key': 'k-6' });
    expect(res.status).toBe(415);
    expect(res.body.issues).toEqual([expect.objectContaining({ code: 'HTTP_ATTACHMENT_TYPE', path: ['body', 'attachment'], input: '4d5a900003000000' })]);
    // a PNG is an image, whatever its name
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);
    const ok = await post(form(handInvoice('INV-HTTP-6'), png, { attachmentName: 'scan.bin', attachmentType: 'application/octet-stream' }), { ...auth(), 'idempotency-key': 'k-6' });
    expect(ok.status).toBe(202);
    expect(ok.body.attachment.type).toBe('png');
  });

  it('a missing attachment: 400 naming the part', async () => {
    const f = new FormData();
    f.append('invoice', JSON.stringify(handInvoice('INV-HTTP-7')));
    const res = await post(f, { ...auth(), 'idempotency-key': 'k-7' });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([expect.objectContaining({ code: 'HTTP_MULTIPART', path: ['body', 'attachment'] })]);
  });
});

describe('a stop before publication', () => {
  it('recorded, the bus refused the lines: 503; the next start publishes them once and empties incoming/; the retry gets the same receipt', async () => {
    const before = (await invoiceLines()).length;
    produceVia = async () => {
      throw new Error('broker unreachable');
    };
    const first = await post(form(handInvoice('INV-HTTP-8')), { ...auth(), 'idempotency-key': 'k-8' });
    produceVia = (b, topic, messages) => b.produce(topic, messages);
    expect(first.status).toBe(503);
    expect(first.body.issues[0].message).toMatch(/retry with the same Idempotency-Key/);
    expect((await invoiceLines()).length).toBe(before);
    // what a killed upload would leave: an attachment being received
    await writeFile(join(home, 'invoices', 'incoming', 'rcpt_00000000-0000-0000-0000-000000000000.part'), PDF);
    await app.close();
    await startApp();
    expect(await readdir(join(home, 'invoices', 'incoming'))).toEqual([]);
    const published = (await invoiceLines()).filter((m) => m.line.decompteId === 'INV-HTTP-8');
    expect(published.map((m) => m.line.lineNo)).toEqual([1, 2]);
    const retry = await post(form(handInvoice('INV-HTTP-8')), { ...auth(), 'idempotency-key': 'k-8' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await invoiceLines()).filter((m) => m.line.decompteId === 'INV-HTTP-8')).toHaveLength(2);
  });
});

describe('GET /v1/invoices/{receipt}, and a crash between publication and record', () => {
  let service: LiquidationService | undefined;
  let indexer: StatementIndexer | undefined;
  afterAll(async () => {
    await service?.stop();
    await indexer?.stop();
  });

  it('published but not recorded (the bus acknowledged, then the process failed): the retry publishes the same records, liquidated once; settled with the hand-computed amounts', async () => {
    // Care a few weeks ago: the service judges the two-year prescription on today's date; the
    // invoices of the tests above (four osteopathy sessions, a year's maximum) are of March 2024,
    // so this one's session is the first of its year.
    const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    const invoice = handInvoice('INV-HTTP-9', { g: daysAgo(20), osteo: daysAgo(15), invoice: daysAgo(10) });
    // first attempt: the lines reach the bus, then "the process dies" before the record is marked
    produceVia = async (b, topic, messages) => {
      await b.produce(topic, messages);
      throw new Error('killed after produce');
    };
    const first = await post(form(invoice), { ...auth(), 'idempotency-key': 'k-9' });
    produceVia = (b, topic, messages) => b.produce(topic, messages);
    expect(first.status).toBe(503);
    expect(first.body.issues[0].code).toBe('HTTP_UNAVAILABLE');
    // a restart: the pending receipt is finished at start (published again, same record ids)
    await app.close();
    await startApp();
    const retry = await post(form(invoice), { ...auth(), 'idempotency-key': 'k-9' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const ofInvoice = (await invoiceLines()).filter((m) => m.line.decompteId === 'INV-HTTP-9');
    expect(ofInvoice).toHaveLength(4); // twice on the bus…
    expect(new Set(ofInvoice.map((m) => m.recordId)).size).toBe(2); // …with the same two record ids

    const receipt = retry.body.receiptId as string;
    const before = (await (await fetch(`${url}/v1/invoices/${receipt}`, { headers: auth() })).json()) as { status: string };
    expect(before.status).toBe('received');

    indexer = await startStatementIndexer({ bus, home });
    service = await LiquidationService.start({ bus, beneficiaries, reference: (await import('../../src/pipeline/reference.js')).referencePaths(join(home, 'reference')), workers: 0 });
    await waitIdle(bus);
    const settlements = (await readTopic(bus, 'settlements')).map((r) => r.value).filter((s) => s.lineKey.startsWith('invoice:INV-HTTP-9:'));
    // …liquidated once: one version per line
    expect(settlements.map((s) => `${s.lineKey}#${s.version}`).sort()).toEqual(['invoice:INV-HTTP-9:1#1', 'invoice:INV-HTTP-9:2#1']);

    let status: any;
    for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      status = await (await fetch(`${url}/v1/invoices/${receipt}`, { headers: auth() })).json();
      if (status.status === 'settled') break;
    }
    expect(status.status).toBe('settled');
    // line 1, G, CCN-HLA-BASE "Généralistes" 100 % BR (ccn-table.md, Soins courants): 100 % × 30.00 = 30.00 − RO 21.00 = 9.00,
    //   within the expense left after the RO (50.00 − 21.00 = 29.00): AMC 9.00; rest 50.00 − 21.00 − 9.00 = 20.00
    // line 2, OSTEO, "Médecine préventive" Base 30 € / séance (max 4 / year, the first one), no RO: AMC min(30.00, 60.00) = 30.00; rest 60.00 − 30.00 = 30.00
    expect(status.lines.map((l: any) => [l.lineKey, l.status, l.decision.status, l.amounts]), JSON.stringify(status.lines.map((l: any) => l.decision))).toEqual([
      ['invoice:INV-HTTP-9:1', 'settled', 'paid', { expense: '50.00', roAmount: '21.00', amcAmount: '9.00', restToPay: '20.00', payee: 'member' }],
      ['invoice:INV-HTTP-9:2', 'settled', 'paid', { expense: '60.00', roAmount: '0.00', amcAmount: '30.00', restToPay: '30.00', payee: 'member' }],
    ]);
    // another client does not see it
    const portal2 = (await addApiClient(apiKeysFileOf(home, undefined), 'portal-2', ['invoices'])).key;
    await new Promise((r) => setTimeout(r, 1100)); // the keys file is looked at again at most once a second
    expect((await fetch(`${url}/v1/invoices/${receipt}`, { headers: auth(portal2) })).status).toBe(404);
  }, 90_000);
});
