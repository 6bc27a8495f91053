import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * bin/noemie.js sets libuv's pool to two threads unless the operator chose (bin/noemie.js says
 * why). libuv reads UV_THREADPOOL_SIZE when its pool first runs work, so what counts is the pool
 * the process really started: a CommonJS preload reports, as the process exits, the variable and
 * the process's threads (/proc/self/task); the pool threads are the only ones the variable moves.
 * Needs `npm run build` (the launcher imports dist/).
 */
describe.runIf(process.platform === 'linux')('bin/noemie.js, libuv pool size', () => {
  let dir = '';
  let probe = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noemie-launcher-'));
    probe = join(dir, 'probe.cjs');
    await writeFile(probe, `process.on('exit', () => require('node:fs').writeSync(2, '\\nPROBE ' + JSON.stringify({ pool: process.env.UV_THREADPOOL_SIZE ?? null, threads: require('node:fs').readdirSync('/proc/self/task').length }) + '\\n'));\n`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const launch = async (pool: string | undefined): Promise<{ pool: string | null; threads: number; out: string }> => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.UV_THREADPOOL_SIZE;
    if (pool !== undefined) env.UV_THREADPOOL_SIZE = pool;
    const { stdout, stderr } = await exec(process.execPath, ['--require', probe, join(ROOT, 'bin', 'noemie.js'), '--version'], { cwd: ROOT, env });
    const line = /PROBE (.*)/.exec(stderr)?.[1];
    if (line === undefined) throw new Error(`no probe line in ${stderr}`);
    return { ...(JSON.parse(line) as { pool: string | null; threads: number }), out: stdout };
  };

  it('starts the pool with two threads by default, and with the operator\'s UV_THREADPOOL_SIZE when set', async () => {
    const byDefault = await launch(undefined);
    const four = await launch('4');
    const six = await launch('6');
    for (const r of [byDefault, four, six]) expect(r.out).toMatch(/^noemie \d+\.\d+\.\d+\n$/);
    expect([byDefault.pool, four.pool, six.pool]).toEqual(['2', '4', '6']);
    // the same process but for its pool: two threads more with 4 than with the default, two more again with 6
    expect(four.threads - byDefault.threads).toBe(2);
    expect(six.threads - four.threads).toBe(2);
  });
});
