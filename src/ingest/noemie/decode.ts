import { PipelineError } from '../../model/errors.js';
import { IngestError, type Codec, type DecodeInput, type IngestEvent } from '../types.js';
import { ControlTotals, type Where } from './control.js';
import { LineBuilder } from './lines.js';
import { readRecords } from './records.js';

/**
 * NOEMIE-style décompte files (formats.md §1a, schemas/noemie-layout.md), in two streamed passes:
 * 1. structure and 990/999 control totals, running sums only; a mismatch refuses the whole file
 *    before a single event is yielded, so nothing of it is published;
 * 2. the same records again, as `line` / `reject` events.
 * Pass 2 re-runs the pass-1 checks as it goes (they are cheap): a file that changed between the two
 * passes fails the same way instead of publishing lines the control never saw.
 */
export const noemieCodec: Codec = {
  format: 'noemie',
  decode: decodeNoemie,
};

async function* decodeNoemie(input: DecodeInput): AsyncGenerator<IngestEvent> {
  const where: Where = { file: input.file, ...(input.entry !== undefined ? { entry: input.entry } : {}) };
  try {
    await verify(input, where);
    const totals = new ControlTotals(where);
    const builder = new LineBuilder(where);
    for await (const rec of readRecords(await input.open())) {
      totals.accept(rec);
      const event = builder.accept(rec);
      if (event) yield event;
    }
    totals.finish();
  } catch (e) {
    throw asIngestError(e, where);
  }
}

async function verify(input: DecodeInput, where: Where): Promise<void> {
  const totals = new ControlTotals(where);
  for await (const rec of readRecords(await input.open())) totals.accept(rec);
  totals.finish();
}

function asIngestError(e: unknown, where: Where): unknown {
  if (e instanceof PipelineError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new IngestError('INGEST_IO', `${where.file}${where.entry ? `!${where.entry}` : ''}: cannot read: ${message}`, { ...where }, { cause: e });
}
