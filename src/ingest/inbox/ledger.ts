import { appendFile, open } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../../log.js';

/**
 * `<home>/ledger.ndjson`: one JSON line per handled drop, appended (never rewritten), read back
 * with zod. Only `archived` drops count as "already ingested": a quarantined drop was not ingested,
 * so the same bytes sent again are read again (and quarantined again if still unreadable).
 */
export const LedgerEntrySchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  file: z.string(),
  action: z.enum(['archived', 'quarantined', 'duplicate']),
  /** path relative to the home: `archive/20250314T101502Z-drop.zip` */
  storedAs: z.string(),
  at: z.string(),
  records: z.number().int().nonnegative(),
  accepted: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  refusedParts: z.number().int().nonnegative(),
  report: z.string().optional(),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

export class Ledger {
  private readonly ingested = new Map<string, LedgerEntry>();
  /** the file ends without a newline (a crash mid-append): the next line must not be glued to it */
  private cut = false;

  private constructor(readonly path: string) {}

  /** Reads the ledger; a line that does not parse (a crash mid-append) is skipped with a warning. */
  static async open(path: string, logger?: Logger): Promise<Ledger> {
    const ledger = new Ledger(path);
    const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined; // first drop of this home
      throw e;
    });
    if (!fh) return ledger;
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      ledger.cut = last[0] !== 0x0a;
    }
    let n = 0;
    for await (const text of fh.readLines({ encoding: 'utf8' })) {
      n += 1;
      if (text.trim() === '') continue;
      let parsed: ReturnType<typeof LedgerEntrySchema.safeParse>;
      try {
        parsed = LedgerEntrySchema.safeParse(JSON.parse(text));
      } catch {
        parsed = LedgerEntrySchema.safeParse(undefined);
      }
      if (parsed.success) ledger.remember(parsed.data);
      else logger?.warn({ ledger: path, line: n }, 'ledger line does not parse, skipped');
    }
    return ledger;
  }

  /** The archived drop with these bytes, if any. */
  ingestedAs(sha256: string): LedgerEntry | undefined {
    return this.ingested.get(sha256);
  }

  async append(entry: LedgerEntry): Promise<void> {
    await appendFile(this.path, `${this.cut ? '\n' : ''}${JSON.stringify(LedgerEntrySchema.parse(entry))}\n`, 'utf8');
    this.cut = false;
    this.remember(entry);
  }

  private remember(entry: LedgerEntry): void {
    if (entry.action === 'archived' && !this.ingested.has(entry.sha256)) this.ingested.set(entry.sha256, entry);
  }
}
