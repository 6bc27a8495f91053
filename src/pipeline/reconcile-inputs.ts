import type { Settlement } from '../model/settlement.js';
import { JsonFields } from '../bus/json-fields.js';
import { textOfBytes } from '../bus/codec.js';
import { slimSettlement } from '../reconcile/index.js';
import type { ReconSettlement } from '../reconcile/types.js';

/**
 * What the reconcile service reads of a settlement when the bus hands it the JSON as stored (the
 * embedded bus's `raw` consume, bus.ts `ConsumeOptions.raw`: records this process appended, checked
 * by `produce` then): the 13 fields the decider reads (`ReconSettlement`, what `slimSettlement`
 * keeps), found in the bytes by `JsonFields` instead of parsing the whole value — its parts,
 * counters and formulas are most of a settlement's ≈ 730 bytes, and JSON.parse built them as
 * objects for the slim copy to drop (the model: payment-inputs.ts, bench/README.md "Session 18 —
 * payments"). The beneficiary `{nir, rang}` is the one nested value read: JsonFields parses its own
 * few bytes. Bytes the scan does not read are parsed whole and slimmed as before; a record found on
 * disk is parsed and checked by zod by the bus, then slimmed (`slimSettlement`, the `slim` option).
 */

const FIELDS = new JsonFields([
  'lineKey',
  'beneficiary',
  'adherentId',
  'careDate',
  'actCode',
  'status',
  'amcAmount',
  'payee',
  'version',
  'operation',
  'tp',
  'psId',
  'invoiceNo',
] as const);

/** the schema's required fields (adherentId is nullable, written as null): one missing is not a value we wrote */
const REQUIRED = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;

function settlementOf(v: readonly unknown[]): ReconSettlement {
  // slimSettlement's shape and order (absent optional fields undefined): the decider's reads stay monomorphic
  return {
    lineKey: v[0] as string,
    beneficiary: v[1] as ReconSettlement['beneficiary'],
    adherentId: v[2] as string | null,
    careDate: v[3] as string,
    actCode: v[4] as string,
    status: v[5] as ReconSettlement['status'],
    amcAmount: v[6] as string,
    payee: v[7] as string,
    version: v[8] as number,
    operation: v[9] as ReconSettlement['operation'],
    tp: v[10] as ReconSettlement['tp'],
    psId: v[11] as string | undefined,
    invoiceNo: v[12] as string | undefined,
  };
}

/** A settlement's reconciliation fields from its stored JSON (a `raw` reader for `settlements`). */
export function settlementForReconcile(json: string | Uint8Array): Settlement {
  const v = typeof json === 'string' ? null : FIELDS.read(json);
  if (v !== null && REQUIRED.every((i) => v[i] !== undefined)) {
    const b = v[1] as { nir?: unknown; rang?: unknown } | null;
    // the one nested value: an object of exactly the two fields the schema gives it (else the slow way)
    if (b !== null && typeof b === 'object' && typeof b.nir === 'string' && typeof b.rang === 'number') return settlementOf(v) as Settlement;
  }
  return slimSettlement(JSON.parse(textOfBytes(json)) as Settlement);
}
