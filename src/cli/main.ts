import { COMMANDS } from './registry.js';
import { UsageError, printable, writeHumanLine, writeLine, type CliIo } from './command.js';
import { ConfigError } from '../config.js';
import { PipelineError } from '../model/errors.js';
import { maskPersonalData } from '../log.js';
import { packageVersion } from './version.js';

function help(io: CliIo): void {
  writeLine(io.out, 'noemie — claims ingestion and settlement pipeline (AMC)');
  writeLine(io.out);
  writeLine(io.out, 'usage: noemie <command> [options]   (noemie <command> --help for its options)');
  writeLine(io.out, '       noemie --version             (or -V: the version, e.g. in a bug report)');
  writeLine(io.out);
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  for (const [name, c] of Object.entries(COMMANDS)) writeLine(io.out, `  ${name.padEnd(width)}  ${c.summary}`);
}

export async function main(argv: string[], io: CliIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    help(io);
    return first ? 0 : 2;
  }
  if (first === '--version' || first === '-V') {
    writeLine(io.out, `noemie ${packageVersion()}`);
    return 0;
  }
  // Two-word commands ("fixtures generate", "payments run") are registered with their space.
  const twoWord = rest[0] !== undefined ? `${first} ${rest[0]}` : undefined;
  const name = twoWord && COMMANDS[twoWord] ? twoWord : first;
  const entry = COMMANDS[name];
  if (!entry) {
    writeLine(io.err, `noemie: unknown command "${first}". Known: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  const args = name === twoWord ? rest.slice(1) : rest;
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    writeLine(io.out, `${command.summary}\n\nusage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      writeLine(io.err, `noemie ${name}: ${printable(e.message)}\nusage: ${command.usage}`);
      return 2;
    }
    if (e instanceof PipelineError || e instanceof ConfigError) {
      const code = e instanceof PipelineError ? ` [${e.code}]` : '';
      writeHumanLine(io.err, maskPersonalData(`noemie ${name}:${code} ${e.message}`));
      return 1;
    }
    throw e;
  }
}
