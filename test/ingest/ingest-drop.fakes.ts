import type { ActLine } from '../../src/model/act-line.js';
import type { RejectedRecord } from '../../src/model/issues.js';
import type { DropReader } from '../../src/ingest/ingest-drop.js';
import type { DropFormat, DropPart, IngestEvent } from '../../src/ingest/types.js';

/** Test helpers: a valid act line and a `readDrop`-shaped reader over scripted parts. */

// NIR 1850375123456: 1850375123456 mod 97 = 56 → key 97 − 56 = 41
export function actLine(over: Partial<ActLine> = {}): ActLine {
  return {
    source: 'noemie', decompteId: 'D1', lineNo: 1, operation: 'I', caisse: '011751001', roPaymentDate: '2025-03-10',
    nir: '1850375123456', nirKey: '41', rang: 1, birthDate: '1985-03-12', amcMemberId: 'A001', psId: '751234567',
    psSpecialty: '01', psDptm: true, actCode: 'G', side: null, careStart: '2025-03-01', careEnd: '2025-03-01', quantity: 1,
    coefficient: '1', expense: '30.00', br: '30.00', roRate: '70', roAmount: '21.00', pf: '2.00', franchise: '0.00',
    pathway: 'I', tp: '00', accident: false, ...over,
  };
}

export function lineEv(file: string, record: number, over: Partial<ActLine> = {}, entry?: string): IngestEvent {
  return { kind: 'line', line: actLine(over), origin: { file, record, ...(entry ? { entry } : {}) } };
}

export function rejectEv(file: string, record: number, field: string, input: unknown, message: string, entry?: string): IngestEvent {
  const rejected: RejectedRecord = { origin: { file, record, ...(entry ? { entry } : {}) }, issues: [{ code: 'invalid', path: [field], input, message }] };
  return { kind: 'reject', rejected };
}

export interface ScriptedPart {
  file: string;
  entry?: string;
  format: DropFormat;
  /** events in order; an Error is thrown at that point (the codec refusing the part) */
  events: (IngestEvent | Error)[];
}

/** `script` may be a function of the path so one reader serves several files. */
export function fakeReader(script: ScriptedPart[] | Error | ((path: string, name: string) => ScriptedPart[] | Error)): DropReader & { calls: string[] } {
  const calls: string[] = [];
  const reader = async function* (path: string, options?: { name?: string }): AsyncGenerator<DropPart> {
    calls.push(path);
    const parts = typeof script === 'function' ? script(path, options?.name ?? path) : script;
    if (parts instanceof Error) throw parts;
    for (const p of parts) {
      yield {
        file: p.file, format: p.format, ...(p.entry ? { entry: p.entry } : {}),
        events: (async function* () {
          for (const ev of p.events) {
            if (ev instanceof Error) throw ev;
            yield ev;
          }
        })(),
      };
    }
  };
  return Object.assign(reader, { calls });
}
