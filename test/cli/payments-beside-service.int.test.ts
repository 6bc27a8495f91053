import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { camt054Return } from '../support/camt054.js';
import { spawnNoemie, type SpawnedCli } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/**
 * Finance's commands on the payment state beside a running `noemie run` (dist/: `npm run build`
 * first). One home is paid once (`run --once --sample`, a low per-order ceiling so that orders are
 * held), then copied: home A gets a running service (watch mode, its HTTP service, an admin key),
 * home B none. Each command is run against both, A through the service's admin API (the service
 * holds the home: without NOEMIE_ADMIN_KEY the command is refused with HTTP_ADMIN_KEY_MISSING),
 * B here: same stdout, same stderr, same exit code, up to the home's path and the clock's instants.
 */
const ADMIN_KEY = 'admin-key-for-payments-beside-service';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

const camt054 = (endToEndId: string, amount: string, currency = 'EUR') => camt054Return({ endToEndId, amount, currency, messageId: 'BANK-C54-BESIDE-1' });

interface Order { payee: string; amount: string; endToEndId: string; transfer: boolean; runId: string }

describe('payments show / returns / approve and statement beside a running service: the same output as without it', () => {
  const dir = useTempDir('payments-beside-');
  const homeA = () => join(dir(), 'A');
  const homeB = () => join(dir(), 'B');
  let service: ChildProcess;
  let exited: Promise<number | null>;
  let url = '';
  let runId = '';
  let transfer: Order;
  let held: string[] = [];

  beforeAll(async () => {
    // given a home paid once, with orders held for approval (ceiling 40.00 per order)
    const once = await spawnNoemie(['run', '--once', '--sample', '--home', homeA(), '--workers', '1', '--no-http'], { NOEMIE_LOG_LEVEL: 'error', NOEMIE_PAYMENT_MAX_ORDER: '40.00' });
    expect(once.code, once.err).toBe(0);
    const ordersFile = /orders: +(.+\.ndjson)/.exec(once.out)![1]!;
    const orders = (await readFile(ordersFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Order);
    transfer = orders.find((o) => o.payee.startsWith('member:') && o.transfer)!;
    runId = transfer.runId;
    held = [...once.out.matchAll(/held: (\S+) \S+ \(order ceiling\)/g)].map((m) => m[1]!);
    expect(held.length).toBeGreaterThan(2);
    // the same home twice: B stays without a service
    await cp(homeA(), homeB(), { recursive: true });
    await mkdir(join(homeA(), 'config'), { recursive: true });
    await writeFile(join(homeA(), 'config', 'api-keys.json'), JSON.stringify({ clients: [{ id: 'finance', scopes: ['admin'], sha256: sha(ADMIN_KEY) }] }));
    await writeFile(join(dir(), 'camt054-return.xml'), camt054(transfer.endToEndId, transfer.amount));
    await writeFile(join(dir(), 'camt054-usd.xml'), camt054(transfer.endToEndId, transfer.amount, 'USD'));

    service = spawn(process.execPath, ['bin/noemie.js', 'run', '--home', homeA(), '--http-port', '0', '--workers', '1'], { env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => service.on('exit', (code) => resolve(code)));
    let stdout = '';
    service.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    service.stderr!.resume();
    const deadline = Date.now() + 60_000;
    while (!/http: listening on (\S+)/.test(stdout)) {
      if (Date.now() > deadline || service.exitCode !== null) throw new Error(`no URL printed: ${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    url = /http: listening on (\S+)/.exec(stdout)![1]!;
  });

  afterAll(async () => {
    if (service !== undefined && service.exitCode === null) {
      service.kill('SIGTERM');
      await exited;
    }
  });

  const cli = (home: string, args: string[], key: string | null = ADMIN_KEY): Promise<SpawnedCli> =>
    spawnNoemie([...args, '--home', home], { NOEMIE_LOG_LEVEL: 'warn', ...(key === null ? {} : { NOEMIE_ADMIN_KEY: key }) });
  /** what a command printed, the home's path and the clock's instants (an approval's, a return's) put aside */
  const shown = (r: SpawnedCli, home: string) => {
    const norm = (s: string) => s.replaceAll(home, '<home>').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<instant>');
    return { code: r.code, out: norm(r.out), err: norm(r.err) };
  };
  /** the command against A (through its service) and B (here): the same output */
  const both = async (args: string[]) => {
    const a = await cli(homeA(), args);
    const b = await cli(homeB(), args);
    expect(shown(a, homeA()), args.join(' ')).toEqual(shown(b, homeB()));
    return shown(a, homeA());
  };

  it('goes through the service while it holds the home: refused without the admin key (HTTP_ADMIN_KEY_MISSING)', async () => {
    for (const args of [['payments', 'show'], ['payments', 'show', runId], ['payments', 'returns', join(dir(), 'camt054-usd.xml')], ['payments', 'approve', held[0]!, '--by', 'finance'], ['statement', '--adherent', transfer.payee.slice('member:'.length), '--from', '2024-01-01', '--to', '2026-12-31']]) {
      const r = await cli(homeA(), args, null);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toContain('[HTTP_ADMIN_KEY_MISSING]');
      expect(r.err).toContain(url);
    }
    // the home without a service needs no key
    expect((await cli(homeB(), ['payments', 'show', runId], null)).code).toBe(0);
  });

  it('payments show, before and after a bank return; payments run --dry-run: the same with and without the service', async () => {
    const text = await both(['payments', 'show', runId]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/held \d+\.\d\d \(\d+\)/); // the report's summary, read from the run's record
    const json = await both(['payments', 'show', runId, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ runId, report: { reconciled: true } });
    expect((await both(['payments', 'show'])).out).toBe('no bank return recorded\n');
    const none = await both(['payments', 'show', 'run-that-never-was']);
    expect(none.code).toBe(1);
    const dry = await both(['payments', 'run', '--dry-run', '--run-id', 'DRY1', '--at', '2026-12-07T10:00:00Z', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({ runId: 'DRY1', dryRun: true });
  });

  it('payments returns: applied once, a malformed file refused (exit 1, nothing applied); the same file again is a duplicate, as the command says it here', async () => {
    const applied = await both(['payments', 'returns', join(dir(), 'camt054-usd.xml'), join(dir(), 'camt054-return.xml')]);
    expect(applied.code).toBe(1);
    expect(applied.err).toContain('PAYMENTS_RETURN_MALFORMED: camt054-usd.xml record 1:');
    expect(applied.err).toContain('— nothing of this file applied');
    expect(applied.out).toContain('camt054-return.xml: camt.054 BANK-C54-BESIDE-1: 1 returned, 0 acknowledged, 0 exception(s)');
    expect(applied.out).toContain(`${transfer.payee} blocked until its account changes`);
    const again = await both(['payments', 'returns', join(dir(), 'camt054-return.xml'), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject([{ file: 'camt054-return.xml', duplicateOf: { file: 'camt054-return.xml' }, returned: [] }]);
    const show = await both(['payments', 'show', '--json']);
    expect(JSON.parse(show.out).returns).toMatchObject({ blocked: [{ payee: transfer.payee, code: 'AC04' }], returned: [{ endToEndId: transfer.endToEndId }], exceptions: [] });
  });

  it("the service commits a bank file and its answer is lost (the command killed): the rerun says duplicate, nothing applied twice", async () => {
    const file = camt054(transfer.endToEndId, transfer.amount).replace('BANK-C54-BESIDE-1', 'BANK-C54-BESIDE-LOST');
    // what the command sends; nobody reads the answer (a command killed after the service's commit)
    const sent = await fetch(`${url}/v1/admin/bank-returns`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ file: 'camt054-lost.xml', content: Buffer.from(file).toString('base64') }) });
    expect(sent.status).toBe(200);
    await writeFile(join(dir(), 'camt054-lost.xml'), file);
    const rerun = await cli(homeA(), ['payments', 'returns', join(dir(), 'camt054-lost.xml'), '--json']);
    expect(rerun.code, rerun.err).toBe(0);
    const [report] = JSON.parse(rerun.out) as { duplicateOf: { file: string } | null; returned: unknown[] }[];
    expect(report).toMatchObject({ duplicateOf: { file: 'camt054-lost.xml' }, returned: [] });
    // the file was applied once: its return of an already returned transfer is one exception, not two
    const show = JSON.parse((await cli(homeA(), ['payments', 'show', '--json'])).out) as { returns: { exceptions: { file: string }[]; files: { file: string }[] } };
    expect(show.returns.exceptions.filter((e) => e.file === 'camt054-lost.xml')).toHaveLength(1);
    expect(show.returns.files.filter((f) => f.file === 'camt054-lost.xml')).toHaveLength(1);
  });

  it('payments approve: the approval recorded, then refused for an order not held; statement: the same text', async () => {
    const approved = await both(['payments', 'approve', held[0]!, '--by', 'finance', '--json']);
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.out)).toMatchObject({ payee: held[0], by: 'finance' });
    const text = await both(['payments', 'approve', held[1]!, '--by', 'finance', '--run', runId]);
    expect(text.out).toContain(`approved ${runId}:${held[1]}`);
    const wrongRun = await both(['payments', 'approve', held[2]!, '--by', 'finance', '--run', 'another-run']);
    expect(wrongRun.code).toBe(1);
    expect(wrongRun.err).toContain('[PAYMENTS_NOT_HELD]');
    const notHeld = await both(['payments', 'approve', transfer.payee, '--by', 'finance']);
    expect(notHeld.code).toBe(1);
    expect(notHeld.err).toContain(`[PAYMENTS_NOT_HELD] no held order for ${transfer.payee}`);
    // the member whose transfer the bank returned: "en attente" with the reason, read from the payment facts
    const statement = await both(['statement', '--adherent', transfer.payee.slice('member:'.length), '--from', '2024-01-01', '--to', '2026-12-31']);
    expect(statement.code).toBe(0);
    expect(statement.out).toContain('compte clos');
    expect(service.exitCode).toBeNull(); // the service kept running
  });
});
