import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The options a command's parseArgs accepts (node:util). */
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * One CLI subcommand. `run` returns the process exit code. `flags` are the options `run` parses:
 * declared here so a test can hold `usage` to them (every flag a command takes is in its --help).
 */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec;
  run(argv: string[], io: CliIo): Promise<number>;
}

export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export class UsageError extends Error {}

/** node:util parseArgs with errors turned into UsageError (printed with the command's usage). */
export function parseFlags<T extends FlagSpec>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function writeLine(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/**
 * A file name (or any text from outside) made safe for one line of human output: control characters
 * (C0, DEL, C1) and the Unicode line/paragraph separators are shown escaped (`\n`, `\x1b`, `\u2028`)
 * so a name holding a newline cannot break a line into two, nor an escape sequence drive the
 * terminal. JSON output needs none of this: JSON.stringify escapes them.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/** writeLine for human output: the text is one line, whatever the names in it hold. */
export function writeHumanLine(stream: NodeJS.WritableStream, text = ''): void {
  writeLine(stream, printable(text));
}
