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
