import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTpClaims, type TpClaimEvent } from '../../src/ingest/reference/tp-claims.js';
import { decideAll, initialReconState } from '../../src/reconcile/index.js';

const HEADER = 'tp_claim_id;operator;ps_id;nir;rang;care_date;act_code;invoice_no;amc_amount_claimed;paid_on';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-claims-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(name: string, text: string): Promise<TpClaimEvent[]> {
  const file = join(dir, name);
  await writeFile(file, text);
  const events: TpClaimEvent[] = [];
  for await (const e of readTpClaims(file)) events.push(e);
  return events;
}

describe('tp_claims.csv', () => {
  it('reads claims, and rejects bad rows with every issue located by line and column; the rest goes on', async () => {
    const events = await read('tp_claims.csv', [
      `\ufeff${HEADER}`,
      'C1;OPTP;751234567;1850575123456;1;2025-03-03;G;;19;',
      'C2;OPTP;751234567;1850575123456;2;2025-03-03;CS;F-22;25.2;2025-03-04',
      'C3;OPTP;;185057512345;0;2025-02-30;G;;-3.00;tomorrow',
      'C4;OPTP;751234567;1850575123456;1;2025-03-03;G;;12.345;',
      '',
    ].join('\n'));
    expect(events.map((e) => e.kind)).toEqual(['claim', 'claim', 'reject', 'reject']);
    expect(events[0]).toMatchObject({ kind: 'claim', origin: { record: 2 }, claim: { tpClaimId: 'C1', amcAmountClaimed: '19.00', invoiceNo: null, paidOn: null, rang: 1 } });
    expect(events[1]).toMatchObject({ kind: 'claim', claim: { tpClaimId: 'C2', amcAmountClaimed: '25.20', invoiceNo: 'F-22', paidOn: '2025-03-04', rang: 2 } });
    const bad = events[2]!;
    if (bad.kind !== 'reject') throw new Error('expected a reject');
    expect(bad.rejected.origin).toEqual({ file: join(dir, 'tp_claims.csv'), record: 4 });
    expect([...new Set(bad.rejected.issues.map((i) => i.path[0]))].sort()).toEqual(['amc_amount_claimed', 'care_date', 'nir', 'paid_on', 'ps_id', 'rang'].sort());
    const cents = events[3]!;
    if (cents.kind !== 'reject') throw new Error('expected a reject');
    expect(cents.rejected.issues).toMatchObject([{ path: ['amc_amount_claimed'] }]);
    expect(cents.rejected.raw).toContain('12.345');
  });

  it('a header that lacks a column refuses the file', async () => {
    await expect(read('short.csv', 'tp_claim_id;operator;ps_id\nC1;OPTP;1\n')).rejects.toMatchObject({ code: 'REFERENCE_HEADER' });
  });

  it('claims read from the file feed the reconciliation decider', async () => {
    const events = await read('one.csv', `${HEADER}\nC1;OPTP;751234567;1850575123456;1;2025-03-03;G;;19.00;\n`);
    const claims = events.flatMap((e) => (e.kind === 'claim' ? [{ kind: 'claim' as const, claim: e.claim, at: '2025-03-05T00:00:00Z' }] : []));
    const { state } = decideAll(initialReconState(), claims);
    expect(Object.keys(state.claims)).toEqual(['C1']);
  });
});
