/** Runs the CLI in-process with captured stdout and stderr (test/support/cli.ts). */
export { runNoemie as runCli } from '../support/cli.js';
