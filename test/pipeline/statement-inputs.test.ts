import { describe, expect, it } from 'vitest';
import type { Settlement } from '../../src/model/settlement.js';
import { settlementForStatements } from '../../src/pipeline/statement-inputs.js';
import { statementSettlementOf } from '../../src/pipeline/statement-index.js';
import { jsonBytes as bytes, line, NIR, without } from '../reconcile/given.js';

/**
 * What the statement index reads of a settlement consumed raw (statement-inputs.ts): the fields a
 * statement line keeps, from the bytes — `statementSettlementOf` of it equal to that of the whole
 * value (what the index stores), and none of the parts, counters, input hash.
 */

const settlements: Settlement[] = [
  line(),
  line({ lineKey: 'noemie-1:T1:1', tp: '25', amcAmount: '19.00', version: 3, invoiceNo: 'F-12', reason: 'a "psId":"999" in a reason, with } and ]', inputHash: 'fnv1a64:1' }),
  line({ lineKey: 'noemie-1:A1:1', operation: 'A', status: 'rejected', adherentId: null, poste: null, version: 2, beneficiary: { nir: NIR, rang: 2 } }),
  without(line({ lineKey: 'noemie-1:N1:1', status: 'review', payee: 'member', parts: [{ contract: 'C', amount: '1.00', formula: 'lineKey "x" − 1 × 2', rule: 'version' }] }), 'operation', 'tp', 'psId', 'invoiceNo'),
  line({ lineKey: 'noemie-é€:1', adherentId: 'ADH"1\\', actCode: 'C\u00e9', careDate: '2024-12-31', counters: [{ key: 'psId', before: '0.00', after: '9.00' }], reliquidation: { eventId: 'e1', type: 'affiliation_end', effectiveDate: '2024-01-01' } }),
];

describe('statement inputs read raw: a statement line’s fields from the bytes', () => {
  it('what the index stores of it is what it stores of the whole value; nothing else is read', () => {
    for (const s of settlements) {
      const raw = settlementForStatements(bytes(s));
      expect(statementSettlementOf(raw)).toStrictEqual(statementSettlementOf(s));
      for (const k of ['parts', 'counters', 'inputHash', 'invoiceNo'] as const) expect(raw[k]).toBeUndefined();
      // text, and bytes the scan does not read (whitespace): parsed whole, the same line stored
      expect(statementSettlementOf(settlementForStatements(JSON.stringify(s)))).toStrictEqual(statementSettlementOf(s));
      expect(statementSettlementOf(settlementForStatements(new TextEncoder().encode(JSON.stringify(s, null, 1))))).toStrictEqual(statementSettlementOf(s));
    }
  });

  it('a value missing a required field, or with a beneficiary not as the schema has it, is parsed whole', () => {
    const odd = { ...line(), beneficiary: { nir: NIR, rang: '1' } } as unknown as Settlement;
    expect(settlementForStatements(bytes(odd))).toStrictEqual(odd);
    const noVersion = without(line(), 'version');
    expect(settlementForStatements(bytes(noVersion))).toStrictEqual(noVersion);
  });
});
