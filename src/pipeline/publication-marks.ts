import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Where the publication of a drop stopped, so that a crash while a drop is being ingested does
 * not publish it again from its first line (README "Ingest bus sink"). One small file per drop in
 * ingestion, `<dir>/<sha256>.json`: per part (its ordinal in the drop, 1-based) how many of its
 * lines are durably on the bus, or `done`. It is written after every acknowledged produce call
 * (temp + rename: a kill leaves the old or the new file, never half of one), so it lags the bus
 * by at most one produce call — those lines are sent again, with the same record ids, and the
 * liquidation service drops a record id it has already applied.
 *
 * Nothing personal inside (a hash and counts). A drop's file is removed once the inbox ledger
 * records the drop (`forgetMarks` after each drop, `pruneMarks` at the start of `noemie run` for
 * a crash in between): from then on the drop's hash alone keeps it from being read again.
 */
const MarksSchema = z.object({
  v: z.literal(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  parts: z.record(z.string().regex(/^\d+$/), z.union([z.literal('done'), z.number().int().min(0)])),
});
type Marks = z.infer<typeof MarksSchema>;

export type PartMark = number | 'done';

export class DropMarks {
  private constructor(
    private readonly path: string,
    private readonly marks: Marks,
  ) {}

  static async open(dir: string, sha256: string): Promise<DropMarks> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${sha256}.json`);
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    let marks: Marks = { v: 1, sha256, parts: {} };
    if (text !== undefined) {
      // An unreadable file (cannot happen with temp + rename) is read as "nothing published":
      // the worst case is the whole drop sent again, which the record ids make harmless.
      const parsed = MarksSchema.safeParse((() => { try { return JSON.parse(text); } catch { return undefined; } })());
      if (parsed.success && parsed.data.sha256 === sha256) marks = parsed.data;
    }
    return new DropMarks(path, marks);
  }

  /** Lines of part `part` already on the bus: 0, a count, or `done`. */
  published(part: number): PartMark {
    return this.marks.parts[String(part)] ?? 0;
  }

  /** The part's publication has started (its rejects were all sent before its first line). */
  started(part: number): boolean {
    return Object.hasOwn(this.marks.parts, String(part));
  }

  async set(part: number, mark: PartMark): Promise<void> {
    this.marks.parts[String(part)] = mark;
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(this.marks));
    await rename(tmp, this.path);
  }
}

/** Removes the marks of drops the inbox ledger already records (`isRecorded(sha256)`), and stray temp files. */
export async function pruneMarks(dir: string, isRecorded: (sha256: string) => boolean): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const sha = /^([0-9a-f]{64})\.json(\.tmp)?$/.exec(name);
    if (!sha || (sha[2] === undefined && !isRecorded(sha[1]!))) continue;
    await rm(join(dir, name), { force: true });
    removed += 1;
  }
  return removed;
}

/** Removes one drop's marks (the inbox ledger has just recorded it). */
export async function forgetMarks(dir: string, sha256: string): Promise<void> {
  await rm(join(dir, `${sha256}.json`), { force: true });
}
