import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BusError } from '../errors.js';

/**
 * Committed offsets per consumer group: `<bus>/groups/<group>/<topic>.json`, {"0": 12, ...} with
 * Kafka's meaning (the next offset to read). Each commit rewrites the small file through a
 * temporary file, fsync and rename, so a crash leaves the old or the new file, never half of one.
 */
const FileSchema = z.record(z.string().regex(/^\d+$/), z.number().int().min(0));

export class OffsetStore {
  private readonly cache = new Map<string, Map<number, number>>();
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {}

  private file(group: string, topic: string): string {
    // encodeURIComponent: a group id is free text, a path segment is not.
    return join(this.dir, encodeURIComponent(group), `${topic}.json`);
  }

  async get(group: string, topic: string): Promise<Map<number, number>> {
    const file = this.file(group, topic);
    const cached = this.cache.get(file);
    if (cached) return cached;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // Never committed: remembered like a file read (lag() polls it while a run waits to catch up).
      const none = new Map<number, number>();
      this.cache.set(file, none);
      return none;
    }
    const parsed = FileSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new BusError('BUS_CORRUPT_LOG', `${file}: not a committed-offsets file`, { file });
    const offsets = new Map(Object.entries(parsed.data).map(([p, o]) => [Number(p), o]));
    this.cache.set(file, offsets);
    return offsets;
  }

  async commit(group: string, topic: string, partition: number, offset: number): Promise<void> {
    const file = this.file(group, topic);
    const offsets = await this.get(group, topic);
    offsets.set(partition, offset);
    this.cache.set(file, offsets);
    // Writes of one file in order, each writing the latest state.
    const run = (this.chains.get(file) ?? Promise.resolve()).then(() => writeAtomically(file, JSON.stringify(Object.fromEntries(offsets))));
    this.chains.set(file, run.catch(() => undefined));
    await run;
  }

  async flush(): Promise<void> {
    await Promise.all(this.chains.values());
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The temp name of `writeAtomically`: `<name>.json.tmp-<pid>`. */
const TEMP_NAME = /\.json\.tmp-\d+$/;

/**
 * Removes what `writeAtomically` leaves when its process is killed between the write and the
 * rename: `<bus>/<topic>/topic.json.tmp-<pid>` and `<bus>/groups/<group>/<topic>.json.tmp-<pid>`.
 * The next process has another pid and would never reuse (so never replace) the file. Only the
 * holder of the bus LOCK may call this: one writer per bus, so every temp file found at open
 * belongs to a dead process, and its content (a state never renamed into place) was never committed.
 * Returns the files removed.
 */
export async function removeStaleTemps(busDir: string): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isFile() || !TEMP_NAME.test(entry.name)) continue;
      const file = join(dir, entry.name);
      await rm(file, { force: true });
      removed.push(file);
    }
  };
  for (const entry of await readdir(busDir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const sub = join(busDir, entry.name);
    if (entry.name !== 'groups') {
      await sweep(sub);
      continue;
    }
    for (const group of await readdir(sub, { withFileTypes: true }).catch(() => [])) {
      if (group.isDirectory()) await sweep(join(sub, group.name));
    }
  }
  return removed;
}

export async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = join(file, '..');
  const tmp = `${file}.tmp-${process.pid}`;
  // The folder is made on the first write only (a commit per consumed batch made it every time).
  const fh = await open(tmp, 'w', 0o644).catch(async (e: unknown) => {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dir, { recursive: true });
    return open(tmp, 'w', 0o644);
  });
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  // The rename itself is durable only once the directory is synced.
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
