import type { Command } from './command.js';

/**
 * Subcommands, loaded lazily so `noemie --help` does not pay for kafkajs or piscina.
 * Add one line per command module (it exports `command`).
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
};
