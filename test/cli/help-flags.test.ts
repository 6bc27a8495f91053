import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/registry.js';

/**
 * Every flag a command parses is in its --help (issue 11): the registry is walked, each command's
 * parseArgs options (`command.flags`) are compared with its usage text, so a flag added to a
 * command without a word in its usage fails here.
 */
const mentions = (usage: string, flag: string) => new RegExp(`(^|[\\s\\[(|,/])--${flag.replace(/[-]/g, '\\-')}(?![\\w-])`, 'm').test(usage);

describe('every flag a command takes is in its --help', () => {
  // loading `run` pulls in the whole pipeline (piscina, kafkajs): more than the default 5 s on a busy machine
  it.each(Object.keys(COMMANDS))('noemie %s', { timeout: 60_000 }, async (name) => {
    const command = await COMMANDS[name]!.load();
    expect(command.name).toBe(name);
    const flags = Object.entries(command.flags);
    expect(flags.length).toBeGreaterThan(0);
    const missing = flags.filter(([flag]) => !mentions(command.usage, flag)).map(([flag]) => `--${flag}`);
    const missingShort = flags.filter(([, o]) => o.short !== undefined && !new RegExp(`(^|[\\s\\[(|,])-${o.short}(?![\\w-])`, 'm').test(command.usage)).map(([, o]) => `-${o.short}`);
    expect([...missing, ...missingShort], `flags parsed by noemie ${name} but absent from its usage`).toEqual([]);
  });

  it('the check catches a flag missing from a usage (the matcher is not vacuous)', () => {
    expect(mentions('noemie x [--json] [--home <dir>]', 'json')).toBe(true);
    expect(mentions('noemie x [--json-lines]', 'json')).toBe(false);
    expect(mentions('noemie x [--dry-run]', 'dry')).toBe(false);
    expect(mentions('see --stable-ms', 'stable-ms')).toBe(true);
  });
});
