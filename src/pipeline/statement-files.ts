import { readFile, writeFile } from 'node:fs/promises';

/**
 * Writes the statement files of `noemie run --once` (`<home>/statements/<adhérent>.txt|.html`):
 * each file in one write, and not at all when the file already holds exactly these bytes (a
 * statement whose content did not change since the last run: no page of it is written again).
 * A few families are written at once (`inFlight`), so the stage does not wait on each file in
 * turn; memory stays bounded by that number of statements.
 */
export class StatementFiles {
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown = null;
  /** files written (new or changed), and files left as they were (same bytes) */
  readonly counts = { written: 0, unchanged: 0 };

  constructor(private readonly inFlight = 8) {}

  /** Queues the files of one statement; waits while `inFlight` statements are being written. */
  async add(files: readonly (readonly [path: string, text: string])[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const job = Promise.all(files.map(([path, text]) => this.writeIfChanged(path, text))).then(
      () => undefined,
      (e: unknown) => {
        this.failure ??= e;
      },
    );
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
    while (this.pending.size >= this.inFlight) await Promise.race(this.pending);
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for every queued file; throws the first write that failed. */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure !== null) throw this.failure;
  }

  private async writeIfChanged(path: string, text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    let existing: Buffer | null = null;
    try {
      existing = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (existing !== null && existing.equals(bytes)) {
      this.counts.unchanged += 1;
      return;
    }
    await writeFile(path, bytes);
    this.counts.written += 1;
  }
}
