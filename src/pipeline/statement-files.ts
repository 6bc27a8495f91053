import { closeSync, constants, fdatasync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BoundedJobs } from './bounded-jobs.js';

/**
 * Writes the statement files of `noemie run --once` (`<home>/statements/<adhérent>.txt|.html`):
 * each file in one write, and not at all when the file already holds exactly these bytes (a
 * statement whose content did not change since the last run: no page of it is written again).
 * A few families are written at once (`inFlight`), so the stage does not wait on each file in
 * turn; memory stays bounded by that number of statements.
 *
 * One descriptor per file does everything: opened read-write without truncation (created when
 * absent), its size looked at (a file of another size is not read), read and compared when the
 * size is the same, written from offset 0 and cut to the new length when it was longer.
 * `durable`: each file is fdatasynced on that descriptor before its statement's job resolves (a
 * file left as it was too: it may be one a crashed run wrote and never synced), and `flush` then
 * fsyncs the folders new files were created in — once `flush` resolves, every file queued so far
 * survives a power cut, so the statement stage may then clear the families' dirty marks
 * (statement-pass.ts). Until session 15 each file was opened three times (read to compare, write,
 * sync at flush): bench/README.md, "Session 16 — statements".
 *
 * A crash in the middle of a write leaves a file cut short or mixing both versions, as a
 * truncating write did: the family's dirty mark is cleared only after `flush`, so the next run
 * writes it again (test/pipeline/statement-pass.int.test.ts, "a crash after the files are written").
 */
export class StatementFiles {
  private readonly jobs: BoundedJobs;
  /** folders a new file was created in since the last flush (their entries to fsync) */
  private readonly newIn = new Set<string>();
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

  /** Waits for every queued file (durable: synced each, then the folders of new ones); throws the first write that failed. */
  async flush(): Promise<void> {
    await this.jobs.drain();
    if (this.options.durable) {
      const dirs = [...this.newIn];
      this.newIn.clear();
      await Promise.all(dirs.map(syncFolder));
    }
  }

  private async writeIfChanged(path: string, text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    // one descriptor for the comparison, the write and the sync: opened without truncation (a
    // file holding these bytes is left as it is, its times too), created when absent. The open,
    // the size, the compare read, the write and the close are synchronous calls on this thread
    // (a file of ≈ 20 kB into the page cache: tens of µs each), only the sync waits on libuv's
    // pool: five pool round trips and promises a file cost more CPU than the calls themselves
    // (bench/README.md "Session 20 — statements"). Nothing else runs on this thread meanwhile
    // that a short block would delay: the pass reads its next families while the files sync.
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o666);
    try {
      const { size } = fstatSync(fd);
      // size 0: a file just created (or an empty one): written, and its folder synced at flush
      if (size > 0 && size === bytes.length && readWhole(fd, size).equals(bytes)) {
        this.counts.unchanged += 1;
        // it may be one a crashed run wrote and never synced
        if (this.options.durable) await datasync(fd);
        return;
      }
      if (size === 0) this.newIn.add(dirname(path));
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, at);
      if (size > bytes.length) ftruncateSync(fd, bytes.length);
      // the bytes and the size (what reading the file needs), not the times — on this descriptor,
      // before `flush` may resolve (a reopen and a close per file saved)
      if (this.options.durable) await datasync(fd);
      this.counts.written += 1;
    } finally {
      closeSync(fd);
    }
  }
}

/** fdatasync on libuv's pool (the one call of a file that waits for the disk). */
function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}

/** The file's `size` bytes from its start. */
function readWhole(fd: number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; ) {
    const bytesRead = readSync(fd, buffer, at, size - at, at);
    if (bytesRead === 0) return buffer.subarray(0, at);
    at += bytesRead;
  }
  return buffer;
}

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
