import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { nirKey, type ActLine } from '../../src/model/act-line.js';
import type { LineMessage } from '../../src/bus/messages.js';

/** Four beneficiaries; NIR keys from the model's own rule (97 − NIR mod 97), not what the bus tests. */
export const NIRS = ['1850375123456', '2900175987654', '1700699000111', '2851244555666'] as const;

export function actLine(nir: string, rang: number, lineNo: number, decompteId = 'D0001'): ActLine {
  return {
    source: 'noemie',
    decompteId,
    lineNo,
    operation: 'I',
    caisse: '011751234',
    roPaymentDate: '2025-03-10',
    nir,
    nirKey: nirKey(nir),
    rang,
    birthDate: '1985-03-01',
    amcMemberId: 'M0001',
    psId: '751234567',
    psSpecialty: '01',
    psDptm: true,
    actCode: 'G',
    side: null,
    careStart: '2025-03-03',
    careEnd: '2025-03-03',
    quantity: 1,
    coefficient: '1',
    expense: '30.00',
    br: '30.00',
    roRate: '70',
    roAmount: '19.00',
    pf: '2.00',
    franchise: '0.00',
    pathway: 'I',
    tp: '00',
    accident: false,
  };
}

/** A décompte line message; `record` doubles as the line number so each one is told apart. */
export function lineMessage(nir: string, rang: number, lineNo: number, file = 'drop-2025-03-10.csv'): LineMessage {
  return { line: actLine(nir, rang, lineNo), origin: { file, record: lineNo + 1 } };
}

/**
 * Runs fixtures/bus-child.ts `drain <target>` (a consumer whose batches of 2 records take 200 ms
 * each), sends it SIGTERM during its second batch, and returns its exit code and the offsets it
 * reported handled, in order.
 */
export async function drainUntilSigterm(target: string): Promise<{ code: number | null; handled: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'bus-child.ts'), 'drain', target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (!signalled && out.includes('handled')) {
      signalled = true;
      setTimeout(() => child.kill('SIGTERM'), 50);
    }
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, handled: [...out.matchAll(/handled (\d+):(\d+)/g)].map((m) => Number(m[2])) };
}
