import { workerData } from 'piscina';
import { decodeIndexedLines } from '../src/pipeline/statement-line-codec.js';
import { writeFamilyStatements } from '../src/pipeline/statement-render.js';
import type { StatementRenderResult, StatementRenderSetup, StatementRenderTask } from '../src/pipeline/statement-render-messages.js';

/**
 * Piscina entry point of a statement worker (worker side of the thread boundary; the pool side is
 * src/pipeline/statement-render-pool.ts): what every statement of the pass shares comes once in
 * workerData; each task is a few whole families as the main thread read them, rendered and written
 * here (src/pipeline/statement-render.ts). Nothing is opened but the statement files: the home's
 * LevelDB is the main thread's.
 */
const setup = workerData as StatementRenderSetup;

export default function renderStatements(task: StatementRenderTask): Promise<StatementRenderResult> {
  return writeFamilyStatements(task.families.map((f) => ({ adherentId: f.adherentId, settlements: decodeIndexedLines(f.lines), payments: f.payments, members: f.members })), setup);
}
