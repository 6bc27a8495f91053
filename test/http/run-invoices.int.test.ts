import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/index.js';
import { partitionCount } from '../../src/bus/topics.js';
import { parseExposition, samplesOf } from './exposition.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

/**
 * The invoices API end to end, through the real `noemie run` (issue 11): watch mode as a child
 * process (dist/: `npm run build` first) on the sample, embedded bus, NOEMIE_HTTP_PORT=0, and a key
 * made by `noemie api-keys add portal --scope invoices` as an operator would. An invoice posted
 * there is published, liquidated by the run's own liquidation stage and followed by its statement
 * indexer, so its receipt reaches `settled` with the amounts the seed grid gives.
 */
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/**
 * A sample member (fixtures/sample/beneficiaries.csv): ADH0000001's adhérent, NIR 1870459280378 rang
 * 1, CCN-HLA-BASE since 2020-12-01. One GP consultation with its paper décompte, a few weeks ago
 * (the liquidation judges the two-year prescription on today's date).
 */
const invoice = {
  invoice_id: 'INV-E2E-0001', amc_member_id: 'ADH0000001', nir: '1870459280378', rang: 1, ps_id: '10003456789', ps_kind: 'doctor', invoice_date: daysAgo(10),
  lines: [{ act_code: 'G', care_date: daysAgo(20), quantity: 1, expense: '50.00', br: '30.00', ro_rate: '70', ro_amount: '21.00' }],
};

function form(doc: unknown, attachment: Buffer = PDF): FormData {
  const f = new FormData();
  f.append('invoice', new Blob([JSON.stringify(doc)], { type: 'application/json' }), 'invoice.json');
  f.append('attachment', new Blob([attachment], { type: 'application/pdf' }), 'facture.pdf');
  return f;
}

