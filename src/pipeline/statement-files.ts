import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes the statement files of `noemie run --once` (`<home>/statements/<adhérent>.txt|.html`):
 * each file in one write, and not at all when the file already holds exactly these bytes (a
 * statement whose content did not change since the last run: no page of it is written again).
 * A few families are written at once (`inFlight`), so the stage does not wait on each file in
 * turn; memory stays bounded by that number of statements.
 *
 * `durable`: each file is fsynced (a file left as it was too: it may be one a crashed run wrote
 * and never synced), and `flush` fsyncs the folders new files were created in — once `flush`
 * resolves, every file queued so far survives a power cut, so the statement stage may then clear
 * the families' dirty marks (statement-pass.ts).
 */
export class StatementFiles {
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown = null;
  /** folders a new file was created in since the last flush (their entries to fsync) */
  private readonly newIn = new Set<string>();
  /** files written (new or changed), and files left as they were (same bytes) */
  readonly counts = { written: 0, unchanged: 0 };

  constructor(
    private readonly inFlight = 8,
    private readonly options: { durable?: boolean } = {},
  ) {}

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

  /** Waits for every queued file (durable: and the folders of new ones); throws the first write that failed. */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure !== null) throw this.failure;
    if (this.options.durable) {
      const dirs = [...this.newIn];
      this.newIn.clear();
      await Promise.all(dirs.map((d) => syncPath(d, 'all')));
    }
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
      if (this.options.durable) await syncPath(path, 'data');
      return;
    }
    if (existing === null) this.newIn.add(dirname(path));
    const file = await open(path, 'w');
    try {
      await file.writeFile(bytes);
      // fdatasync: the bytes and the size (what reading the file needs), not the times
      if (this.options.durable) await file.datasync();
    } finally {
      await file.close();
    }
    this.counts.written += 1;
  }
}

async function syncPath(path: string, what: 'data' | 'all'): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await (what === 'data' ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}
