import type { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTpClaimsFile } from '../reference/tp-claims.js';
import { isMembersFile } from '../reference/members-feed.js';

/**
 * When is a file in the inbox complete? Two conventions, chosen per inbox:
 *
 * - `rename` (default, "atomic rename"): the sender writes under a name the inbox never picks —
 *   starting with `.` or ending with `.part` or `.tmp` — then renames it to its final name, which
 *   is atomic within one file system. Such names are ignored whatever the mode.
 * - `ok` (`--complete-when ok`): a file is picked only when a marker `<name>.ok` exists beside it
 *   (the sender writes the marker after closing the file). The marker is removed once the file has
 *   been handled; a marker without its file is left alone.
 *
 * Either way a file is picked only when its size and mtime are unchanged across two looks at least
 * `stableMs` apart: a cheap guard against a sender that writes in place under the final name.
 *
 * `tp_claims*.csv` files share the inbox but are not drops: the scanner leaves them to `noemie run`
 * (which publishes them to `tp-claims` and archives them), so `noemie ingest --home` and `run` agree.
 * So are membership feeds, `members*.csv` / `members*.json` (src/pipeline/members-inbox.ts).
 * Bank return files (`camt054*.xml`, `pain002*.xml`: the bank's camt.054 / pain.002) are left to
 * `noemie run` too, which applies them to the payment state (src/pipeline/bank-returns.ts).
 */
export const isBankReturnName = (name: string): boolean => /^(camt[._-]?054|pain[._-]?002)[^/]*\.xml$/i.test(name);

export type CompleteWhen = 'rename' | 'ok';

export const OK_SUFFIX = '.ok';

export function isInProgressName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('.part') || name.endsWith('.tmp');
}

export interface Candidate {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
  /** the `.ok` marker to remove once handled (ok mode) */
  marker?: string;
}

/**
 * An inbox entry that is not a regular file: never read — a symbolic link is not followed (it may
 * point anywhere), a FIFO not opened (opening one for reading blocks until a writer comes) — but
 * refused with a report (process.ts), rather than left there unsaid forever. Directories are left
 * alone (a sender's working folder is none of the inbox's business).
 */
export interface SpecialEntry {
  name: string;
  path: string;
  kind: 'symbolic link' | 'FIFO (named pipe)' | 'socket' | 'device';
}

/** The kind of a non-regular entry (a Dirent, or the Stats of an lstat), null for a regular file or a directory. */
export function specialKindOf(e: Dirent | Stats): SpecialEntry['kind'] | null {
  if (e.isSymbolicLink()) return 'symbolic link';
  if (e.isFIFO()) return 'FIFO (named pipe)';
  if (e.isSocket()) return 'socket';
  if (e.isBlockDevice() || e.isCharacterDevice()) return 'device';
  return null;
}

interface Look {
  size: number;
  mtimeMs: number;
  /** when this size + mtime was first seen */
  since: number;
}

export class InboxScanner {
  private readonly looks = new Map<string, Look>();

  constructor(
    private readonly dir: string,
    private readonly completeWhen: CompleteWhen = 'rename',
    private readonly stableMs = 1000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Entries of the last scan that are not regular files (whatever their name says): to refuse. */
  specials: SpecialEntry[] = [];

  /** Files seen since the last scans but not stable yet: the caller should look again soon. */
  get waiting(): number {
    return this.looks.size;
  }

  /** Complete files ready to be handled, oldest first (mtime, then name). */
  async scan(): Promise<Candidate[]> {
    const now = this.clock();
    const entries = await readdir(this.dir, { withFileTypes: true });
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    this.specials = [];
    for (const e of entries) {
      const kind = specialKindOf(e);
      if (kind !== null && !isInProgressName(e.name)) this.specials.push({ name: e.name, path: join(this.dir, e.name), kind });
    }
    const ready: Candidate[] = [];
    const present = new Set<string>();
    for (const name of names) {
      if (isInProgressName(name) || name.endsWith(OK_SUFFIX) || isTpClaimsFile(name) || isMembersFile(name) || isBankReturnName(name)) continue;
      const marker = `${name}${OK_SUFFIX}`;
      if (this.completeWhen === 'ok' && !names.has(marker)) continue;
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => undefined); // renamed away meanwhile
      if (!st) continue;
      present.add(name);
      const look = this.looks.get(name);
      if (!look || look.size !== st.size || look.mtimeMs !== st.mtimeMs) {
        this.looks.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now });
        continue;
      }
      if (now - look.since < this.stableMs) continue;
      ready.push({ name, path, size: st.size, mtimeMs: st.mtimeMs, ...(this.completeWhen === 'ok' ? { marker: join(this.dir, marker) } : {}) });
    }
    for (const name of this.looks.keys()) if (!present.has(name)) this.looks.delete(name);
    return ready.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Once handled (moved away) a file is forgotten; a failed one must be stable again to be retried. */
  forget(name: string): void {
    this.looks.delete(name);
  }
}
