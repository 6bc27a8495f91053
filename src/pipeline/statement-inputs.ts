import type { Settlement } from '../model/settlement.js';
import { JsonFields } from '../bus/json-fields.js';
import { textOfBytes } from '../bus/codec.js';

/**
 * What the statement index reads of a settlement when the bus hands it the JSON as stored (the
 * embedded bus's `raw` consume, bus.ts `ConsumeOptions.raw`: records this process appended, checked
 * by `produce` then): the fields a statement line keeps (`statementSettlementOf`), read from the
 * bytes by `JsonFields` — a settlement's `parts` (with their formula texts), `counters` and
 * `inputHash` are most of its ≈ 875 bytes and a statement reads none of them; JSON.parse built them
 * as objects for `statementSettlementOf` to drop, a whole batch of settlements at a time (the statements
 * stage's largest bus cost: bench/README.md "Session 21 — bus"). Bytes the scan does not read are
 * parsed whole and given whole; a record found on disk is parsed and checked by zod by the bus and given whole; all
 * go through `statementSettlementOf` in `StatementIndex.apply` as ever, so the index stores the same.
 */
const FIELDS = new JsonFields([
  'lineKey',
  'beneficiary',
  'adherentId',
  'careDate',
  'actCode',
  'poste',
  'status',
  'reason',
  'expense',
  'roAmount',
  'amcAmount',
  'restToPay',
  'version',
  'payee',
  'operation',
  'reliquidation',
  'psId',
  'tp',
] as const);

/** the schema's required fields (adherentId, poste and reason are nullable, written as null): one missing is not a value we wrote */
const REQUIRED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;

/** A settlement's statement fields from its stored JSON (a `raw` reader for `settlements`); the value is a subset of the message. */
export function settlementForStatements(json: string | Uint8Array): Settlement {
  const v = typeof json === 'string' ? null : FIELDS.read(json);
  if (v !== null && REQUIRED.every((i) => v[i] !== undefined)) {
    const b = v[1] as { nir?: unknown; rang?: unknown } | null;
    // the one nested value read whole: an object of the two fields the schema gives it (else the slow way)
    if (b !== null && typeof b === 'object' && typeof b.nir === 'string' && typeof b.rang === 'number') {
      return {
        lineKey: v[0],
        beneficiary: v[1],
        adherentId: v[2],
        careDate: v[3],
        actCode: v[4],
        poste: v[5],
        status: v[6],
        reason: v[7],
        expense: v[8],
        roAmount: v[9],
        amcAmount: v[10],
        restToPay: v[11],
        version: v[12],
        payee: v[13],
        operation: v[14],
        reliquidation: v[15],
        psId: v[16],
        tp: v[17],
      } as Settlement;
    }
  }
  return JSON.parse(textOfBytes(json)) as Settlement;
}
