import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PaymentOrderSchema } from '../../src/model/payment.js';
import { ReconOutcomeSchema } from '../../src/model/reconciliation.js';
import { TP_CLAIM_COLUMN_NAMES, TpClaimCsvRowSchema, TpClaimSchema } from '../../src/model/tp-claim.js';
import { applyPaymentEvents, initialLedger, runPayments } from '../../src/payments/index.js';
import { decideAll, initialReconState } from '../../src/reconcile/index.js';
import { ACCOUNTS, settled } from '../payments/given.js';
import { C, claim, line, S } from './given.js';

/**
 * The topic and file schemas of issue 5 are generated from the zod schemas the code validates
 * with, so they cannot drift (same habit as test/engine/schemas.int.test.ts). After changing one:
 *   UPDATE_SCHEMAS=1 npx vitest run test/reconcile/schemas.int.test.ts
 * Then real outputs of the decider and of a payment run are checked against the published files
 * with a JSON Schema validator (ajv).
 */
const SCHEMAS = join(import.meta.dirname, '../../schemas');

const GENERATED = [
  { file: 'topics/tp-claims.schema.json', schema: TpClaimSchema, source: 'src/model/tp-claim.ts', extra: {} },
  { file: 'topics/reconciliation.schema.json', schema: ReconOutcomeSchema, source: 'src/model/reconciliation.ts', extra: {} },
  { file: 'topics/payment-orders.schema.json', schema: PaymentOrderSchema, source: 'src/model/payment.ts', extra: {} },
  {
    file: 'tp_claims.csv.schema.json',
    schema: TpClaimCsvRowSchema,
    source: 'src/model/tp-claim.ts (TpClaimCsvRowSchema), loaded by src/ingest/reference/tp-claims.ts',
    extra: { 'x-format': 'csv', 'x-encoding': 'UTF-8', 'x-delimiter': ';', 'x-header': true, 'x-columns': TP_CLAIM_COLUMN_NAMES },
  },
] as const;

function document(g: (typeof GENERATED)[number]): string {
  const { description, title, ...body } = z.toJSONSchema(g.schema, { io: 'output' }) as { description?: string; title?: string; [k: string]: unknown };
  const doc = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: g.file.replace('topics/', ''),
    title,
    description: `GENERATED from ${g.source}, do not edit (test/reconcile/schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites). ${description ?? ''}`.trim(),
    ...g.extra,
    ...body,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function validator(file: string) {
  return new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(await readFile(join(SCHEMAS, file), 'utf8')));
}

describe('issue 5 schemas', () => {
  it.each(GENERATED)('schemas/$file matches its zod schema', async (g) => {
    const expected = document(g);
    const path = join(SCHEMAS, g.file);
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(path, expected);
    expect(await readFile(path, 'utf8')).toBe(expected);
  });

  it('real reconciliation outcomes and claims validate against the published schemas', async () => {
    const outcomes = decideAll(initialReconState(), [S(line()), C(claim({ amcAmountClaimed: '30.00', paidOn: '2025-03-04' })), S(line({ version: 2, operation: 'A', amcAmount: '-19.00' }))]).outcomes;
    expect(outcomes.map((o) => o.kind)).toEqual(['held', 'indu', 'annulation-indu']);
    const recon = await validator('topics/reconciliation.schema.json');
    for (const o of outcomes) expect(recon(o), JSON.stringify(recon.errors)).toBe(true);
    expect(recon({ ...outcomes[0], kind: 'paid' })).toBe(false);
    const claims = await validator('topics/tp-claims.schema.json');
    expect(claims(claim())).toBe(true);
    expect(claims({ ...claim(), amcAmountClaimed: 19 })).toBe(false);
  });

  it('real payment orders validate against the published schema', async () => {
    const r = runPayments(applyPaymentEvents(initialLedger(), [{ kind: 'settlement', settlement: settled() }]), { runId: 'R1', at: '2025-03-31T18:00:00Z', accounts: ACCOUNTS });
    const orders = await validator('topics/payment-orders.schema.json');
    expect(r.orders).toHaveLength(1);
    expect(orders(r.orders[0]), JSON.stringify(orders.errors)).toBe(true);
    expect(orders({ ...r.orders[0], kind: 'refund' })).toBe(false);
  });

  it('the tp_claims.csv layout lists the loader’s columns and accepts a real row', async () => {
    const doc = JSON.parse(await readFile(join(SCHEMAS, 'tp_claims.csv.schema.json'), 'utf8'));
    expect(doc['x-columns']).toEqual(TP_CLAIM_COLUMN_NAMES);
    expect(Object.keys(doc.properties)).toEqual(TP_CLAIM_COLUMN_NAMES);
    const row = await validator('tp_claims.csv.schema.json');
    const good = { tp_claim_id: 'C1', operator: 'OPTP', ps_id: '751234567', nir: '1850575123456', rang: '1', care_date: '2025-03-03', act_code: 'G', invoice_no: '', amc_amount_claimed: '19.00', paid_on: '' };
    expect(row(good), JSON.stringify(row.errors)).toBe(true);
    expect(row({ ...good, amc_amount_claimed: '19,00' })).toBe(false);
  });
});
