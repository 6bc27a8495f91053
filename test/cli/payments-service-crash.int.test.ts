import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { serviceFileOf } from '../../src/http/service-file.js';
import { camt054Return } from '../support/camt054.js';
import { spawnNoemie } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/**
 * The running service killed (SIGKILL, NOEMIE_ADMIN_CRASH_AFTER) between the commit of finance's
 * write and its answer to the command (dist/: `npm run build` first): the command fails
 * (HTTP_SERVICE_UNREACHABLE), and running it again — here, the service being dead — finds the write
 * done: the bank file is a duplicate (applied once), the approval the same one.
 */
const ADMIN_KEY = 'admin-key-for-the-crash-test';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

const camt054 = (endToEndId: string, amount: string) => camt054Return({ endToEndId, amount, messageId: 'BANK-C54-CRASH-1' });

interface Order { payee: string; amount: string; endToEndId: string; transfer: boolean }

/** `noemie run` (watch mode) on the home, killed by itself after the given admin write. */
async function startService(home: string, crashAfter: string): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, ['bin/noemie.js', 'run', '--home', home, '--http-port', '0', '--workers', '1'], { env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn', NOEMIE_ADMIN_CRASH_AFTER: crashAfter }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.resume();
  const deadline = Date.now() + 60_000;
  while (!/http: listening on (\S+)/.test(stdout)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no URL printed: ${stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, exited };
}

describe('a service killed between its commit and its answer', () => {
  const dir = useTempDir('payments-crash-');
  const home = () => join(dir(), 'home');
  const cli = (args: string[]) => spawnNoemie([...args, '--home', home()], { NOEMIE_LOG_LEVEL: 'warn', NOEMIE_ADMIN_KEY: ADMIN_KEY });

  it('bank return file, then approval: the rerun finds each done once', async () => {
    const once = await spawnNoemie(['run', '--once', '--sample', '--home', home(), '--workers', '1', '--no-http'], { NOEMIE_LOG_LEVEL: 'error', NOEMIE_PAYMENT_MAX_ORDER: '40.00' });
    expect(once.code, once.err).toBe(0);
    const orders = (await readFile(/orders: +(.+\.ndjson)/.exec(once.out)![1]!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Order);
    const transfer = orders.find((o) => o.payee.startsWith('member:') && o.transfer)!;
    const held = /held: (\S+) \S+ \(order ceiling\)/.exec(once.out)![1]!;
    await mkdir(join(home(), 'config'), { recursive: true });
    await writeFile(join(home(), 'config', 'api-keys.json'), JSON.stringify({ clients: [{ id: 'finance', scopes: ['admin'], sha256: sha(ADMIN_KEY) }] }));
    const file = join(dir(), 'camt054-crash.xml');
    await writeFile(file, camt054(transfer.endToEndId, transfer.amount));

    // the bank file: committed by the service, which dies before answering
    const first = await startService(home(), 'bank-return');
    const lost = await cli(['payments', 'returns', file]);
    expect(await first.exited).toBe('SIGKILL');
    expect(lost.code).toBe(1);
    expect(lost.err).toContain('[HTTP_SERVICE_UNREACHABLE]');
    expect(existsSync(serviceFileOf(home()))).toBe(true); // left by the killed service: names a dead pid
    const rerun = await cli(['payments', 'returns', file]);
    expect(rerun.code, rerun.err).toBe(0);
    expect(rerun.out).toMatch(/^camt054-crash\.xml: duplicate — the same bank file was applied on \S+ as camt054-crash\.xml, skipped\n$/);
    const shown = JSON.parse((await cli(['payments', 'show', '--json'])).out) as { returns: { returned: { endToEndId: string }[]; files: unknown[]; exceptions: unknown[] } };
    expect(shown.returns.returned.map((r) => r.endToEndId)).toEqual([transfer.endToEndId]);
    expect(shown.returns.files).toHaveLength(1);
    expect(shown.returns.exceptions).toEqual([]);

    // the approval: committed by the service, which dies before answering
    const second = await startService(home(), 'approval');
    const lostApproval = await cli(['payments', 'approve', held, '--by', 'finance']);
    expect(await second.exited).toBe('SIGKILL');
    expect(lostApproval.code).toBe(1);
    expect(lostApproval.err).toContain('[HTTP_SERVICE_UNREACHABLE]');
    const dryRun = async () => JSON.parse((await cli(['payments', 'run', '--dry-run', '--max-order', '40.00', '--json'])).out) as { orders: { endToEndId: string; transfer: boolean }[]; held: { payee: string }[] };
    // at the same ceiling, the order is held unless approved: committed before the kill
    expect((await dryRun()).held.map((h) => h.payee)).not.toContain(held);
    const again = await cli(['payments', 'approve', held, '--by', 'finance', '--json']);
    expect(again.code, again.err).toBe(0);
    const approval = JSON.parse(again.out) as { paymentId: string; endToEndId: string; amount: string };
    // the next run pays that order once, as a transfer (a dry run: nothing recorded); the others stay held

    const dry = await dryRun();
    expect(dry.orders.filter((o) => o.endToEndId === approval.endToEndId)).toEqual([expect.objectContaining({ transfer: true })]);
    expect(dry.held.map((h) => h.payee)).not.toContain(held);
    expect(dry.held.length).toBeGreaterThan(0);
  });
});
