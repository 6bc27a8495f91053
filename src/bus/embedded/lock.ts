import { open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BusError } from '../errors.js';

/**
 * One writer per bus directory: `<bus>/LOCK` holds the owner's pid. A lock left by a dead
 * process (kill -9) is stale and taken over; a live owner — another process, or another open bus
 * in this one — is refused with BUS_LOCKED. Readers (read-only opens) take no lock.
 */
const heldHere = new Set<string>();

export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const abs = resolve(dir);
  const file = join(abs, 'LOCK');
  if (heldHere.has(abs)) throw new BusError('BUS_LOCKED', `${abs} is already open for writing in this process`, { file });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      heldHere.add(abs);
      return async () => {
        heldHere.delete(abs);
        await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new BusError('BUS_LOCKED', `${abs} is owned by process ${owner}; stop it, or open the bus read-only`, { file, pid: owner });
      }
      await rm(file, { force: true });
    }
  }
  throw new BusError('BUS_LOCKED', `${abs}: could not take ${file}`, { file });
}

/** Whether a process with this pid exists (ours or another user's): the owner check of locks and scratch folders. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
