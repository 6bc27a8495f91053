import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { adminPlugin, type AdminActions } from '../../src/http/admin.js';
import { ApiKeys, sha256Hex } from '../../src/http/auth.js';
import { oneAtATime, paymentStateActions } from '../../src/cli/payment-state.js';
import { PipelineError } from '../../src/model/errors.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { accounts, settlements } from '../pipeline/bank-returns-given.js';
import { tempDir } from '../pipeline/stages-given.js';

/**
 * The admin routes behind finance's commands (src/http/admin.ts, src/cli/payment-state.ts), on a
 * home paid once by run R1 (three families, src/pipeline tests' bank-returns-given): what each
 * answers, what it refuses (400 with every issue, 422 with the action's code), and `run --once`'s
 * actions, which read but do not write.
 */
const KEY = 'nk_admin-payment-state';
let home = '';
let cleanup: () => Promise<void>;
let app: FastifyInstance | null = null;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('admin-payments-'));
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  try {
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await runPaymentStage({ bus, home, accounts: accounts(), runId: 'R1', at: '2025-03-31T18:00:00Z', limits: { maxOrder: '30.00', maxRun: '500000.00' } });
  } finally {
    await bus.close();
  }
});

afterEach(async () => {
  await app?.close();
  app = null;
  await cleanup();
});

async function serve(writes: Parameters<typeof paymentStateActions>[1]): Promise<FastifyInstance> {
  const refused = () => Promise.reject(new PipelineError('HTTP_ADMIN_UNAVAILABLE', 'not in this test'));
  const actions: AdminActions = { ...paymentStateActions(home, writes), paymentRun: refused, replay: refused };
  app = Fastify({ logger: false });
  await adminPlugin(ApiKeys.of([{ id: 'finance', scopes: ['admin'], sha256: sha256Hex(KEY) }]), actions).register(app);
  await app.ready();
  return app;
}

const auth = { authorization: `Bearer ${KEY}` };
const camt = () => readFile('fixtures/bank-returns/camt054-R1-return-A3.xml');

it('reads: the run record and its report, the bank returns, the payment facts of lines', async () => {
  const app = await serve(oneAtATime());
  const record = await app.inject({ method: 'GET', url: '/v1/admin/payment-runs/R1', headers: auth });
  expect(record.statusCode).toBe(200);
  expect(record.json()).toMatchObject({ run: { at: '2025-03-31T18:00:00.000Z' }, report: { reconciled: true } });
  expect((await app.inject({ method: 'GET', url: '/v1/admin/payment-runs/R9', headers: auth })).json()).toEqual({ run: null, report: null });
  expect((await app.inject({ method: 'GET', url: '/v1/admin/bank-returns', headers: auth })).json()).toEqual({ blocked: [], returned: [], exceptions: [], files: [] });
  const facts = await app.inject({ method: 'POST', url: '/v1/admin/payment-facts', headers: auth, payload: { lineKeys: ['n:D-A3:1', 'n:unknown:1'] } });
  expect(facts.statusCode).toBe(200);
  const lines = (facts.json() as { lines: { lineKey: string; facts: { line: unknown; runs: { runId: string }[] } }[] }).lines;
  expect(lines.map((l) => [l.lineKey, l.facts.runs.map((r) => r.runId)])).toEqual([['n:D-A3:1', ['R1']], ['n:unknown:1', []]]);
  // a family with many lines: more keys than fastify's default 1 MiB body holds
  const many = Array.from({ length: 30_000 }, (_, i) => `noemie-011751001:3380000${String(i).padStart(5, '0')}:1`);
  const big = await app.inject({ method: 'POST', url: '/v1/admin/payment-facts', headers: auth, payload: { lineKeys: many } });
  expect(big.statusCode).toBe(200);
  expect((big.json() as { lines: unknown[] }).lines).toHaveLength(30_000);
  expect((await app.inject({ method: 'GET', url: '/v1/admin/bank-returns' })).statusCode).toBe(401);
});

