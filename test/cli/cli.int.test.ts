import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { main } from '../../src/cli/main.js';
import { membershipGroupOfHome } from '../../src/pipeline/membership-consumer.js';
import { PIPELINE_GROUPS } from '../../src/pipeline/groups.js';
import { tempDir } from '../pipeline/stages-given.js';

/**
 * The CLI as an operator meets it: its version, `noemie topics` naming every consumer group of the
 * pipeline, and a Kafka address that does not answer reported with that address.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  return { stream, text: () => chunks.join('') };
}

async function cli(args: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(args, { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe('noemie --version', () => {
  it('prints the version of package.json, with --version and -V, in process and from bin/noemie.js (dist/)', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await cli([flag])).toEqual({ code: 0, out: `noemie ${version}\n`, err: '' });
    // the built CLI finds package.json three folders up from dist/src/cli (needs `npm run build`)
    const { stdout } = await exec(process.execPath, [join(ROOT, 'bin', 'noemie.js'), '-V'], { cwd: ROOT });
    expect(stdout).toBe(`noemie ${version}\n`);
  });

  it('is listed in --help', async () => {
    expect((await cli(['--help'])).out).toContain('--version');
  });
});

describe('noemie topics', () => {
  let home = '';
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: home, cleanup } = await tempDir('topics-'));
    const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
    await bus.close();
  });
  afterAll(async () => cleanup());

  it('shows every consumer group of the pipeline, each with the topics it reads', async () => {
    const json = await cli(['topics', '--home', home, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as { groups: { group: string; lag: { topic: string }[] }[] };
    // the pipeline's groups, then the membership consumer's, whose name is the home's own
    const members = membershipGroupOfHome(home);
    expect(report.groups.map((g) => g.group)).toEqual(['liquidation', 'reconcile', 'payments', 'statements', members]);
    for (const g of report.groups) {
      const topics = g.group === members ? ['members'] : PIPELINE_GROUPS.find((p) => p.group === g.group)!.topics;
      expect([...new Set(g.lag.map((l) => l.topic))].sort()).toEqual([...topics].sort());
    }
    const text = await cli(['topics', '--home', home]);
    for (const group of ['liquidation', 'reconcile', 'payments', 'statements']) expect(text.out).toMatch(new RegExp(`^group ${group} \\(.+\\): lag 0$`, 'm'));
  });
});

describe('a Kafka broker that cannot be reached', () => {
  it('fails with BUS_BROKER naming the address tried (measured: ~4 s; it was ~2 min of silence)', async () => {
    // a port that was just free: nothing listens on it (connection refused)
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const r = await cli(['topics', '--kafka', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[BUS_BROKER]');
    expect(r.err).toContain(`cannot reach Kafka at 127.0.0.1:${port}`);
    // speed is not asserted (a loaded machine); the generous test timeout below is the bound
    console.log(`unreachable broker reported in ${Date.now() - started} ms`);
  }, 60_000);
});
