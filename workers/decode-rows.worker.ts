import { decodeCsvRow } from '../src/ingest/csv/index.js';
import type { DecodedRows, DecodeRowsTask } from '../src/pipeline/row-decode-messages.js';

/**
 * Piscina entry point of the ingest's row decoder (worker side; the pool side is
 * src/pipeline/row-decoder.ts): validates a batch of CSV rows exactly as the codec's `decode`
 * would on the service's thread (`decodeCsvRow`, zod at the edge), and sends the events back,
 * each line with its JSON made here (`json`: the bus sink writes it as it is).
 */
export default function decodeRows(task: DecodeRowsTask): DecodedRows {
  const { layout, where, texts, records } = task;
  return texts.map((text, i) => {
    const ev = decodeCsvRow(text, { ...where, record: records[i]! }, layout);
    if (ev.kind === 'line') ev.json = JSON.stringify(ev.line);
    return ev;
  });
}
