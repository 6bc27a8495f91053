import { Readable } from 'node:stream';
import type { ActLine } from '../../src/model/act-line.js';
import type { DecodeInput, IngestEvent } from '../../src/ingest/types.js';
import { formatRecord, noemieCodec } from '../../src/ingest/noemie/index.js';

/** Test helpers for the NOEMIE-style codec: raw records built field by field, inputs, collection. */

// 97 − (1850775123456 mod 97) = 8 ; 97 − (2900113055012 mod 97) = 89 (computed with python, not the codebase)
export const NIR_A = '1850775123456';
export const KEY_A = '08';
export const NIR_B = '2900113055012';
export const KEY_B = '89';

export const rec = {
  header: (o: Record<string, string> = {}) =>
    formatRecord('000', { emitter: 'CPAM DE PARIS', amc_number: '0123456789', file_id: 'F-2024-001', created_on: '20240306', ...o }),
  decompte: (o: Record<string, string> = {}) =>
    formatRecord('100', { decompte_id: 'D1', caisse: '011751001', ro_payment_date: '20240305', operation: 'I', ...o }),
  beneficiary: (o: Record<string, string> = {}) =>
    formatRecord('103', { nir: NIR_A, nir_key: KEY_A, rang: '1', birth_date: '19850712', amc_member_id: 'ADH000123', ...o }),
  professional: (o: Record<string, string> = {}) => formatRecord('120', { ps_id: '751234567', ps_specialty: '01', ps_dptm: 'Y', ...o }),
  /** G consultation: 30.00 € expense and BR, 70 %, RO 21.00, PF 2.00 */
  act: (o: Record<string, string> = {}) =>
    formatRecord('255', {
      line_no: '1',
      act_code: 'G',
      care_start: '20240301',
      care_end: '20240301',
      quantity: '1',
      coefficient: '10000',
      expense: '3000P',
      br: '3000P',
      ro_rate: '7000',
      ro_amount: '2100P',
      pf: '200P',
      franchise: '0P',
      pathway: 'I',
      tp: '00',
      accident: 'N',
      ...o,
    }),
  control: (lines: number, total: string) => formatRecord('990', { line_count: String(lines), ro_total: total }),
  trailer: (records: number, decomptes: number, total: string) =>
    formatRecord('999', { record_count: String(records), decompte_count: String(decomptes), ro_total: total }),
};

/** The ActLine `rec.act()` under the default 100/103/120 decodes to, written out by hand. */
export const DEFAULT_LINE: ActLine = {
  source: 'noemie',
  decompteId: 'D1',
  lineNo: 1,
  operation: 'I',
  caisse: '011751001',
  roPaymentDate: '2024-03-05',
  nir: NIR_A,
  nirKey: KEY_A,
  rang: 1,
  birthDate: '1985-07-12',
  amcMemberId: 'ADH000123',
  psId: '751234567',
  psSpecialty: '01',
  psDptm: true,
  actCode: 'G',
  side: null,
  careStart: '2024-03-01',
  careEnd: '2024-03-01',
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
};

export function fileOf(records: string[], eol = '\n'): Buffer {
  return Buffer.from(records.map((r) => r + eol).join(''), 'latin1');
}

export function inputOf(content: Buffer | (() => AsyncIterable<Buffer> | Iterable<Buffer>), file = 'drop.noemie'): DecodeInput & { opened: number } {
  const input = {
    file,
    opened: 0,
    open: async () => {
      input.opened += 1;
      return typeof content === 'function' ? Readable.from(content()) : Readable.from([content]);
    },
  };
  return input;
}

/** Decodes fully; on a thrown error returns it with the events yielded before it. */
export async function decodeAll(input: DecodeInput): Promise<{ events: IngestEvent[]; error?: unknown }> {
  const events: IngestEvent[] = [];
  try {
    for await (const e of noemieCodec.decode(input)) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

export function lines(events: IngestEvent[]): ActLine[] {
  return events.flatMap((e) => (e.kind === 'line' ? [e.line] : []));
}

export function rejects(events: IngestEvent[]) {
  return events.flatMap((e) => (e.kind === 'reject' ? [e.rejected] : []));
}
