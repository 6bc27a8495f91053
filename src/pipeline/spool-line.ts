import type { Headers, LineMessage } from '../bus/messages.js';
import type { ActLine } from '../model/act-line.js';
import { lineKeyOf } from '../model/act-line.js';
import type { Origin } from '../model/issues.js';
import { lineTopicOf, type LineTopic } from './keys.js';

/**
 * One line of the ingest sink's spool (bus-sink.ts), made where the line is decoded: on the
 * service's thread for a codec's own events (`BusIngestSink.line`), in the row decoder's worker for
 * a CSV part's rows (workers/decode-rows.worker.ts), so that thread only appends the record id.
 *
 * A spool line is `<head>\t<the line message's JSON>\n`: the head, a small JSON array, holds what
 * producing the line needs besides its text — the topic, the person (NIR, rang) and member number
 * it is keyed by, and the headers the topic derives from the message (origin and lineKey) — so the
 * line itself is never parsed back (it was most of produceSpool's main-thread time; bench/README.md
 * "Session 11 — bus"). JSON text has no raw tab, so the first tab ends the head. The spool never
 * outlives its process's part (clearSpool), so no older layout is ever read.
 */
export type SpoolHead = [topic: LineTopic, nir: string, rang: number, amcMemberId: string, headers: Headers];

/** The bus origin has no `textLine` (an XML reading aid, not part of the message). */
export function originOf(o: Origin): LineMessage['origin'] {
  return { file: o.file, ...(o.entry !== undefined ? { entry: o.entry } : {}), record: o.record };
}

/**
 * The spool line up to its record id: `<head>\t{"line":<json>,"origin":<origin>` — the message's
 * JSON without its `,"recordId":…` and closing brace, which `spoolLineEnd` adds once the sink
 * knows the line's ordinal in its part. `json` is `JSON.stringify(line)`, made by the caller
 * (the worker makes it anyway), so the whole is `JSON.stringify({ line, origin, recordId })`
 * byte for byte (keys in that order).
 */
export function spoolLinePrefix(line: ActLine, json: string, origin: Origin): string {
  return spoolLinePrefixer(origin)(line, json, origin.record);
}

/**
 * `spoolLinePrefix` for many lines of one file (the row decoder's batch): the file's part of the
 * origin serialised once, the head written as text — no origin, head or headers object made per
 * line, nor JSON.stringify of them (a sixth of the decoding thread's time a line, bench/README.md
 * "Session 18 — ingest"). The head is the SpoolHead array, its headers the origin's keys in
 * originOf's order then the lineKey: what `JSON.stringify(head)` wrote (test/pipeline/spool-line.test.ts).
 */
export function spoolLinePrefixer(where: { file: string; entry?: string }): (line: ActLine, json: string, record: number) => string {
  // `{"file":…[,"entry":…]` — the origin's keys in originOf's order, the record after
  const open = JSON.stringify(originOf({ ...where, record: 0 })).slice(0, -',"record":0}'.length);
  return (line, json, record) => {
    const origin = `${open},"record":${record}`;
    return `[${JSON.stringify(lineTopicOf(line))},${JSON.stringify(line.nir)},${line.rang},${JSON.stringify(line.amcMemberId)},${origin},"lineKey":${JSON.stringify(lineKeyOf(line))}}]\t{"line":${json},"origin":${origin}}`;
  };
}

/** What ends a spool line after `spoolLinePrefix`: the record id when there is one, the brace, the newline. */
export function spoolLineEnd(recordId: string | undefined): string {
  // a record id is `<16 hex>:<part>:<line>`: nothing in it needs escaping
  return recordId === undefined ? '}\n' : `,"recordId":"${recordId}"}\n`;
}
