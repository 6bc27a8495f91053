import { closeSync, fdatasync, fsync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes the statement files of `noemie run --once` (`<home>/statements/<adhérent>.txt|.html`):
 * each file in one write, and not at all when the file already holds exactly these bytes (a
 * statement whose content did not change since the last run: no page of it is written again).
 *
 * The writes are synchronous, on the calling thread: a statement file is a few kB going to the
 * page cache (no fsync at that point), tens of microseconds of system calls. Through
 * `node:fs/promises` each file cost ten requests on libuv's thread pool (stat/open/read/close to
 * compare, open/write/close to write, open/datasync/close to sync), each a promise, a wake-up of a
 * pool thread and one of the main loop: the main thread spent more waking and waiting than writing
 * (bench/README.md, "Session 11 — statements"). Only the fdatasyncs — which wait for the disk —
 * still go to the pool, many at once.
 *
 * `durable`: `flush` fdatasyncs every file queued since the last flush (a file left as it was
 * too: it may be one a crashed run wrote and never synced), SYNC_AT_ONCE at a time, then the
 * folders new files were created in — once `flush` resolves, every file queued so far survives a
 * power cut, so the statement stage may then clear the families' dirty marks (statement-pass.ts).
 * The syncs are issued together rather than one after each write: the file system commits its
 * journal once for many of them (the first pass of a 100 k-line home, 4 572 files synced one by
 * one, took 58 s of wall on a busy disk against 11 s unsynced).
 *
 * A failed write is kept and thrown by the next `add` or by `flush` (the caller's contract since
 * the writes were asynchronous: nothing is cleared before a `flush` that resolved).
 */
/** fdatasyncs in flight at once at a flush (each holds a file descriptor) */
const SYNC_AT_ONCE = 128;

export class StatementFiles {
  private failure: unknown = null;
  /** folders a new file was created in since the last flush (their entries to fsync) */
  private readonly newIn = new Set<string>();
  /** files written or found unchanged since the last flush (durable: their data to fsync) */
  private toSync: string[] = [];
  /** files written (new or changed), and files left as they were (same bytes) */
  readonly counts = { written: 0, unchanged: 0 };

  /** `durable`: `flush` fdatasyncs what was written (the statement stage) */
  constructor(private readonly options: { durable?: boolean } = {}) {}

  /** Writes the files of one statement (those whose bytes changed); throws a failure of an earlier statement's. */
  async add(files: readonly (readonly [path: string, text: string])[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    try {
      for (const [path, text] of files) this.writeIfChanged(path, text);
    } catch (e) {
      this.failure = e;
    }
  }

  /** Every file added so far is written (durable: and synced, with the folders of new ones); throws the first write that failed. */
  async flush(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    if (this.options.durable) {
      const files = this.toSync;
      this.toSync = [];
      for (let i = 0; i < files.length; i += SYNC_AT_ONCE) await Promise.all(files.slice(i, i + SYNC_AT_ONCE).map((f) => syncPath(f, 'data')));
      const dirs = [...this.newIn];
      this.newIn.clear();
      await Promise.all(dirs.map((d) => syncPath(d, 'all')));
    }
  }

  private writeIfChanged(path: string, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    // the size first: a file of another size is rewritten without being read
    const size = statSync(path, { throwIfNoEntry: false })?.size;
    if (size === bytes.length && readFileSync(path).equals(bytes)) {
      this.counts.unchanged += 1;
      if (this.options.durable) this.toSync.push(path);
      return;
    }
    if (size === undefined) this.newIn.add(dirname(path));
    writeFileSync(path, bytes);
    // fdatasync at flush: the bytes and the size (what reading the file needs), not the times
    if (this.options.durable) this.toSync.push(path);
    this.counts.written += 1;
  }
}

/** One fdatasync (data) or fsync (a folder's entries) on the thread pool; the open and close are system calls of a few µs. */
function syncPath(path: string, what: 'data' | 'all'): Promise<void> {
  const fd = openSync(path, 'r');
  return new Promise<void>((resolve, reject) => {
    (what === 'data' ? fdatasync : fsync)(fd, (e) => {
      try {
        closeSync(fd);
      } catch (c) {
        e ??= c as NodeJS.ErrnoException;
      }
      if (e) reject(e);
      else resolve();
    });
  });
}
