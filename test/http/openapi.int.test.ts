import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { ApiKeys, sha256Hex } from '../../src/http/auth.js';
import { invoicesPlugin } from '../../src/http/invoices/index.js';
import { openApiPlugin } from '../../src/http/openapi.js';
import { healthPlugin } from '../../src/http/health.js';
import { metricsPlugin } from '../../src/http/metrics-plugin.js';
import { adminPlugin } from '../../src/http/admin.js';
import { ReadinessProbe } from '../../src/http/readiness.js';

/**
 * schemas/http/openapi.json is the document the service serves at GET /openapi.json, made from the
 * registered routes' schemas (src/http/openapi.ts): this test fails when they drift apart
 * (UPDATE_SCHEMAS=1 rewrites it). The plugins registered here are the service's: the integrator
 * adds every plugin `noemie run` registers (health, metrics, admin), in the same order.
 */
const FILE = join(import.meta.dirname, '../../schemas/http/openapi.json');
const KEY = 'nk_test-openapi';

let home = '';
let bus: EmbeddedBus;
let app: FastifyInstance;
let url = '';
let document: () => Record<string, unknown>;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-openapi-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
  app = Fastify({ logger: false });
  const openapi = openApiPlugin();
  document = openapi.document;
  const keys = ApiKeys.of([{ id: 'portal', scopes: ['invoices'], sha256: sha256Hex(KEY) }]);
  // the service's plugins in noemie run's order (src/cli/run-http.ts); the admin actions are not called here
  const probe = new ReadinessProbe({ bus, consumers: () => [] });
  const refused = () => Promise.reject(new Error('not called in this test'));
  const plugins = [openapi, healthPlugin(probe), metricsPlugin(probe), adminPlugin(keys, { paymentRun: refused, replay: refused, bankReturn: refused, approval: refused, runRecord: refused, bankReturns: refused, paymentFacts: refused }), invoicesPlugin({ home, bus, keys })];
  for (const p of plugins) await p.register(app);
  url = await app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await rm(home, { recursive: true, force: true });
});

it('schemas/http/openapi.json is the document built from the routes, and GET /openapi.json serves it', async () => {
  const expected = `${JSON.stringify(document(), null, 2)}\n`;
  if (process.env.UPDATE_SCHEMAS === '1') {
    await mkdir(join(FILE, '..'), { recursive: true });
    await writeFile(FILE, expected);
  }
  expect(await readFile(FILE, 'utf8')).toBe(expected);
  const served = await fetch(`${url}/openapi.json`);
  expect(served.status).toBe(200);
  expect(served.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await served.json()).toEqual(JSON.parse(expected));
});

it('documents the invoices routes: multipart body, the receipt path parameter, the key schemes', () => {
  const doc = document() as any;
  expect(doc.openapi).toBe('3.1.0');
  const upload = doc.paths['/v1/invoices'].post;
  expect(Object.keys(upload.requestBody.content)).toEqual(['multipart/form-data']);
  expect(upload.requestBody.content['multipart/form-data'].schema.required).toEqual(['invoice', 'attachment']);
  expect(upload.parameters).toEqual([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true })]);
  expect(Object.keys(upload.responses)).toEqual(['202', '400', '401', '403', '413', '415', '422', '503']);
  expect(upload.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
  const status = doc.paths['/v1/invoices/{receipt}'].get;
  expect(status.parameters).toEqual([expect.objectContaining({ name: 'receipt', in: 'path', required: true })]);
  expect(Object.keys(doc.components.securitySchemes)).toEqual(['bearerAuth', 'apiKeyHeader']);
  expect(doc.paths['/v1/invoices'].head).toBeUndefined();
});

it('what the service answers validates against the document (JSON Schema 2020-12): a receipt, a status, an error body', async () => {
  const doc = document() as any;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const schemaOf = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema;
  const form = new FormData();
  form.append('invoice', JSON.stringify({ invoice_id: 'INV-OA-1', amc_member_id: 'A001', nir: '1850375123456', rang: 1, ps_id: '123', ps_kind: 'osteopath', invoice_date: '2024-03-20', lines: [{ act_code: 'OSTEO', care_date: '2024-03-15', quantity: 1, expense: '60.00' }] }));
  form.append('attachment', new Blob([Buffer.from('%PDF-1.7\n%%EOF\n')]), 'f.pdf');
  const res = await fetch(`${url}/v1/invoices`, { method: 'POST', body: form, headers: { authorization: `Bearer ${KEY}`, 'idempotency-key': 'oa-1' } });
  expect(res.status).toBe(202);
  const receipt = (await res.json()) as { receiptId: string };
  const validReceipt = ajv.compile(schemaOf('/v1/invoices', 'post', '202'));
  expect(validReceipt(receipt), JSON.stringify(validReceipt.errors)).toBe(true);
  const status = await (await fetch(`${url}/v1/invoices/${receipt.receiptId}`, { headers: { authorization: `Bearer ${KEY}` } })).json();
  const validStatus = ajv.compile(schemaOf('/v1/invoices/{receipt}', 'get', '200'));
  expect(validStatus(status), JSON.stringify(validStatus.errors)).toBe(true);
  const refused = await (await fetch(`${url}/v1/invoices`, { method: 'POST', body: form })).json();
  const validError = ajv.compile(schemaOf('/v1/invoices', 'post', '401'));
  expect(validError(refused), JSON.stringify(validError.errors)).toBe(true);
  expect(validError({ issues: [] })).toBe(false);
});