describe('POST /v1/invoices through noemie run (watch mode, embedded bus, child process)', () => {
  const home = mkdtempSync(join(tmpdir(), 'noemie-http-e2e-'));
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let url = '';
  let stdout = '';
  let stderr = '';
  let key = '';
  let receipt = '';

  const env = { ...process.env, NOEMIE_LOG_LEVEL: 'warn', NOEMIE_HTTP_PORT: '0' };
  const auth = () => ({ authorization: `Bearer ${key}` });
  const post = async (body: FormData, headers: Record<string, string>) => {
    const res = await fetch(`${url}/v1/invoices`, { method: 'POST', body, headers });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  /** the invoice's lines on invoice-lines, read back read-only beside the running service */
  const publishedLines = async () => {
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    const out: { key: string | null; value: unknown }[] = [];
    try {
      for (let p = 0; p < partitionCount(); p++) {
        for await (const batch of bus.readRange('invoice-lines', p, { from: 0 })) {
          for (const { key, value } of batch) if (value.line.decompteId === invoice.invoice_id) out.push({ key: key ?? null, value });
        }
      }
    } finally {
      await bus.close();
    }
    return out;
  };
  const scrapeInvoices = async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    const m = parseExposition(await res.text());
    expect(m.types.get('noemie_http_invoices_total')).toBe('counter');
    return Object.fromEntries(samplesOf(m, 'noemie_http_invoices_total').map((s) => [s.labels.outcome, s.value]));
  };

  beforeAll(async () => {
    const add = spawnSync(process.execPath, ['bin/noemie.js', 'api-keys', 'add', 'portal', '--scope', 'invoices', '--home', home], { env, encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
    key = add.stdout.trim();
    expect(key).not.toBe('');
    child = spawn(process.execPath, ['bin/noemie.js', 'run', '--sample', '--home', home, '--workers', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const deadline = Date.now() + 60_000;
    while (!/http: listening on (\S+)/.test(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no URL printed: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    url = /http: listening on (\S+)/.exec(stdout)![1]!;
    expect(url).not.toMatch(/:0$/); // NOEMIE_HTTP_PORT=0: a free port was chosen
    // the sample read (tp claims + 4 drops in the ledger) and every stage caught up
    for (;;) {
      if (Date.now() > deadline + 60_000) throw new Error(`not settled: ${stdout}\n${stderr}`);
      const ledger = existsSync(join(home, 'ledger.ndjson')) ? readFileSync(join(home, 'ledger.ndjson'), 'utf8').trim().split('\n').length : 0;
      const r = await fetch(`${url}/readyz`);
      const body = (await r.json()) as { consumers: { totalLag: number | null }[] };
      if (ledger >= 5 && r.status === 200 && body.consumers.every((c) => c.totalLag === 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('accepts the invoice with its PDF: 202, a receipt naming its act line, the line published', async () => {
    const res = await post(form(invoice), { ...auth(), 'idempotency-key': 'e2e-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.receiptId).toMatch(/^rcpt_/);
    expect(res.headers.get('location')).toBe(`/v1/invoices/${res.body.receiptId}`);
    expect(res.body.lines.map((l: { lineKey: string }) => l.lineKey)).toEqual(['invoice:INV-E2E-0001:1']);
    expect(res.body.attachment).toMatchObject({ type: 'pdf', bytes: PDF.length });
    receipt = res.body.receiptId;
    const published = await publishedLines();
    expect(published).toHaveLength(1);
    // keyed by the family's adhérent from the run's own membership store (the sample's, imported by --sample), as the inbox keys it
    expect(published[0]!.key).toBe('ADH0000001');
    // the PDF kept under the receipt's name (mode 0600, no NIR in the name), nothing left in incoming/
    const kept = join(home, 'invoices', 'attachments', `${receipt}.pdf`);
    expect(readFileSync(kept)).toEqual(PDF);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(home, 'invoices', 'incoming'))).toEqual([]);
  });

  it('the same Idempotency-Key again: the same receipt, nothing new published', async () => {
    const res = await post(form(invoice), { ...auth(), 'idempotency-key': 'e2e-1' });
    expect(res.status).toBe(202);
    expect(res.body.receiptId).toBe(receipt);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect(await publishedLines()).toHaveLength(1);
  });

  it('a refused invoice (a care date after the invoice date): 422 with its issue, nothing published', async () => {
    const bad = { ...invoice, invoice_id: 'INV-E2E-0002', lines: [{ ...invoice.lines[0]!, care_date: daysAgo(5) }] };
    const res = await post(form(bad), { ...auth(), 'idempotency-key': 'e2e-2' });
    expect(res.status).toBe(422);
    expect(res.body.issues.map((i: { path: unknown[] }) => i.path)).toEqual([['invoice', 'lines', 0, 'care_date']]);
  });

  it('GET /v1/invoices/{receipt}: settled by the run\'s liquidation, with the amounts of the seed grid', async () => {
    let status: any;
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
      const res = await fetch(`${url}/v1/invoices/${receipt}`, { headers: auth() });
      expect(res.status).toBe(200);
      status = await res.json();
      if (status.status === 'settled') break;
    }
    expect(status.status, JSON.stringify(status)).toBe('settled');
    // G, CCN-HLA-BASE "Généralistes" 100 % BR (ccn-table.md, Soins courants): 100 % × 30.00 = 30.00 − RO 21.00 = 9.00,
    //   within the expense left after the RO (50.00 − 21.00 = 29.00): AMC 9.00; rest to pay 50.00 − 21.00 − 9.00 = 20.00;
    //   no tiers payant on an upload: paid to the member
    expect(status.lines.map((l: any) => [l.lineKey, l.status, l.decision.status, l.amounts])).toEqual([
      ['invoice:INV-E2E-0001:1', 'settled', 'paid', { expense: '50.00', roAmount: '21.00', amcAmount: '9.00', restToPay: '20.00', payee: 'member' }],
    ]);
  });

  it('/metrics counts the uploads by outcome: accepted, replayed, refused', async () => {
    expect(await scrapeInvoices()).toEqual({ accepted: 1, replayed: 1, refused: 1 });
    // without a key: refused too
    const none = await post(form(invoice), { 'idempotency-key': 'e2e-3' });
    expect(none.status).toBe(401);
    expect(await scrapeInvoices()).toEqual({ accepted: 1, replayed: 1, refused: 2 });
  });

  it('GET /openapi.json is served and lists the invoices, health, metrics and admin routes', async () => {
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\.1/);
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/invoices', 'GET /v1/invoices/{receipt}', 'GET /healthz', 'GET /readyz', 'GET /metrics',
        'POST /v1/admin/payment-runs', 'POST /v1/admin/replays',
      ]),
    );
    // …and it is the published document (schemas/http/openapi.json, kept by test/http/openapi.int.test.ts
    // from the plugins in run-http.ts's order): what noemie run serves does not drift from it
    expect(doc).toEqual(JSON.parse(readFileSync('schemas/http/openapi.json', 'utf8')));
  });

  it('an unknown route: 404 with the error body', async () => {
    const res = await fetch(`${url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ issues: [expect.objectContaining({ code: 'HTTP_NOT_FOUND', path: [] })] });
  });

  it('stops on SIGTERM, exit code 0', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
