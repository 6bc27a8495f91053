import { basename } from 'node:path';
import type { Bus, OutgoingMessage } from '../bus/index.js';
import { sha256File } from '../ingest/ingest-drop.js';
import { loadBeneficiaries } from '../ingest/reference/beneficiaries.js';
import { contentId } from '../ingest/reference/members-feed.js';
import type { RejectedRecord } from '../model/issues.js';
import type { MembershipEvent } from '../model/membership.js';
import type { Beneficiary } from '../model/reference.js';

/**
 * A whole population (beneficiaries.csv, formats.md §3) as membership events: per family, the
 * adhérent's row as `family_created` and every other row as `beneficiary_added`, each effective on
 * its row's `start` and carrying its `end` and `suspended` periods; the family's account (the
 * adhérent's IBAN, else the first row that has one, as the payment run always read it) rides on
 * that row's event, in force from its start. Event ids are hashes of the event's content, so the
 * same file imported twice applies nothing the second time; a row changed since is a new event
 * (its person's details and level are the row's from its start).
 * Bad rows are returned (file, line, column), the others published.
 */
export function eventsOfPopulation(rows: readonly Beneficiary[]): MembershipEvent[] {
  const families = new Map<string, Beneficiary[]>();
  for (const b of rows) families.set(b.adherentId, [...(families.get(b.adherentId) ?? []), b]);
  const events: MembershipEvent[] = [];
  for (const [, family] of families) {
    const holder = family.find((b) => b.role === 'A');
    const payer = holder?.iban ? holder : family.find((b) => b.iban !== null);
    const ordered = holder ? [holder, ...family.filter((b) => b !== holder)] : family;
    for (const b of ordered) {
      const e: Omit<MembershipEvent, 'eventId'> = {
        eventType: b === holder ? 'family_created' : 'beneficiary_added',
        effectiveDate: b.start,
        adherentId: b.adherentId, nir: b.nir, nirKey: b.nirKey, rang: b.rang, birthDate: b.birthDate, role: b.role, contracts: b.contracts,
        ...(b.end !== null ? { end: b.end } : {}),
        ...(b.suspended.length > 0 ? { suspended: b.suspended } : {}),
        noemie: b.noemie, name: b.name,
        ...(b === payer && b.iban ? { iban: b.iban, bic: b.bic } : {}),
      };
      events.push({ ...e, eventId: contentId(e) });
    }
  }
  return events;
}

/** What importing one population file published: its events (all of them, published or already applied) and its rejected rows. */
export interface PopulationImportMark {
  events: number;
  rejected: number;
}

/** The home's record of the population files imported (the membership store): by `populationFileKey`. */
export interface PopulationImports {
  populationImported(key: string): PopulationImportMark | undefined;
  populationPublished(key: string, mark: PopulationImportMark): Promise<void>;
}

/**
 * How the events of a population file are derived (the row loader and eventsOfPopulation): part of
 * the key a file's import is recorded under. Bump it when that derivation changes, so that files
 * imported by an older build are read again (their events may differ now).
 */
export const POPULATION_EVENTS_VERSION = 1;

/** The key a population file's import is recorded under: its content (sha256), not its name or path. */
export async function populationFileKey(file: string): Promise<string> {
  return `v${POPULATION_EVENTS_VERSION}-${await sha256File(file)}`;
}

/**
 * `alreadyApplied`: the home's store's check; events it has applied are not published again (a
 * `noemie run --beneficiaries` at every start would otherwise add the population to the topic each time).
 * `imports`: the home's record of the files imported. A file whose content was imported before
 * costs its hash only (`unchanged`: nothing read, nothing published — every event it gives is on
 * the bus already; its rows rejected then are counted, not listed); any other is read whole, and
 * recorded once all its events are produced (a crash before that reads it again, and
 * `alreadyApplied` skips what was applied).
 */
export async function importPopulation(bus: Bus, file: string, options: { batchSize?: number; alreadyApplied?: (eventId: string) => boolean; imports?: PopulationImports } = {}): Promise<{ events: number; skipped: number; rejected: RejectedRecord[]; unchanged?: { rejected: number } }> {
  const key = options.imports ? await populationFileKey(file) : undefined;
  const before = key === undefined ? undefined : options.imports!.populationImported(key);
  if (before !== undefined) return { events: 0, skipped: before.events, rejected: [], unchanged: { rejected: before.rejected } };
  const { index, rejected } = await loadBeneficiaries(file, { strict: false });
  const all = eventsOfPopulation([...index.all()]);
  const events = options.alreadyApplied ? all.filter((e) => !options.alreadyApplied!(e.eventId)) : all;
  const size = options.batchSize ?? 1000;
  const name = basename(file);
  for (let i = 0; i < events.length; i += size) {
    const batch: OutgoingMessage<'members'>[] = events.slice(i, i + size).map((e) => ({ value: e, key: e.adherentId, headers: { file: name } }));
    await bus.produce('members', batch);
  }
  if (key !== undefined) await options.imports!.populationPublished(key, { events: all.length, rejected: rejected.length });
  return { events: events.length, skipped: all.length - events.length, rejected };
}
