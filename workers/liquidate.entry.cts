/**
 * The file piscina loads in each worker thread: CommonJS on purpose. Piscina first tries
 * `require(filename)`; on Node 20.19+ requiring our ES module takes Node's require(esm) path,
 * which aborted the whole process in a worker thread (V8 fatal "IsGraphAsync must be used on an
 * instantiated module", seen on a second pool start in one process). Requiring a .cjs is plain
 * CommonJS; it then loads the real entry point, workers/liquidate.worker.ts, with import().
 */
type Handler = (task: unknown) => Promise<unknown>;

let handler: Promise<Handler> | undefined;

module.exports = async function liquidateTask(task: unknown): Promise<unknown> {
  handler ??= import('./liquidate.worker.js').then((m) => m.default as Handler);
  return (await handler)(task);
};
