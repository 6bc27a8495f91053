import { resolve } from 'node:path';
import type { Bus } from '../bus/index.js';
import { describeRejected } from '../ingest/reference/csv-table.js';
import type { Logger } from '../log.js';
import { updateMembershipStore, type MembershipStats } from '../pipeline/membership-consumer.js';
import { MembershipStore } from '../pipeline/membership-store.js';
import { importPopulation } from '../pipeline/members-import.js';
import { writeLine, type CliIo } from './command.js';

/**
 * Members for the commands (issue 10, "no silent sample defaults"): a command that needs members
 * reads the home's membership store (`<home>/state/store.mdb`, brought up to date with the
 * `members` topic first). The sample's members are read only when asked (`--sample`), and a
 * population file only when named (`--beneficiaries`, `noemie members import`): both are imported
 * as events, never read beside the store.
 */
export const SAMPLE_BENEFICIARIES = 'fixtures/sample/beneficiaries.csv';

/** Publishes a population file as membership events; prints its rejected rows. Returns the events published. */
export async function importPopulationFile(bus: Bus, file: string, io: CliIo, store?: MembershipStore): Promise<{ events: number; skipped: number; rejected: number }> {
  const { events, skipped, rejected, unchanged } = await importPopulation(bus, resolve(file), store ? { alreadyApplied: (id) => store.isApplied(id), imports: store } : {});
  for (const line of rejected.flatMap(describeRejected)) writeLine(io.err, `${line} (row not imported)`);
  if (unchanged && unchanged.rejected > 0) writeLine(io.err, `${file}: the same content as a file imported before: its ${unchanged.rejected} rejected row(s) were listed then (not imported)`);
  return { events, skipped, rejected: unchanged?.rejected ?? rejected.length };
}

/** Opens the home's membership store and applies what is new on `members`. */
export async function membershipOf(bus: Bus, home: string, logger?: Logger): Promise<{ store: MembershipStore; stats: MembershipStats }> {
  const store = MembershipStore.open(home);
  try {
    const stats = await updateMembershipStore(bus, store, logger ? { logger } : {});
    return { store, stats };
  } catch (e) {
    await store.close();
    throw e;
  }
}
