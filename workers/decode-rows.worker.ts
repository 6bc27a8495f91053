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
 * each run of lines as the bus sink's spool bytes and the summary's figures (`LineRun`).
 */
const NL = 0x0a;
/** the spool bytes of the run being gathered, grown as needed and kept for the next batch */
let scratch: Buffer = Buffer.allocUnsafe(1024 * 1024);

function grown(buf: Buffer, used: number, more: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(2 * buf.length, used + more));
  buf.copy(next, 0, 0, used);
  return next;
}

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
  // the run being gathered: its lines (for the summary's figures), records, and spool bytes (`LineRun.spool`)
  let lines: ActLine[] = [];
  let lineRecords: number[] = [];
  let ends: number[] = [];
  let n = 0;
  const close = () => {
    if (lines.length === 0) return;
    // a copy of exactly the run's bytes: a view of the scratch would clone all of it
    out.push({ kind: 'lines', where, records: lineRecords, spool: new Uint8Array(scratch.subarray(0, n)), ends, tally: tallyRun(lines) });
    lines = [];
    lineRecords = [];
    ends = [];
    n = 0;
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
    // UTF-8 takes at most 3 bytes a UTF-16 unit; then the newline
    if (n + 3 * text.length + 1 > scratch.length) scratch = grown(scratch, n, 3 * text.length + 1);
    n += scratch.write(text, n);
    scratch[n++] = NL;
    lines.push(ev.line);
    lineRecords.push(origin.record);
    ends.push(n);
  }
  close();
  return out;
}
