/**
 * The file piscina loads in each statement worker: CommonJS on purpose, for the reason
 * workers/liquidate.entry.cts gives (requiring our ES module from a worker thread took Node's
 * require(esm) path, which aborted the process); it loads workers/statements.worker.ts with import().
 */
type Handler = (task: unknown) => Promise<unknown>;

let handler: Promise<Handler> | undefined;

module.exports = async function renderStatements(task: unknown): Promise<unknown> {
  handler ??= import('./statements.worker.js').then((m) => m.default as Handler);
  return (await handler)(task);
};
