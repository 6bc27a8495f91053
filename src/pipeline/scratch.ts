import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../bus/embedded/lock.js';

/**
 * A private folder under the OS temp dir for callers that give no folder of their own (tests,
 * benchmarks: `noemie run` and the service process always work under the home). What goes in it
 * holds personal data (spooled lines, family ledgers keyed by NIR), and a `kill -9` skips every
 * cleanup, so the folder is named after its process (`<prefix><pid>-XXXXXX`) and every new one
 * first removes the folders of the same prefix whose process is gone.
 */
export async function scratchDir(prefix: string): Promise<string> {
  await sweepOrphans(prefix);
  return mkdtemp(join(tmpdir(), `${prefix}${process.pid}-`));
}

/** Removes `<tmpdir>/<prefix><pid>-*` folders whose process no longer runs; returns how many. */
export async function sweepOrphans(prefix: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = ownerOf(name, prefix);
    if (pid === undefined || pid === process.pid || isAlive(pid)) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

function ownerOf(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)-/.exec(name.slice(prefix.length));
  return m ? Number(m[1]) : undefined;
}
