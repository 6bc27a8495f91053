import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BoundedJobs } from './bounded-jobs.js';

/**
 * Writes the statement files of `noemie run --once` (`<home>/statements/<adhérent>.txt|.html`):
 * each file in one write, and not at all when the file already holds exactly these bytes (a
 * statement whose content did not change since the last run: no page of it is written again).
 * A few families are written at once (`inFlight`), so the stage does not wait on each file in
 * turn; memory stays bounded by that number of statements.
 *
 * `durable`: `flush` fdatasyncs every file queued since the last flush (a file left as it was
 * too: it may be one a crashed run wrote and never synced), SYNC_AT_ONCE at a time, then the
 * folders new files were created in — once `flush` resolves, every file queued so far survives a
 * power cut, so the statement stage may then clear the families' dirty marks (statement-pass.ts).
 * The syncs are issued together rather than one after each write: the file system commits its
 * journal once for many of them (the first pass of a 100 k-line home, 4 572 files synced one by
 * one, took 58 s of wall on a busy disk against 11 s unsynced).
 */
/** fdatasyncs in flight at once at a flush (each holds a file descriptor) */
const SYNC_AT_ONCE = 128;

export class StatementFiles {
  private readonly jobs: BoundedJobs;
  /** folders a new file was created in since the last flush (their entries to fsync) */
  private readonly newIn = new Set<string>();
  /** files written or found unchanged since the last flush (durable: their data to fsync) */
  private toSync: string[] = [];
  /** files written (new or changed), and files left as they were (same bytes) */
  readonly counts = { written: 0, unchanged: 0 };

  constructor(
    inFlight = 8,
    private readonly options: { durable?: boolean } = {},
  ) {
    this.jobs = new BoundedJobs(inFlight);
  }

  /** Queues the files of one statement; waits while `inFlight` statements are being written. */
  async add(files: readonly (readonly [path: string, text: string])[]): Promise<void> {
    await this.jobs.add(() => Promise.all(files.map(([path, text]) => this.writeIfChanged(path, text))));
  }

  /** Waits for every queued file (durable: and the folders of new ones); throws the first write that failed. */
  async flush(): Promise<void> {
    await this.jobs.drain();
    if (this.options.durable) {
      const files = this.toSync;
      this.toSync = [];
      for (let i = 0; i < files.length; i += SYNC_AT_ONCE) await Promise.all(files.slice(i, i + SYNC_AT_ONCE).map((f) => syncPath(f, 'data')));
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
      if (this.options.durable) this.toSync.push(path);
      return;
    }
    if (existing === null) this.newIn.add(dirname(path));
    const file = await open(path, 'w');
    try {
      await file.writeFile(bytes);
    } finally {
      await file.close();
    }
    // fdatasync at flush: the bytes and the size (what reading the file needs), not the times
    if (this.options.durable) this.toSync.push(path);
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
