import { open, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Bus, OutgoingMessage } from '../bus/index.js';
import { INCOMPLETE_GRACE_MS, incompleteTail, isInProgressName, Ledger, QuarantineReportWriter, type InboxLayout } from '../ingest/inbox/index.js';
import { moveInto } from '../ingest/inbox/move.js';
import { sha256File } from '../ingest/ingest-drop.js';
import { isMembersFile, readMembersFeed } from '../ingest/reference/members-feed.js';
import { maskPersonalData, type Logger } from '../log.js';
import type { PipelineError } from '../model/errors.js';

/**
 * Membership feed files in the inbox (`members*.csv` / `members*.json`, issue 10), handled like
 * drops: hashed, skipped when the inbox ledger already holds an archived file with those bytes,
 * read record by record (a bad record is rejected — `rejects` topic and the quarantine report
 * `<stored name>.errors.json`, naming file, record and field — and the rest goes on), then moved to
 * archive/ (something was read) or quarantine/ (nothing was: a header without `event_type`, a JSON
 * that does not parse, no valid record), with a line in the inbox ledger. Valid events go to the
 * `members` topic keyed by adhérent; the membership consumer applies them. Nothing is liquidated
 * here: a change that concerns past lines reaches the liquidation through a re-liquidation request.
 * A crash before the ledger line re-reads the file: its events come again with the same ids and
 * the store applies each once (event id), so at-least-once publication is enough.
 */
export interface MembersFileOutcome {
  file: string;
  action: 'archived' | 'quarantined' | 'duplicate' | 'waiting';
  events: number;
  rejected: number;
  storedAs?: string;
  report?: string;
  message: string;
}

const BATCH = 500;

/** A JSON feed is an array (or an object): complete when it ends with its closing bracket. */
async function membersTail(path: string, name: string): Promise<string | null> {
  if (!/\.json$/i.test(name)) return incompleteTail(path, name);
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return 'it is empty';
    const window = Math.min(size, 4096);
    const tail = Buffer.alloc(window);
    await fh.read(tail, 0, window, size - window);
    return /[\]}]\s*$/.test(tail.toString('latin1')) ? null : 'it does not end with the closing "]" or "}"';
  } finally {
    await fh.close();
  }
}

/** Publishes one feed file: events to `members`, rejects to `rejects` and to the report. */
export async function publishMembersFeed(bus: Bus, path: string, name: string, report?: QuarantineReportWriter): Promise<{ events: number; rejected: number }> {
  let events: OutgoingMessage<'members'>[] = [];
  let rejects: OutgoingMessage<'rejects'>[] = [];
  const counts = { events: 0, rejected: 0 };
  const flush = async () => {
    if (rejects.length > 0) await bus.produce('rejects', rejects);
    if (events.length > 0) await bus.produce('members', events);
    counts.events += events.length;
    events = [];
    rejects = [];
  };
  for await (const ev of readMembersFeed(path, name)) {
    if (ev.kind === 'event') {
      events.push({ value: ev.event, key: ev.event.adherentId, headers: { file: name, record: ev.record } });
    } else {
      counts.rejected += 1;
      await report?.reject(ev.rejected);
      rejects.push({ value: { origin: ev.rejected.origin, issues: ev.rejected.issues, ...(ev.rejected.raw === undefined ? {} : { raw: ev.rejected.raw }) } });
    }
    if (events.length + rejects.length >= BATCH) await flush();
  }
  await flush();
  return counts;
}

/** Files still being written, by mtime: said once, not at every look. */
const waiting = new Map<string, number>();

/**
 * Every complete membership feed file of the inbox, oldest name first. `say` gets one line per
 * file (personal data masked).
 */
export async function membersIn(layout: InboxLayout, bus: Bus, options: { logger?: Logger; now?: () => Date } = {}): Promise<MembersFileOutcome[]> {
  const now = options.now ?? (() => new Date());
  const ledger = await Ledger.open(layout.ledger, options.logger);
  const outcomes: MembersFileOutcome[] = [];
  const entries = await readdir(layout.inbox, { withFileTypes: true });
  for (const name of entries.filter((e) => e.isFile()).map((e) => e.name).sort()) {
    if (!isMembersFile(name) || isInProgressName(name)) continue;
    const path = join(layout.inbox, name);
    const cut = await membersTail(path, name);
    const mtimeMs = (await stat(path)).mtimeMs;
    if (cut !== null && Date.now() - mtimeMs < INCOMPLETE_GRACE_MS) {
      if (waiting.get(name) !== mtimeMs) outcomes.push({ file: name, action: 'waiting', events: 0, rejected: 0, message: `${name}: ${cut}: still being written? Left in the inbox for a later look` });
      waiting.set(name, mtimeMs);
      continue;
    }
    waiting.delete(name);
    const sha256 = await sha256File(path);
    const at = now();
    const seen = ledger.ingestedAs(sha256);
    if (seen) {
      const stored = await moveInto(path, layout.archive, name, at, '.duplicate');
      const storedAs = relative(layout.home, join(layout.archive, stored));
      await ledger.append({ sha256, file: name, action: 'duplicate', storedAs, at: at.toISOString(), records: 0, accepted: 0, rejected: 0, refusedParts: 0 });
      outcomes.push({ file: name, action: 'duplicate', events: 0, rejected: 0, storedAs, message: `${name}: duplicate — already read on ${seen.at} as ${seen.storedAs}, skipped` });
      continue;
    }
    const report = new QuarantineReportWriter(layout.quarantine, { file: name, sha256 });
    let counts = { events: 0, rejected: 0 };
    let refused: PipelineError | null = null;
    try {
      counts = await publishMembersFeed(bus, path, name, report);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('REFERENCE_') !== true) {
        await report.discard();
        throw e;
      }
      refused = e as PipelineError;
      await report.addError({ code: refused.code, message: refused.message });
    }
    const read = refused === null && counts.events > 0;
    if (refused === null && counts.events === 0) await report.addError({ code: 'INGEST_MEMBERS_EMPTY', message: `${name} holds no valid membership event` });
    const dir = read ? layout.archive : layout.quarantine;
    const stored = await moveInto(path, dir, name, at);
    const storedAs = relative(layout.home, join(dir, stored));
    const reportPath = await report.finish(stored, { storedAs, parts: [], generatedAt: at.toISOString() });
    await ledger.append({
      sha256, file: name, action: read ? 'archived' : 'quarantined', storedAs, at: at.toISOString(),
      records: counts.events + counts.rejected, accepted: counts.events, rejected: counts.rejected, refusedParts: read ? 0 : 1,
      ...(reportPath ? { report: relative(layout.home, reportPath) } : {}),
    });
    const why = refused ? `refused: ${refused.message}` : `${counts.events} membership events published, ${counts.rejected} rejected`;
    const outcome: MembersFileOutcome = {
      file: name, action: read ? 'archived' : 'quarantined', events: counts.events, rejected: counts.rejected, storedAs,
      message: maskPersonalData(`${name}: ${why}; ${read ? 'archived' : 'quarantined'} as ${storedAs}${reportPath ? `, report ${relative(layout.home, reportPath)}` : ''}`),
      ...(reportPath ? { report: reportPath } : {}),
    };
    (read ? options.logger?.info.bind(options.logger) : options.logger?.warn.bind(options.logger))?.({ file: name, sha256, storedAs }, outcome.message);
    outcomes.push(outcome);
  }
  return outcomes;
}

