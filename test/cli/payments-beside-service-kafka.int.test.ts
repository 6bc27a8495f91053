import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { camt054Return } from '../support/camt054.js';
import { spawnNoemie, type SpawnedCli } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';
import { useTestBroker } from '../support/use-broker.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 60_000 });

/**
 * `noemie run --kafka` holds no bus lock in the home, but it holds the home's LevelDB (statement
 * index, ledgers; the payment state after its move): finance's commands find it by LEVEL_LOCKED and
 * ask it (dist/: `npm run build` first; a Kafka-protocol broker: librdkafka's mock, or KAFKA_BROKERS).
 * Without the key they are refused (HTTP_ADMIN_KEY_MISSING); with it they print what they print
 * once the service has stopped.
 */
const broker = useTestBroker();
const ADMIN_KEY = 'admin-key-for-the-kafka-service';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

describe('finance\'s commands beside noemie run --kafka', () => {
  const dir = useTempDir('payments-kafka-');
  const home = () => join(dir(), 'home');
  const prefix = `pk${randomUUID().slice(0, 8)}.`;
  const env = () => ({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_SESSION_TIMEOUT_MS: String(broker.kind === 'mock' ? 3_000 : 6_000), NOEMIE_LOG_LEVEL: 'warn' });
  let service: ChildProcess | undefined;
  afterAll(async () => {
    if (service !== undefined && service.exitCode === null && service.signalCode === null) {
      const exited = new Promise((r) => service!.once('exit', r));
      service.kill('SIGKILL');
      await exited;
    }
  });
  const cli = (args: string[], key: string | null = ADMIN_KEY): Promise<SpawnedCli> => spawnNoemie([...args, '--home', home()], { ...env(), ...(key === null ? {} : { NOEMIE_ADMIN_KEY: key }) });

  it('payments show / returns / run --dry-run through the service (found by LEVEL_LOCKED), then the same without it', async () => {
    const once = await spawnNoemie(['run', '--once', '--sample', '--kafka', broker.brokers().join(','), '--home', home(), '--stable-ms', '0', '--workers', '1', '--no-http'], env());
    expect(once.code, once.err).toBe(0);
    const runId = /payment run (\S+):/.exec(once.out)![1]!;
    const orders = (await readFile(/orders: +(.+\.ndjson)/.exec(once.out)![1]!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { payee: string; amount: string; endToEndId: string; transfer: boolean });
    const transfer = orders.find((o) => o.transfer)!;
    const xml = camt054Return({ endToEndId: transfer.endToEndId, amount: transfer.amount, messageId: 'BANK-C54-KAFKA-1' });
    const file = join(dir(), 'camt054-kafka.xml');
    await writeFile(file, xml);
    await mkdir(join(home(), 'config'), { recursive: true });
    await writeFile(join(home(), 'config', 'api-keys.json'), JSON.stringify({ clients: [{ id: 'finance', scopes: ['admin'], sha256: sha(ADMIN_KEY) }] }));

    service = spawn(process.execPath, ['bin/noemie.js', 'run', '--kafka', broker.brokers().join(','), '--home', home(), '--http-port', '0', '--workers', '1'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => service!.once('exit', (code) => r(code)));
    let stdout = '';
    service.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    service.stderr!.resume();
    const deadline = Date.now() + 90_000;
    while (!/watching /.test(stdout)) {
      if (Date.now() > deadline || service.exitCode !== null) throw new Error(`not watching: ${stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(existsSync(join(home(), 'bus', 'LOCK'))).toBe(false); // no bus lock on Kafka: the LevelDB's is the one met

    const noKey = await cli(['payments', 'show', runId], null);
    expect(noKey.code).toBe(1);
    expect(noKey.err).toContain('[HTTP_ADMIN_KEY_MISSING]');
    const appliedThere = await cli(['payments', 'returns', file]);
    expect(appliedThere.code, appliedThere.err).toBe(0);
    expect(appliedThere.out).toContain('camt054-kafka.xml: camt.054 BANK-C54-KAFKA-1: 1 returned');
    const shownThere = await cli(['payments', 'show', runId, '--json']);
    expect(shownThere.code, shownThere.err).toBe(0);
    expect(JSON.parse(shownThere.out)).toMatchObject({ runId, returns: { returned: [{ endToEndId: transfer.endToEndId }] } });
    const returnsThere = await cli(['payments', 'show', '--json']);
    // payments run opens the Kafka bus (no lock): the LevelDB's lock sends it to the service too
    const dryArgs = ['payments', 'run', '--dry-run', '--run-id', 'DRY-K', '--at', '2026-12-07T10:00:00Z', '--kafka', broker.brokers().join(','), '--json'];
    const dryNoKey = await cli(dryArgs, null);
    expect(dryNoKey.code).toBe(1);
    expect(dryNoKey.err).toContain('[HTTP_ADMIN_KEY_MISSING]');
    const dryThere = await cli(dryArgs);
    expect(dryThere.code, dryThere.err).toBe(0);

    service.kill('SIGTERM');
    expect(await exited).toBe(0);
    const shownHere = await cli(['payments', 'show', runId, '--json'], null);
    expect(shownHere).toMatchObject({ code: 0, out: shownThere.out, err: shownThere.err });
    expect((await cli(['payments', 'show', '--json'], null)).out).toBe(returnsThere.out);
    const dryHere = await cli(dryArgs, null);
    expect(dryHere.code, dryHere.err).toBe(0);
    expect(JSON.parse(dryHere.out)).toEqual(JSON.parse(dryThere.out));
    const again = await cli(['payments', 'returns', file], null);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/camt054-kafka\.xml: duplicate — the same bank file was applied on \S+ as camt054-kafka\.xml, skipped/);
  });
});
