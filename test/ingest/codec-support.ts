import { Readable } from 'node:stream';
import type { ActLine } from '../../src/model/act-line.js';
import type { DecodeInput, IngestEvent } from '../../src/ingest/types.js';

/**
 * Shared by the CSV / XML / invoice / drop tests: in-memory inputs and hand-written act lines.
 *
 * NIR keys below were computed by hand: key = 97 − (NIR mod 97).
 *   1850775123456 = 97 × 19 080 155 911 + 89 → key 97 − 89 = 08
 *   2920699123789 = 97 × 30 110 300 245 + 24 → key 97 − 24 = 73
 */
export const NIR_A = { nir: '1850775123456', nirKey: '08' };
export const NIR_B = { nir: '2920699123789', nirKey: '73' };

/** Bytes served in chunks of `chunk` bytes, to cross every boundary a parser may trip on. */
export function memoryInput(file: string, content: string | Buffer, options: { entry?: string; chunk?: number } = {}): DecodeInput & { opens: number } {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const size = options.chunk ?? 65536;
  const input = {
    file,
    opens: 0,
    open: async () => {
      input.opens += 1;
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      return Readable.from(chunks, { objectMode: false });
    },
  };
  return options.entry === undefined ? input : Object.assign(input, { entry: options.entry });
}

export async function collect(events: AsyncIterable<IngestEvent>): Promise<IngestEvent[]> {
  const out: IngestEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

export function linesOf(events: IngestEvent[]): ActLine[] {
  return events.flatMap((e) => (e.kind === 'line' ? [e.line] : []));
}

export function rejectsOf(events: IngestEvent[]) {
  return events.flatMap((e) => (e.kind === 'reject' ? [e.rejected] : []));
}

/** A consultation (G, 30.00 €, BR 30.00, RO 70 % = 21.00, PF 2.00), written out by hand. */
export function consultation(overrides: Partial<ActLine> = {}): ActLine {
  return {
    source: 'noemie',
    decompteId: 'D000000001',
    lineNo: 1,
    operation: 'I',
    caisse: '011751001',
    roPaymentDate: '2024-03-12',
    ...NIR_A,
    rang: 1,
    birthDate: '1985-07-14',
    amcMemberId: 'ADH000123',
    psId: '751234567',
    psSpecialty: '01',
    psDptm: true,
    actCode: 'G',
    side: null,
    careStart: '2024-03-04',
    careEnd: '2024-03-04',
    quantity: 1,
    coefficient: '1',
    expense: '30.00',
    br: '30.00',
    roRate: '70',
    roAmount: '21.00',
    pf: '2.00',
    franchise: '0.00',
    pathway: 'I',
    tp: '00',
    accident: false,
    ...overrides,
  };
}
