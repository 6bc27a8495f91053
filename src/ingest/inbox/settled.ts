import { open, stat } from 'node:fs/promises';
import { PipelineError } from '../../model/errors.js';
import { extensionOf } from '../sniff.js';

/**
 * Is the file still being written? The scanner's two looks (complete.ts) miss a sender that writes
 * in place and pauses longer than `stableMs`: the inbox would read half a file, archive it, and the
 * sender's next bytes would go into the archived copy, unread. Two more guards, cheap and before
 * anything is published:
 * - before reading, the file must end like a complete file of its kind (`incompleteTail`): a final
 *   newline (CSV, NOEMIE: a record cut mid-way has none), a closed `</decomptes>` root (XML), a
 *   closing `}` (JSON), an end-of-central-directory record (ZIP). A file that does not is left in
 *   the inbox, with a warning, for a later pickup — until it has not changed for `graceMs`, after
 *   which it is read as it is (its cut last record is then rejected like any bad record, or the
 *   file refused), so a sender that never writes a final newline is not stuck forever;
 * - after reading, before each part is committed (published), the file's size and mtime must still
 *   be those seen at pickup (`assertUnchanged`); otherwise the part is aborted, nothing of the drop
 *   is archived or recorded in the ledger, and the file is read again once stable. Nothing of a
 *   partial read is published, so the complete file (another SHA-256, another drop identity) cannot
 *   duplicate it.
 * A sender that pauses exactly after a complete record for longer than `stableMs` and resumes only
 * after the drop was read is indistinguishable from a finished file: such senders must use the
 * rename or `.ok` conventions (README "The watched inbox").
 */
export class DropIncompleteError extends PipelineError {
  constructor(message: string, context: { file: string; [key: string]: unknown }) {
    super('INGEST_INCOMPLETE', message, context, { retriable: true });
  }
}

/** Default `graceMs`: how long an unchanged file that does not end like a complete one is waited for. */
export const INCOMPLETE_GRACE_MS = 5 * 60_000;

/** ZIP end-of-central-directory: 22 bytes plus a comment of at most 65 535. */
const EOCD_WINDOW = 22 + 0xffff;
const TEXT_WINDOW = 4096;

/** Why the file does not end like a complete file of its kind, or null when it does (or its kind is unknown). */
export async function incompleteTail(path: string, name: string): Promise<string | null> {
  const ext = extensionOf(name);
  if (ext === null) return null; // refused for its name anyway
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return 'it is empty';
    const window = Math.min(size, ext === 'zip' ? EOCD_WINDOW : TEXT_WINDOW);
    const tail = Buffer.alloc(window);
    await fh.read(tail, 0, window, size - window);
    switch (ext) {
      case 'csv':
      case 'noemie':
        return tail[tail.length - 1] === 0x0a ? null : 'its last record has no final newline (cut mid-record?)';
      case 'json':
        return /\}\s*$/.test(tail.toString('latin1')) ? null : 'it does not end with the closing "}"';
      case 'xml': {
        const text = tail.toString('latin1');
        return /(<\/decomptes\s*>|<decomptes[^<>]*\/>)(\s|<!--[\s\S]*?-->|<\?[\s\S]*?\?>)*$/.test(text) ? null : 'it does not end with the closing </decomptes> (cut mid-document?)';
      }
      case 'zip':
        return tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) === -1 ? 'it has no end-of-central-directory record (cut mid-archive?)' : null;
      default: {
        const never: never = ext;
        return never;
      }
    }
  } finally {
    await fh.close();
  }
}

/** Throws DropIncompleteError when the file's size or mtime moved since `seen` (or it is gone). */
export async function assertUnchanged(path: string, name: string, seen: { size: number; mtimeMs: number }): Promise<void> {
  const now = await stat(path).catch(() => undefined);
  if (now && now.size === seen.size && now.mtimeMs === seen.mtimeMs) return;
  const what = !now ? 'it disappeared' : now.size !== seen.size ? `its size went from ${seen.size} to ${now.size} bytes` : 'its mtime moved';
  throw new DropIncompleteError(`${name} changed while it was read (${what}): still being written? Nothing of it is published; left in the inbox for a later pickup`, {
    file: name, sizeAtPickup: seen.size, ...(now ? { sizeNow: now.size } : {}),
  });
}
