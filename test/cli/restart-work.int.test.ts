import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { expectNothingNew, homeWithReference } from './run-support.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * A restart with nothing new does what it must and no more (issue 12: "a restart reads what is new
 * or what it needs, never the whole past"; bench/README.md "Session 24 — restart"): no worker
 * thread is started — the liquidation's and the statements' pools start with their first task.
 * A CommonJS preload counts the worker threads the `noemie run` child constructs (piscina looks
 * `Worker` up on node:worker_threads at each start). Needs `npm run build` (bin/ imports dist/).
 */
const PROBE = `const wt = require('node:worker_threads');
const Base = wt.Worker;
let started = 0;
wt.Worker = class extends Base { constructor(...a) { super(...a); started += 1; } };
require('node:module').syncBuiltinESMExports();
process.on('exit', () => require('node:fs').writeSync(2, '\\nPROBE ' + JSON.stringify({ started }) + '\\n'));
`;

async function runOnceCounting(home: string, probe: string, ...args: string[]): Promise<{ out: string; workers: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NOEMIE_LOG_LEVEL: 'warn', NOEMIE_STATEMENT_THREADS: '2' };
  const { stdout, stderr } = await exec(process.execPath, ['--require', probe, join(ROOT, 'bin', 'noemie.js'), 'run', '--once', '--home', home, '--stable-ms', '0', '--workers', '2', '--no-http', ...args], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
  const line = /PROBE (.*)/.exec(stderr)?.[1];
  if (line === undefined) throw new Error(`no probe line in ${stderr}`);
  return { out: stdout + stderr, workers: (JSON.parse(line) as { started: number }).started };
}

it('a restart with nothing new starts no worker thread; the run before it, with a drop, started its pools', async () => {
  const { home } = await homeWithReference('restart-work-');
  const probe = join(home, 'probe.cjs');
  await writeFile(probe, PROBE);
  const first = await runOnceCounting(home, probe, '--sample');
  expect(first.out).toMatch(/liquidation: [1-9]\d* lines/);
  // two liquidation workers, the statements' two, the ingest row decoder
  expect(first.workers).toBeGreaterThanOrEqual(4);
  const restart = await runOnceCounting(home, probe);
  expectNothingNew(restart.out);
  expect(restart.workers).toBe(0);
}, 120_000);
