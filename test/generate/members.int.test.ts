import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isValidIBAN } from 'ibantools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { publishMembersFeed } from '../../src/pipeline/members-inbox.js';
import { readAll } from '../pipeline/stages-given.js';
import { runCli } from './cli-support.js';
import { stream } from './support.js';

/**
 * `fixtures generate --members` writes the member base's changes that go with the drop (issue 10):
 * a résiliation back-dated into the care of the drop, the arrival of every person the drop names
 * and the population lacks, a RIB change. Checked against the drop's own lines (the same seed's
 * stream) and read by the real feed reader onto a bus: every record valid.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-members-gen-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SEED = 77;
const LINES = 600;
const FAMILIES = 15;

describe('fixtures generate --members', () => {
  it('back-dates a résiliation into a family\'s care, brings the persons the drop names but the population lacks, changes a RIB; valid for the feed reader; the same bytes every time', async () => {
    const args = (members: string) => ['fixtures', 'generate', '--lines', String(LINES), '--seed', String(SEED), '--families', String(FAMILIES), '--format', 'csv', '--out', join(dir, 'drop.csv'), '--members', members];
    const r = await runCli(args(join(dir, 'members-a.csv')));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/members feed +\S+members-a\.csv +\d+ events: résiliation of ADH\d{7} from \d{4}-\d{2}-\d{2}; \d+ arrival\(s\)/);
    expect((await runCli(args(join(dir, 'members-b.csv')))).code).toBe(0);
    const text = await readFile(join(dir, 'members-a.csv'), 'utf8');
    expect(await readFile(join(dir, 'members-b.csv'), 'utf8')).toBe(text);

    // every record is read by the inbox's feed reader, none rejected
    const bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
    try {
      const published = await publishMembersFeed(bus, join(dir, 'members-a.csv'), 'members-a.csv');
      const events = await readAll(bus, 'members');
      expect(published.rejected).toBe(0);
      expect(events).toHaveLength(published.events);

      // the drop's own lines (the same seed's stream) and population
      const { population, lines } = stream(SEED, LINES, FAMILIES);
      const known = new Set(population.people.map((p) => `${p.beneficiary.nir}-${p.beneficiary.rang}`));

      // the résiliation: one family, back-dated so that some of its care is before and some after
      const resiliations = events.filter((e) => e.eventType === 'affiliation_end');
      expect(resiliations).toHaveLength(1);
      const res = resiliations[0]!;
      const family = new Set(population.people.filter((p) => p.beneficiary.adherentId === res.adherentId).map((p) => `${p.beneficiary.nir}-${p.beneficiary.rang}`));
      const care = lines.filter((l) => l.operation === 'I' && family.has(`${l.nir}-${l.rang}`)).map((l) => l.careStart);
      expect(care.filter((d) => d >= res.effectiveDate).length).toBeGreaterThan(0);
      expect(care.filter((d) => d < res.effectiveDate).length).toBeGreaterThan(0);

      // the arrivals: exactly the persons the drop names and the population lacks, each with an account
      const strangers = new Set(lines.filter((l) => !known.has(`${l.nir}-${l.rang}`)).map((l) => l.amcMemberId));
      expect(strangers.size).toBeGreaterThan(0); // this seed's drop has unknown beneficiaries
      const arrivals = events.filter((e) => e.eventType === 'family_created');
      expect(new Set(arrivals.map((e) => e.adherentId))).toEqual(strangers);
      for (const a of arrivals) {
        expect(known.has(`${a.nir}-${a.rang}`)).toBe(false);
        expect(a.effectiveDate <= population.window.from).toBe(true);
        expect(isValidIBAN(a.iban ?? '')).toBe(true);
      }

      // the RIB change: another family, a new valid IBAN, back-dated into the window
      const ribs = events.filter((e) => e.eventType === 'bank_account_change');
      expect(ribs).toHaveLength(1);
      expect(ribs[0]!.adherentId).not.toBe(res.adherentId);
      expect(isValidIBAN(ribs[0]!.iban ?? '')).toBe(true);
      expect(population.people.filter((p) => p.beneficiary.adherentId === ribs[0]!.adherentId).map((p) => p.beneficiary.iban)).not.toContain(ribs[0]!.iban);
      expect(ribs[0]!.effectiveDate < population.window.to).toBe(true);
    } finally {
      await bus.close();
    }
  }, 120_000);

  it('refuses a feed name the inbox would not read as a members feed', async () => {
    const r = await runCli(['fixtures', 'generate', '--lines', '20', '--seed', '1', '--format', 'csv', '--out', join(dir, 'x.csv'), '--members', join(dir, 'feed.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('members*.csv');
  });
});
