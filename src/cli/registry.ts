import type { Command } from './command.js';

/**
 * Subcommands, loaded lazily so `noemie --help` does not pay for kafkajs or piscina.
 * Add one line per command module (it exports `command`).
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: 'the main job: watch the inbox and run every stage (embedded bus by default, Kafka with --kafka)', load: async () => (await import('./commands/run.js')).command },
  ingest: { summary: 'read caisse drops / invoice uploads, print per-file figures, write the accepted lines', load: async () => (await import('./commands/ingest.js')).command },
  'fixtures generate': { summary: 'write a realistic, deterministic caisse drop (and beneficiaries, invoices, TP claims) from a seed', load: async () => (await import('./commands/fixtures.js')).command },
  replay: { summary: 're-liquidate a partition range with the current grids; publish only what changed (--dry-run: diff)', load: async () => (await import('./commands/replay.js')).command },
  topics: { summary: 'list topics (partitions, end offsets) and consumer lag per known group', load: async () => (await import('./commands/topics.js')).command },
  'payments run': { summary: 'payment run: pay / recover what changed since the last run, SEPA pain.001 file', load: async () => (await import('./commands/payments.js')).command },
  'payments approve': { summary: 'approve an order the payment controls held; the next payment run pays it', load: async () => (await import('./commands/payments.js')).approveCommand },
  'payments show': { summary: 'print a payment run (orders, transfers, recoveries; IBANs masked) and the bank returns: blocked payees, exceptions', load: async () => (await import('./commands/payments.js')).showCommand },
  'payments returns': { summary: "apply the bank's returns (camt.054 / pain.002): returned transfers due again, payees blocked until their account changes", load: async () => (await import('./commands/payments.js')).returnsCommand },
  statement: { summary: 'member statement (historique des remboursements): text, and HTML with a chart', load: async () => (await import('./commands/statement.js')).command },
  'members import': { summary: 'load a beneficiaries.csv population into the home as membership events', load: async () => (await import('./commands/members.js')).importCommand },
  'members show': { summary: "print a family's membership history and its state as of a date (--json)", load: async () => (await import('./commands/members.js')).showCommand },
  liquidate: { summary: 'liquidate a drop against the guarantee grids, no bus: NDJSON settlements', load: async () => (await import('./commands/liquidate.js')).command },
  'reference import': { summary: 'validate grids / nomenclature / PMSS / professionals and publish them as a new version in the home', load: async () => (await import('./commands/reference.js')).importCommand },
  'reference show': { summary: 'list the reference data versions in force in the home (--all: every version kept)', load: async () => (await import('./commands/reference.js')).showCommand },
  'api-keys add': { summary: 'create an HTTP API key for a client (printed once, only its hash is stored)', load: async () => (await import('./commands/api-keys.js')).addCommand },
  'api-keys list': { summary: 'list the HTTP API clients and their scopes (keys are not kept)', load: async () => (await import('./commands/api-keys.js')).listCommand },
  estimate: { summary: 'quote (devis conseil): what the AMC would pay for a planned act, nothing consumed', load: async () => (await import('./commands/estimate.js')).command },
};
