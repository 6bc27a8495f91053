import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/index.js';
import { partitionCount } from '../../src/bus/topics.js';
import type { PaymentStageReport } from '../../src/pipeline/payments-service.js';
import type { ReplayResult } from '../../src/pipeline/replay.js';
import { parseExposition, samplesOf, type Exposition } from './exposition.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/**
 * `noemie run` in watch mode as a child process (dist/: `npm run build` first) on the sample, its
 * HTTP service on a free port. Checked over the real socket: /healthz, /readyz, /metrics parsed
 * strictly and compared with what the run itself left (the inbox ledger, the settlements topic read
 * back read-only); then, while it still runs, a payment cut-off and a replay dry-run made with the
 * CLI, which go through the service's admin API (the embedded bus is held: BUS_LOCKED otherwise).
 */
const ADMIN_KEY = 'admin-key-for-the-test';
const INVOICES_KEY = 'invoices-key-for-the-test';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

describe('noemie run HTTP service (embedded bus, child process)', () => {
  const home = mkdtempSync(join(tmpdir(), 'noemie-http-'));
  let child: ChildProcess;
  let url = '';
  let stdout = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    mkdirSync(join(home, 'config'), { recursive: true });
    writeFileSync(join(home, 'config', 'api-keys.json'), JSON.stringify({ clients: [{ id: 'ops', scopes: ['admin'], sha256: sha(ADMIN_KEY) }, { id: 'portal', scopes: ['invoices'], sha256: sha(INVOICES_KEY) }] }));
    child = spawn(process.execPath, ['bin/noemie.js', 'run', '--sample', '--home', home, '--http-port', '0', '--workers', '1'], { env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr!.resume();
    const deadline = Date.now() + 60_000;
    while (!/http: listening on (\S+)/.test(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no URL printed: ${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    url = /http: listening on (\S+)/.exec(stdout)![1]!;
    // settled: the inbox read (tp claims + 4 drops in the ledger) and every stage's lag at 0
    for (;;) {
      if (Date.now() > deadline + 60_000) throw new Error(`not settled: ${stdout}`);
      const ledger = existsSync(join(home, 'ledger.ndjson')) ? readFileSync(join(home, 'ledger.ndjson'), 'utf8').trim().split('\n').length : 0;
      const r = await fetch(`${url}/readyz`);
      const body = (await r.json()) as { ready: boolean; consumers: { totalLag: number | null }[] };
      if (ledger >= 5 && r.status === 200 && body.consumers.every((c) => c.totalLag === 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });

  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, ['bin/noemie.js', ...args, '--home', home], { env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 120_000 });

  it('answers /healthz and /readyz, and says where it listens in <home>/run/service.json', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', pid: child.pid });
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { ready: boolean; bus: { kind: string }; consumers: { stage: string; running: boolean }[] };
    expect(ready.ready).toBe(true);
    expect(ready.bus.kind).toBe('embedded');
    expect(ready.consumers.map((c) => [c.stage, c.running])).toEqual([['membership', true], ['liquidation', true], ['reconciliation', true], ['statements', true]]);
    expect(JSON.parse(readFileSync(join(home, 'run', 'service.json'), 'utf8'))).toMatchObject({ pid: child.pid, url });
  });

  it('/metrics: records per drop and format, settlements per status and their euros equal what the run left', async () => {
    const m = await scrape();
    expect(m.types.get('noemie_ingest_records_total')).toBe('counter');
    expect(m.types.get('noemie_liquidation_batch_duration_seconds')).toBe('histogram');
    expect(samplesOf(m, 'noemie_process_cpu_seconds_total')).toHaveLength(1); // default process metrics

    // per drop: the formats' records add up to what the inbox ledger recorded for that drop
    const ledger = readFileSync(join(home, 'ledger.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file: string; records: number; rejected: number });
    const drops = ledger.filter((e) => !e.file.startsWith('tp_claims'));
    expect(drops).toHaveLength(4);
    for (const d of drops) {
      const read = samplesOf(m, 'noemie_ingest_records_total', { drop: d.file });
      expect(read.length, d.file).toBeGreaterThan(0);
      expect(read.reduce((n, s) => n + s.value, 0), d.file).toBe(d.records);
      expect(samplesOf(m, 'noemie_ingest_records_rejected_total', { drop: d.file }).reduce((n, s) => n + s.value, 0), d.file).toBe(d.rejected);
    }
    // the sample's ZIP holds one part per format (fixtures/sample/README.md), each with one bad record
    expect(samplesOf(m, 'noemie_ingest_records_total', { drop: 'cpam-lot-0001.zip' }).map((s) => s.labels.format).sort()).toEqual(['csv', 'noemie', 'xml']);

    // the settlements topic, read back read-only beside the running service
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    const count = new Map<string, number>();
    const euros = new Map<string, Decimal>();
    try {
      for (let p = 0; p < partitionCount(); p++) {
        for await (const batch of bus.readRange('settlements', p, { from: 0 })) {
          for (const { value } of batch) {
            count.set(value.status, (count.get(value.status) ?? 0) + 1);
            const key = `${value.status}/${value.operation ?? 'I'}`;
            euros.set(key, (euros.get(key) ?? new Decimal(0)).plus(new Decimal(value.amcAmount).abs()));
          }
        }
      }
    } finally {
      await bus.close();
    }
    expect(count.size).toBeGreaterThan(1);
    const byStatus = Object.fromEntries(samplesOf(m, 'noemie_liquidation_settlements_total').map((s) => [s.labels.status, s.value]));
    expect(byStatus).toEqual(Object.fromEntries(count));
    const eurosBy = Object.fromEntries(samplesOf(m, 'noemie_liquidation_amc_euros_total').map((s) => [`${s.labels.status}/${s.labels.operation}`, s.value]));
    expect(eurosBy).toEqual(Object.fromEntries([...euros].map(([k, v]) => [k, Number(v.toFixed(2))])));
    // one observation per batch: as many as the batches that published, at least one per partition with lines
    expect(samplesOf(m, 'noemie_liquidation_batch_duration_seconds_count', { kind: 'lines' })[0]!.value).toBeGreaterThan(0);
    // lag gauges as /readyz: all caught up
    const lag = samplesOf(m, 'noemie_consumer_lag_messages', { group: 'liquidation' });
    expect(lag.length).toBe(3 * partitionCount()); // decompte-lines, invoice-lines, reliquidations
    expect(lag.every((s) => s.value === 0)).toBe(true);
  });

  it('admin routes: 401 without a key, 403 for a client without the admin scope', async () => {
    const none = await fetch(`${url}/v1/admin/payment-runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dryRun":true}' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { issues: { code: string }[] }).issues[0]!.code).toBe('HTTP_UNAUTHENTICATED');
    const portal = await fetch(`${url}/v1/admin/replays`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${INVOICES_KEY}` }, body: '{}' });
    expect(portal.status).toBe(403);
    expect(((await portal.json()) as { issues: { code: string }[] }).issues[0]!.code).toBe('HTTP_FORBIDDEN');
    const bad = await fetch(`${url}/v1/admin/replays`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY }, body: '{"topic":"decompte-lines","partition":-1}' });
    expect(bad.status).toBe(400);
    const issues = ((await bad.json()) as { issues: { code: string; path: unknown[] }[] }).issues;
    expect(issues.map((i) => i.path.join('.')).sort()).toEqual(['from', 'partition']); // every issue, not the first
  });

  it('noemie payments run while the service runs: a cut-off through the admin API, its report, its metrics', async () => {
    const noKey = cli(['payments', 'run']);
    expect(noKey.status).toBe(1);
    expect(noKey.stderr).toContain('HTTP_ADMIN_KEY_MISSING');

    const run = cli(['payments', 'run', '--json'], { NOEMIE_ADMIN_KEY: ADMIN_KEY });
    expect(run.stderr).not.toContain('BUS_LOCKED');
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as PaymentStageReport;
    expect(report.dryRun).toBe(false);
    expect(report.orders.length).toBeGreaterThan(0);
    expect(report.orders.map((o) => o.iban).filter((iban) => iban !== '-' && !/^[A-Z]{2}\d{2}…\w{4}$/.test(iban ?? ''))).toEqual([]); // masked, as --json locally
    expect(existsSync(report.ordersFile!)).toBe(true);
    // the cut-off consumed every settlement the liquidation published
    expect(report.consumed.settlements).toBe(samplesOf(await scrape(), 'noemie_liquidation_settlements_total').reduce((n, s) => n + s.value, 0));
    expect(child.exitCode).toBeNull(); // the service kept running

    const m = await scrape();
    expect(samplesOf(m, 'noemie_payment_runs_total')[0]!.value).toBe(1);
    const transfers = report.orders.filter((o) => o.transfer);
    expect(samplesOf(m, 'noemie_payment_orders_total', { kind: 'transfer' })[0]!.value).toBe(transfers.length);
    expect(samplesOf(m, 'noemie_payment_euros_total', { kind: 'transfer' })[0]!.value).toBe(Number(transfers.reduce((s, o) => s.plus(o.amount), new Decimal(0)).toFixed(2)));
    expect(samplesOf(m, 'noemie_payment_blocked_payees')[0]!.value).toBe(report.blocked.length);

    // the same cut-off again: nothing new to pay (the ledger the first one left)
    const again = cli(['payments', 'run', '--json'], { NOEMIE_ADMIN_KEY: ADMIN_KEY });
    expect(again.status, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as PaymentStageReport).orders).toEqual([]);
  });

  it('noemie replay --dry-run while the service runs: the diff through the admin API, nothing published', async () => {
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    const before = await bus.endOffsets('settlements');
    const lines = (await bus.endOffsets('decompte-lines')).find((e) => e.partition === 1)!;
    await bus.close();
    const r = cli(['replay', '--topic', 'decompte-lines', '--partition', '1', '--from', '0', '--dry-run', '--json'], { NOEMIE_ADMIN_KEY: ADMIN_KEY });
    expect(r.stderr).not.toContain('BUS_LOCKED');
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ReplayResult;
    expect(result.from).toBe(0);
    expect(result.to).toBe(lines.high); // all liquidated: up to the committed offset, the end
    expect(result.read).toBe(lines.high);
    expect(result.totals.lines).toBe(0); // same grids: nothing changes
    expect(result.published).toEqual({ settlements: 0, snapshots: 0 });
    const text = cli(['replay', '--topic', 'decompte-lines', '--partition', '1', '--from', '0', '--dry-run'], { NOEMIE_ADMIN_KEY: ADMIN_KEY });
    expect(text.stdout).toContain(`decompte-lines[1] offsets 0..${lines.high - 1}: ${lines.high} read`);
    expect(text.stdout).toContain('dry run: nothing published');
    const after = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    expect(await after.endOffsets('settlements')).toEqual(before);
    await after.close();
  });

  it('noemie replay (real) while the service runs: its liquidation paused meanwhile, then liquidating again', async () => {
    const r = cli(['replay', '--topic', 'decompte-lines', '--partition', '1', '--from', '0', '--json'], { NOEMIE_ADMIN_KEY: ADMIN_KEY });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ReplayResult;
    expect(result.read).toBeGreaterThan(0);
    expect(result.published).toEqual({ settlements: 0, snapshots: 0 }); // same grids: nothing changed
    // the liquidation restarted: a new invoice dropped now is liquidated (one more settlement)
    const settled = async () => samplesOf(await scrape(), 'noemie_liquidation_settlements_total').reduce((n, s) => n + s.value, 0);
    const before = await settled();
    const invoice = JSON.parse(readFileSync('fixtures/sample/inbox/invoice-INV3380000002.json', 'utf8')) as { invoice_id: string };
    invoice.invoice_id = 'INV3380000099';
    writeFileSync(join(home, 'invoice-INV3380000099.json'), JSON.stringify(invoice));
    renameSync(join(home, 'invoice-INV3380000099.json'), join(home, 'inbox', 'invoice-INV3380000099.json'));
    const deadline = Date.now() + 60_000;
    while ((await settled()) === before && Date.now() < deadline) await new Promise((res) => setTimeout(res, 500));
    expect(await settled()).toBe(before + 1);
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { consumers: { stage: string; running: boolean }[] };
    expect(ready.consumers.find((c) => c.stage === 'liquidation')!.running).toBe(true);
  });

  it('stops on SIGTERM and removes <home>/run/service.json', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(home, 'run', 'service.json'))).toBe(false);
  });
});
