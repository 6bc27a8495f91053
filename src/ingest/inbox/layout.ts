import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The inbox home, one directory per concern:
 *   <home>/inbox/          the caisses' automated drops land here (see complete.ts for when a file is ready)
 *   <home>/archive/        drops of which at least one part was read, `<UTC stamp>-<name>`
 *   <home>/quarantine/     drops of which nothing could be read, and every `<stored name>.errors.json` report
 *   <home>/ingested/<sha>/ lines.ndjson + rejects.ndjson of a drop (NdjsonSink; the bus replaces it later)
 *   <home>/ledger.ndjson   one line per handled drop: the SHA-256 memory that skips a drop sent twice
 * One consumer per home: two processes sharing a home could both pick the same file.
 */
export interface InboxLayout {
  home: string;
  inbox: string;
  archive: string;
  quarantine: string;
  ingested: string;
  ledger: string;
}

export function inboxLayout(home: string, overrides: Partial<Omit<InboxLayout, 'home'>> = {}): InboxLayout {
  return {
    home,
    inbox: overrides.inbox ?? join(home, 'inbox'),
    archive: overrides.archive ?? join(home, 'archive'),
    quarantine: overrides.quarantine ?? join(home, 'quarantine'),
    ingested: overrides.ingested ?? join(home, 'ingested'),
    ledger: overrides.ledger ?? join(home, 'ledger.ndjson'),
  };
}

export async function ensureLayout(layout: InboxLayout): Promise<void> {
  for (const dir of [layout.inbox, layout.archive, layout.quarantine, layout.ingested]) await mkdir(dir, { recursive: true });
}

/** Output directory of a drop: the first 16 hex digits of its SHA-256 (64 bits: no collision in practice). */
export function ingestedDir(layout: InboxLayout, sha256: string): string {
  return join(layout.ingested, sha256.slice(0, 16));
}
