import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliIo, Command } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';

/** What a command printed and returned, run in this process. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `fn` with captured stdout / stderr. */
export async function captureCli(fn: (io: CliIo) => Promise<number>): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (c: Buffer) => o.push(c));
  err.on('data', (c: Buffer) => e.push(c));
  const code = await fn({ out, err });
  return { code, out: Buffer.concat(o).toString('utf8'), err: Buffer.concat(e).toString('utf8') };
}

/** `noemie <argv…>` in this process (src/cli/main.ts). */
export const runNoemie = (argv: string[]): Promise<CliResult> => captureCli((io) => main(argv, io));

/** One command's `run` in this process. */
export const runCommand = (cmd: Command, argv: string[]): Promise<CliResult> => captureCli((io) => cmd.run(argv, io));

/** What a `bin/noemie.js` child printed, with how it ended (a signal when it was killed). */
export interface SpawnedCli {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Runs `bin/noemie.js` in a child process from the project's root (crash tests kill it from `env`'s crash points). */
export function spawnNoemie(args: readonly string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  const root = join(import.meta.dirname, '..', '..');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'noemie.js'), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}
