import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** Runs the CLI in-process with captured stdout and stderr. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new Writable({ write(c, _e, cb) { into.push(String(c)); cb(); } });
  const code = await main(args, { out: sink(out), err: sink(err) });
  return { code, out: out.join(''), err: err.join('') };
}
