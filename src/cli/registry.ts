import type { Command } from './command.js';

/**
 * Subcommands, loaded lazily so `noemie --help` does not pay for kafkajs or piscina.
 * Add one line per command module (it exports `command`).
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  ingest: { summary: 'read caisse drops / invoice uploads, print per-file figures, write the accepted lines', load: async () => (await import('./commands/ingest.js')).command },
  'fixtures generate': { summary: 'write a realistic, deterministic caisse drop (and beneficiaries, invoices, TP claims) from a seed', load: async () => (await import('./commands/fixtures.js')).command },
  liquidate: { summary: 'liquidate a drop against the guarantee grids, no bus: NDJSON settlements', load: async () => (await import('./commands/liquidate.js')).command },
  estimate: { summary: 'quote (devis conseil): what the AMC would pay for a planned act, nothing consumed', load: async () => (await import('./commands/estimate.js')).command },
};
