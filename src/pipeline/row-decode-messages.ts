import type { ActLine } from '../model/act-line.js';
import type { IngestEvent, CsvRowLayout } from '../ingest/types.js';

/**
 * What crosses the thread boundary between the ingest's row decoder (src/pipeline/row-decoder.ts)
 * and its worker (workers/decode-rows.worker.ts), by structured clone. Plain data only.
 */

/** A batch of CSV rows of one file, in file order, to validate as `decodeCsvRow` does. */
export interface DecodeRowsTask {
  layout: CsvRowLayout;
  /** the part's file and ZIP entry: each row's origin is these and its record number */
  where: { file: string; entry?: string };
  texts: string[];
  records: number[];
}

/**
 * The batch's events, in its order: the act lines packed (values without their names, as a pool
 * task's lines: task-lines.ts), and the rejects as they are, each at its row's index. The
 * decoder rebuilds each line with the same keys in the same order, and its origin.
 */
export interface DecodedRows {
  shapes: string[][];
  /** per row that validated: its row's index in the batch, its shape's index, then its values */
  lines: unknown[][];
  rejects: [index: number, event: Extract<IngestEvent, { kind: 'reject' }>][];
}

/** Packs the decoded events of a batch (worker side). */
export function packDecoded(events: readonly IngestEvent[]): DecodedRows {
  const shapes: string[][] = [];
  const lines: unknown[][] = [];
  const rejects: DecodedRows['rejects'] = [];
  let shape: string[] | null = null;
  events.forEach((ev, index) => {
    if (ev.kind === 'reject') {
      rejects.push([index, ev]);
      return;
    }
    const line = ev.line as unknown as Record<string, unknown>;
    let same = shape !== null;
    if (shape !== null) {
      let i = 0;
      for (const k in line) {
        if (k !== shape[i++]) {
          same = false;
          break;
        }
      }
      if (i !== shape.length) same = false;
    }
    if (!same) {
      shape = Object.keys(line);
      shapes.push(shape);
    }
    const row = new Array<unknown>(shape!.length + 2);
    row[0] = index;
    row[1] = shapes.length - 1;
    for (let j = 0; j < shape!.length; j++) row[j + 2] = line[shape![j]!];
    lines.push(row);
  });
  return { shapes, lines, rejects };
}

/** The batch's events back, in order, each line with its keys in the order it had and its origin `{ ...where, record }` (pool side). */
export function unpackDecoded(task: Pick<DecodeRowsTask, 'where' | 'records'>, decoded: DecodedRows): IngestEvent[] {
  const out: IngestEvent[] = new Array(task.records.length);
  for (const [index, ev] of decoded.rejects) out[index] = ev;
  for (const row of decoded.lines) {
    const index = row[0] as number;
    const shape = decoded.shapes[row[1] as number]!;
    const line: Record<string, unknown> = {};
    for (let j = 0; j < shape.length; j++) line[shape[j]!] = row[j + 2];
    out[index] = { kind: 'line', line: line as unknown as ActLine, origin: { ...task.where, record: task.records[index]! } };
  }
  return out;
}
