import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * `<home>/run/service.json`: where the `noemie run` holding this home's bus answers, so a CLI
 * command refused by the bus lock (BUS_LOCKED) can ask the service instead. Written once the HTTP
 * service listens, removed when it stops; a file left by a killed process names a dead pid and is
 * ignored. No secret in it: the admin key is the caller's (NOEMIE_ADMIN_KEY).
 */
export const ServiceFileSchema = z.object({ pid: z.number().int(), url: z.string().url(), startedAt: z.string() });
export type ServiceFile = z.infer<typeof ServiceFileSchema>;

export const serviceFileOf = (home: string): string => join(home, 'run', 'service.json');

export async function writeServiceFile(home: string, url: string): Promise<() => Promise<void>> {
  const file = serviceFileOf(home);
  await mkdir(join(home, 'run'), { recursive: true });
  const body: ServiceFile = { pid: process.pid, url, startedAt: new Date().toISOString() };
  // temp + rename: a reader never sees half a file
  await writeFile(`${file}.${process.pid}.tmp`, `${JSON.stringify(body)}\n`, { mode: 0o644 });
  await rename(`${file}.${process.pid}.tmp`, file);
  return async () => {
    // only ours: a service started since (after a kill -9 of this one) keeps its own
    const now = await readServiceFile(home);
    if (now?.pid === process.pid) await rm(file, { force: true });
  };
}

export async function readServiceFile(home: string): Promise<ServiceFile | null> {
  try {
    const parsed = ServiceFileSchema.safeParse(JSON.parse(await readFile(serviceFileOf(home), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