it('a bank return file by its content: applied, then the same bytes a duplicate; malformed: 422 PAYMENTS_RETURN_MALFORMED; not base64: 400', async () => {
  const app = await serve(oneAtATime());
  const content = (await camt()).toString('base64');
  const first = await app.inject({ method: 'POST', url: '/v1/admin/bank-returns', headers: auth, payload: { file: 'camt054-A3.xml', content } });
  expect(first.statusCode, first.body).toBe(200);
  expect(first.json()).toMatchObject({ file: 'camt054-A3.xml', format: 'camt.054', duplicateOf: null, returned: [{ payee: 'member:A3', amount: '12.30' }] });
  const again = await app.inject({ method: 'POST', url: '/v1/admin/bank-returns', headers: auth, payload: { file: 'renamed.xml', content } });
  expect(again.json()).toMatchObject({ file: 'renamed.xml', duplicateOf: { file: 'camt054-A3.xml' }, returned: [] });
  const bad = await app.inject({ method: 'POST', url: '/v1/admin/bank-returns', headers: auth, payload: { file: 'x.xml', content: Buffer.from('<Document/>').toString('base64') } });
  expect(bad.statusCode).toBe(422);
  expect(bad.json().issues[0].code).toBe('PAYMENTS_RETURN_MALFORMED');
  const notBase64 = await app.inject({ method: 'POST', url: '/v1/admin/bank-returns', headers: auth, payload: { file: '', content: 'not base64!', extra: 1 } });
  expect(notBase64.statusCode).toBe(400);
  expect((notBase64.json().issues as { path: string[] }[]).map((i) => i.path.join('.')).sort()).toEqual(['', 'content', 'file']); // every issue (the unknown key at the root)
  const view = (await app.inject({ method: 'GET', url: '/v1/admin/bank-returns', headers: auth })).json() as { blocked: { payee: string }[]; files: unknown[] };
  expect(view.blocked.map((b) => b.payee)).toEqual(['member:A3']);
  expect(view.files).toHaveLength(1);
});

it('an approval: recorded once, then PAYMENTS_NOT_HELD for a payee with nothing held; who approves is required', async () => {
  const app = await serve(oneAtATime());
  // A2's 40.50 is above the 30.00 per-order ceiling of R1: held
  const ok = await app.inject({ method: 'POST', url: '/v1/admin/approvals', headers: auth, payload: { ref: 'member:A2', by: 'finance', runId: 'R1' } });
  expect(ok.statusCode, ok.body).toBe(200);
  expect(ok.json()).toMatchObject({ payee: 'member:A2', paymentId: 'R1:member:A2', amount: '40.50', by: 'finance' });
  const none = await app.inject({ method: 'POST', url: '/v1/admin/approvals', headers: auth, payload: { ref: 'member:A1', by: 'finance' } });
  expect(none.statusCode).toBe(422);
  expect(none.json().issues[0]).toMatchObject({ code: 'PAYMENTS_NOT_HELD' });
  const nobody = await app.inject({ method: 'POST', url: '/v1/admin/approvals', headers: auth, payload: { ref: 'member:A2', by: '  ' } });
  expect(nobody.statusCode).toBe(400);
});

it("run --once's actions: the reads answer, the writes are refused (HTTP_ADMIN_UNAVAILABLE) and change nothing", async () => {
  const refuse = async (): Promise<never> => {
    throw new PipelineError('HTTP_ADMIN_UNAVAILABLE', 'run --once: no admin action meanwhile');
  };
  const app = await serve({ refuse });
  const content = (await camt()).toString('base64');
  const write = await app.inject({ method: 'POST', url: '/v1/admin/bank-returns', headers: auth, payload: { file: 'camt054-A3.xml', content } });
  expect(write.statusCode).toBe(422);
  expect(write.json().issues[0].code).toBe('HTTP_ADMIN_UNAVAILABLE');
  expect((await app.inject({ method: 'POST', url: '/v1/admin/approvals', headers: auth, payload: { ref: 'member:A2', by: 'finance' } })).statusCode).toBe(422);
  const view = await app.inject({ method: 'GET', url: '/v1/admin/bank-returns', headers: auth });
  expect(view.statusCode).toBe(200);
  expect(view.json()).toEqual({ blocked: [], returned: [], exceptions: [], files: [] });
});
