import { KEY_SEP } from '../state/kv-store.js';
import type { LevelStore, LevelSubStore } from '../state/level-store.js';

export const STATEMENTS_WHERE = 'statements.where';

/** Where the statement index files a line's latest version (`statements.line` key, null: no family), and which version. */
export interface Where {
  key: string | null;
  version: number;
}

/**
 * `statements.where/<lineKey>` as text (session 19): `<version>␟<adherentId>␟<careDate>` — the
 * index key without its last part, which is the lineKey the entry is stored under — or `<version>`
 * alone when the line names no family. Before, the value was the JSON `{"key":…,"version":…}`: the
 * lineKey twice and each separator escaped as `\u001f` (≈ 85 bytes a line against ≈ 23; every
 * line's entry goes through LevelDB's log, its flush and its compactions — bench/README.md,
 * "Session 19 — writes"). JSON values (written before, and by the move of an older home's LMDB
 * index) are still read: the first character, `{`, tells them apart. A value this form cannot
 * hold exactly (a key that does not end with its lineKey, a version that is not an integer) is
 * written as JSON. Not the reverse: a build before session 19 cannot read the text form.
 */
export function whereText(lineKey: string, w: Where): string {
  if (!Number.isSafeInteger(w.version)) return JSON.stringify(w);
  if (w.key === null) return String(w.version);
  const tail = KEY_SEP + lineKey;
  if (!w.key.endsWith(tail)) return JSON.stringify(w);
  return `${w.version}${KEY_SEP}${w.key.slice(0, -tail.length)}`;
}

export function whereOfText(lineKey: string, text: string): Where {
  if (text.charCodeAt(0) === 0x7b /* { */) return JSON.parse(text) as Where;
  const i = text.indexOf(KEY_SEP);
  if (i < 0) return { key: null, version: Number(text) };
  return { key: `${text.slice(i + 1)}${KEY_SEP}${lineKey}`, version: Number(text.slice(0, i)) };
}

/** The `statements.where` sub-store, read and written as `Where` (both stored forms read). */
export class WhereEntries {
  private readonly sub: LevelSubStore<string>;

  constructor(level: LevelStore) {
    this.sub = level.sub<string>(STATEMENTS_WHERE, 'text');
  }

  get(lineKey: string): Where | undefined {
    const text = this.sub.get(lineKey);
    return text === undefined ? undefined : whereOfText(lineKey, text);
  }

  /** Whether any line is filed (one range read of one key). */
  async any(): Promise<boolean> {
    return (await this.sub.keysAfter(null, 1)).length > 0;
  }

  /** Inside a LevelDB commit. */
  put(lineKey: string, w: Where): void {
    this.sub.put(lineKey, whereText(lineKey, w));
  }
}
