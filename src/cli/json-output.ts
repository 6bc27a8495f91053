import { CLI_OUTPUTS, type CliOutputName } from './output-schemas.js';
import type { CliIo } from './command.js';

/** The `--json` flag every reporting command takes (issue 11), spread into its flags. */
export const JSON_FLAG = { json: { type: 'boolean' } } as const;

/** Usage text for it: the shape is published under schemas/cli/. */
export const jsonUsage = (name: CliOutputName) => `  --json   one JSON document on stdout instead of the text (schemas/cli/${name.replace(/ /g, '-')}.schema.json)`;

/**
 * Prints a command's `--json` document: checked against the command's published schema first
 * (output-schemas.ts), so a field renamed or dropped in the code fails here, in the tests, rather
 * than in an operator's script; then one document, pretty-printed, on stdout. JSON.stringify
 * escapes control characters itself: names from outside need no `printable`.
 */
// `value` is checked at run time, not by type: the stages' interfaces (PaymentStageReport, …) are
// closed TypeScript types without the index signature a loose schema's input type asks for.
export function writeJson(io: CliIo, name: CliOutputName, value: unknown): void {
  const doc = CLI_OUTPUTS[name].parse(value);
  io.out.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/**
 * The streams a command writes its human lines to: with --json they go to stderr, so stdout holds
 * the one document and an operator still sees the progress.
 */
export function humanIo(io: CliIo, json: boolean | undefined): CliIo {
  return json ? { out: io.err, err: io.err } : io;
}
