import { copyFile, link, lstat, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** `20250314T101502Z`: sortable, no `:` (Windows shares), UTC so two hosts agree. */
export function stamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Moves `path` into `dir` as `<stamp>-<name><suffix>`, adding `-2`, `-3`… when that name is taken
 * (the same drop name arriving twice in one second must not clobber the first). `link` + `unlink`
 * claims the name atomically (link fails with EEXIST); across file systems it falls back to copy.
 * Returns the name given.
 */
export async function moveInto(path: string, dir: string, name: string, at: Date, suffix = ''): Promise<string> {
  const base = `${stamp(at)}-${name}`;
  for (let n = 1; ; n += 1) {
    const stored = `${base}${n === 1 ? '' : `-${n}`}${suffix}`;
    const target = join(dir, stored);
    try {
      await link(path, target);
      await unlink(path);
      return stored;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
      // no hard links here (other file system, some network shares): copy exclusively, then remove
      try {
        await copyFile(path, target, 1 /* COPYFILE_EXCL */);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e2;
      }
      await unlink(path);
      return stored;
    }
  }
}


/**
 * Moves an entry that is not a regular file (symlink, FIFO…) into `dir` as it is: `rename` moves
 * the link or the pipe itself, never what it points to, and never opens it (moveInto's copy
 * fallback would open a FIFO and block). A name already taken gets `-2`, `-3`…; across file
 * systems (EXDEV) the entry is removed instead: it holds no bytes of its own, and its report says so.
 */
export async function moveSpecialInto(path: string, dir: string, name: string, at: Date): Promise<string | null> {
  const base = `${stamp(at)}-${name}`;
  for (let n = 1; ; n += 1) {
    const stored = `${base}${n === 1 ? '' : `-${n}`}`;
    const target = join(dir, stored);
    if (await lstat(target).then(() => true, () => false)) continue;
    try {
      await rename(path, target);
      return stored;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await unlink(path);
      return null;
    }
  }
}
