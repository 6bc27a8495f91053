/**
 * The file piscina loads in each worker thread: CommonJS on purpose. Piscina first tries
 * `require(filename)`; on Node 20.19+ requiring our ES module takes Node's require(esm) path,
 * which aborted the whole process in a worker thread (V8 fatal "IsGraphAsync must be used on an
 * instantiated module", seen on a second pool start in one process). Requiring a .cjs is plain
 * CommonJS; it then loads the real entry point with import(): workers/liquidate.worker.ts (the
 * liquidation service's pool), or the one its pool names in workerData.entry
 * (workers/liquidate-drop.worker.ts: `noemie liquidate`'s shards; workers/decode-rows.worker.ts:
 * the ingest's row decoder, src/pipeline/row-decoder.ts).
 */
type Handler = (task: unknown) => Promise<unknown>;

const ENTRIES = new Set(['./liquidate.worker.js', './liquidate-drop.worker.js', './decode-rows.worker.js']);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { workerData } = require('piscina') as { workerData?: { entry?: unknown } };
const entry = typeof workerData?.entry === 'string' && ENTRIES.has(workerData.entry) ? workerData.entry : './liquidate.worker.js';

let handler: Promise<Handler> | undefined;

module.exports = async function liquidateTask(task: unknown): Promise<unknown> {
  handler ??= import(entry).then((m) => m.default as Handler);
  return (await handler)(task);
};
