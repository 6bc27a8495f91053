import { resolve } from 'node:path';
import { readEnv } from '../../config.js';
import { maskFieldValue } from '../../ingest/reference/csv-table.js';
import { createLogger } from '../../log.js';
import { isRealDate } from '../../model/dates.js';
import { maskIban } from '../../payments/show.js';
import { familyOn, OPEN_END, type FamilyState } from '../../pipeline/membership-fold.js';
import { MembershipStore } from '../../pipeline/membership-store.js';
import { importPopulationFile } from '../members.js';
import { updateMembershipStore } from '../../pipeline/membership-consumer.js';
import { UsageError, parseFlags, writeHumanLine, writeLine, type Command } from '../command.js';
import { openCliBus } from './payments.js';
import type { CliOutput } from '../output-schemas.js';
import { JSON_FLAG, jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie members import <beneficiaries.csv>` and `noemie members show <adherent>` (issue 10):
 * the membership store of the home (src/pipeline/membership-store.ts, README "Members").
 */
const IMPORT_USAGE = `noemie members import <beneficiaries.csv> [--home <dir>] [--kafka <brokers>] [--json]

Loads a whole population (formats.md §3) into the home as membership events, on the members topic:
per family the adhérent's row as family_created, every other row as beneficiary_added, each effective
on its start, with its end, suspensions and the family's account. Then brings the home's membership
store up to date. Importing the same file again publishes and applies nothing (event ids are
content hashes; events the store has applied are not published again).
Bad rows are listed (file, line, column) on stderr and not imported; the others are.
${jsonUsage('members import')}
exit code: 0 imported, 1 some rows were rejected, 2 usage error`;

const SHOW_USAGE = `noemie members show <adherent> [--as-of YYYY-MM-DD] [--json] [--home <dir>]

Prints a family from the home's membership store: each person with its dated history (start, end,
suspensions, levels, proofs), the family's accounts, every event applied (effective order), and
the family as it stood on --as-of (default today): who was covered, at which level, paid where.
NIRs and IBANs are masked. Reads the store as it is (noemie run keeps it up to date).
${jsonUsage('members show')}
exit code: 0 shown, 1 unknown adherent, 2 usage error`;

const IMPORT_FLAGS = { home: { type: 'string' }, kafka: { type: 'string' }, ...JSON_FLAG } as const;

export const importCommand: Command = {
  name: 'members import',
  summary: 'load a beneficiaries.csv population into the home as membership events',
  usage: IMPORT_USAGE,
  flags: IMPORT_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, IMPORT_FLAGS);
    const file = positionals[0];
    if (file === undefined || positionals.length > 1) throw new UsageError('expects one beneficiaries.csv file');
    const env = readEnv();
    const home = resolve(values.home ?? env.NOEMIE_HOME);
    const logger = createLogger({ level: env.NOEMIE_LOG_LEVEL, destination: process.stderr });
    const bus = await openCliBus(home, values.kafka);
    const store = MembershipStore.open(home);
    try {
      // the store first: what the topic holds and the store has not applied yet, then what the file adds
      await updateMembershipStore(bus, store, { logger });
      const imported = await importPopulationFile(bus, file, io, store);
      const stats = await updateMembershipStore(bus, store, { logger });
      const families = store.familyCount();
      if (values.json) {
        writeJson(io, 'members import', {
          file, published: imported.events, alreadyInStore: imported.skipped, rejectedRows: imported.rejected,
          store: { applied: stats.applied, duplicates: stats.duplicates, families, reliquidationRequests: stats.requested },
        });
        return imported.rejected > 0 ? 1 : 0;
      }
      writeLine(io.out, `${file}: ${imported.events} membership events published (${imported.skipped} already in the store), ${imported.rejected} row(s) rejected`);
      writeLine(io.out, `membership store: ${stats.applied} event(s) applied, ${stats.duplicates} already applied, ${families} families; ${stats.requested} re-liquidation request(s)`);
      return imported.rejected > 0 ? 1 : 0;
    } finally {
      await bus.close();
      await store.close();
    }
  },
};

const maskNir = (nir: string) => maskFieldValue(['nir'], nir);
const open = (d: string | null) => (d === null || d === OPEN_END ? 'open' : d);

/** The family for --json: the store's view, NIRs and IBANs masked. */
export function familyJson(state: FamilyState, asOf: string): CliOutput<'members show'> {
  const on = familyOn(state, asOf);
  const person = <B extends { nir: string; iban: string | null }>(b: B) => ({ ...b, nir: maskNir(b.nir), iban: b.iban === null ? null : maskIban(b.iban) });
  return {
    adherentId: state.adherentId,
    members: state.members.map(person),
    accounts: state.accounts.map((a) => ({ ...a, iban: maskIban(a.iban) })),
    history: state.events.map(({ seq, appliedAt, event: e }) => ({
      seq, appliedAt, eventId: e.eventId, eventType: e.eventType, effectiveDate: e.effectiveDate,
      ...(e.requestDate ? { requestDate: e.requestDate } : {}),
      ...(e.nir !== undefined ? { person: { nir: maskNir(e.nir), rang: e.rang } } : {}),
      ...(e.contracts ? { contracts: e.contracts } : {}),
      ...(e.end !== undefined ? { end: e.end } : {}),
      ...(e.iban ? { iban: maskIban(e.iban) } : {}),
    })),
    asOf: { date: on.date, members: on.members.map(person), account: on.account ? { ...on.account, iban: maskIban(on.account.iban) } : null },
  };
}

const SHOW_FLAGS = { home: { type: 'string' }, 'as-of': { type: 'string' }, json: { type: 'boolean' } } as const;

export const showCommand: Command = {
  name: 'members show',
  summary: "print a family's membership history and its state as of a date (--json)",
  usage: SHOW_USAGE,
  flags: SHOW_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, SHOW_FLAGS);
    const adherentId = positionals[0];
    if (adherentId === undefined || positionals.length > 1) throw new UsageError('expects one adherent id');
    const asOf = values['as-of'] ?? new Date().toISOString().slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || !isRealDate(asOf)) throw new UsageError(`--as-of expects a calendar date YYYY-MM-DD, got "${asOf}"`);
    const home = resolve(values.home ?? readEnv().NOEMIE_HOME);
    const store = MembershipStore.openForReading(home);
    const state = store?.history(adherentId) ?? null;
    await store?.close();
    if (state === null) {
      writeHumanLine(io.err, `unknown adherent ${adherentId}: no membership event names it in ${home} (noemie members import, or a members*.csv in the inbox)`);
      return 1;
    }
    if (values.json) {
      writeJson(io, 'members show', familyJson(state, asOf));
      return 0;
    }
    const on = familyOn(state, asOf);
    writeHumanLine(io.out, `adhérent ${state.adherentId}`);
    writeLine(io.out, 'persons (as known now):');
    for (const b of state.members) {
      writeHumanLine(io.out, `  ${b.role} rang ${b.rang} ${maskNir(b.nir)} ${b.name}, born ${b.birthDate}: covered ${b.start} → ${open(b.end)}; contracts ${b.contracts.join(' + ')}`);
      for (const p of b.contractPeriods ?? []) writeLine(io.out, `      level ${p.from} → ${open(p.to)}: ${p.contracts.join(' + ')}`);
      for (const s of b.suspended) writeLine(io.out, `      suspended ${s.from} → ${open(s.to)}`);
      for (const p of b.proofs ?? []) writeLine(io.out, `      proof of ${p.kind} ${p.from} → ${open(p.to)}`);
    }
    writeLine(io.out, 'accounts:');
    if (state.accounts.length === 0) writeLine(io.out, '  none known: payments to this family are blocked');
    for (const a of state.accounts) writeLine(io.out, `  ${maskIban(a.iban)}${a.bic ? ` (${a.bic})` : ''} from ${a.from}`);
    writeLine(io.out, 'history (effective date order):');
    for (const { event: e, appliedAt } of state.events) {
      const who = e.nir !== undefined ? ` ${maskNir(e.nir)} rang ${e.rang}` : '';
      const what = e.contracts && e.eventType === 'contract_change' ? ` → ${e.contracts.join(' + ')}` : e.iban && e.eventType === 'bank_account_change' ? ` → ${maskIban(e.iban)}` : '';
      writeHumanLine(io.out, `  ${e.effectiveDate} ${e.eventType}${who}${what}${e.requestDate ? ` (requested ${e.requestDate})` : ''} — ${e.eventId}, applied ${appliedAt}`);
    }
    writeLine(io.out, `as of ${on.date}:`);
    if (on.members.length === 0) writeLine(io.out, '  nobody covered yet');
    for (const b of on.members) writeHumanLine(io.out, `  ${b.role} rang ${b.rang} ${b.name}: ${b.status}, ${b.contracts.join(' + ')}`);
    writeLine(io.out, `  account: ${on.account ? maskIban(on.account.iban) : 'none'}`);
    return 0;
  },
};
