import { decodeCsvRow } from '../src/ingest/csv/index.js';
import { tallyRun } from '../src/ingest/summary.js';
import type { ActLine } from '../src/model/act-line.js';
import type { DecodedRows, DecodedRuns, DecodeRowsTask } from '../src/pipeline/row-decode-messages.js';
import { spoolLinePrefixer } from '../src/pipeline/spool-line.js';

/**
 * Piscina entry point of the ingest's row decoder (worker side; the pool side is
 * src/pipeline/row-decoder.ts): validates a batch of CSV rows exactly as the codec's `decode`
 * would on the service's thread (`decodeCsvRow`, zod at the edge), and sends the events back,
 * each line with its JSON made here (`json`: the bus sink writes it as it is) — or, asked for runs,
 * each run of lines as the bus sink's spool texts and the summary's figures (`LineRun`).
 */
export default function decodeRows(task: DecodeRowsTask): DecodedRows | DecodedRuns {
  const { layout, where, texts, records } = task;
  if (!task.runs) {
    return texts.map((text, i) => {
      const ev = decodeCsvRow(text, { ...where, record: records[i]! }, layout);
      if (ev.kind === 'line') ev.json = JSON.stringify(ev.line);
      return ev;
    });
  }
  const out: DecodedRuns = [];
  // the run being gathered: its lines (for the summary's figures), records and spool texts
  let lines: ActLine[] = [];
  let lineRecords: number[] = [];
  let spool: string[] = [];
  let spoolBytes = 0;
  const close = () => {
    if (lines.length === 0) return;
    out.push({ kind: 'lines', where, records: lineRecords, spool, spoolBytes, tally: tallyRun(lines) });
    lines = [];
    lineRecords = [];
    spool = [];
    spoolBytes = 0;
  };
  const prefix = spoolLinePrefixer(where);
  for (let i = 0; i < texts.length; i++) {
    const origin = { ...where, record: records[i]! };
    const ev = decodeCsvRow(texts[i]!, origin, layout);
    if (ev.kind === 'reject') {
      close();
      out.push(ev);
      continue;
    }
    const text = prefix(ev.line, JSON.stringify(ev.line), origin.record);
    lines.push(ev.line);
    lineRecords.push(origin.record);
    spool.push(text);
    spoolBytes += Buffer.byteLength(text);
  }
  close();
  return out;
}
