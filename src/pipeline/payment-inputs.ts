import type { ReconOutcome } from '../model/reconciliation.js';
import type { Settlement } from '../model/settlement.js';
import { JsonFields } from '../bus/json-fields.js';
import { textOfBytes } from '../bus/codec.js';

/**
 * What the payment stage reads of its inputs when the bus hands it their JSON as stored (the
 * embedded bus's `raw` consume, bus.ts `ConsumeOptions.raw`: the records this process appended,
 * checked by `produce` then): only the fields the ledger's fold reads (src/payments/ledger.ts
 * `factsOf`, `onOutcome`, and the keys of a batch's slice), read from the bytes by `JsonFields`
 * instead of parsing the whole value. A settlement is ≈ 840 bytes of which the fold keeps 9 small
 * fields; its parts, counters and formulas were parsed into objects that a consumed batch of 4 096
 * kept alive through its reads and its commit (bench/README.md "Session 18 — payments").
 *
 * The value handed on is a subset of the message, typed as the message (as a `slim` one is): the
 * payment handler reads these fields only, and reads a whole value the same way (Kafka, a record
 * found on disk, `readRange` for a dry run hand values whole). Bytes the scan does not read are
 * parsed whole and the same fields taken from them. A record the bus found on disk (appended by
 * another process: `noemie payments run`, a restart) is parsed and checked by zod as ever; the
 * `slim` readers below keep the same fields of it, so a batch holds the same small values either way
 * (the bus also gives such a record its JSON made again, `BusRecord.json`, for a `raw` consumer:
 * one JSON.stringify per record, beside zod's check).
 */

const SETTLEMENT_FIELDS = new JsonFields(['lineKey', 'version', 'status', 'operation', 'tp', 'payee', 'adherentId', 'amcAmount', 'careDate'] as const);

const REQUIRED_IN_SETTLEMENT = [0, 1, 2, 5, 6, 7, 8] as const;

/** The fields of a settlement the payment fold reads (`factsOf`, `isTiersPayantLine`, the batch's keys). */
export type SettlementForPayments = Pick<Settlement, 'lineKey' | 'version' | 'status' | 'operation' | 'tp' | 'payee' | 'adherentId' | 'amcAmount' | 'careDate'>;

function settlementOf(v: readonly unknown[]): SettlementForPayments {
  // one shape for every value (absent optional fields undefined): the fold's reads stay monomorphic
  return {
    lineKey: v[0] as string,
    version: v[1] as number,
    status: v[2] as Settlement['status'],
    operation: v[3] as Settlement['operation'],
    tp: v[4] as Settlement['tp'],
    payee: v[5] as string,
    adherentId: v[6] as string | null,
    amcAmount: v[7] as string,
    careDate: v[8] as string,
  };
}

/** A settlement's payment fields from its stored JSON (a `raw` reader for `settlements`). */
export function settlementForPayments(json: string | Uint8Array): Settlement {
  const v = typeof json === 'string' ? null : SETTLEMENT_FIELDS.read(json);
  // the fields the schema requires (operation and tp are optional): one missing is not a value we wrote
  if (v !== null && REQUIRED_IN_SETTLEMENT.every((i) => v[i] !== undefined)) return settlementOf(v) as Settlement;
  return slimSettlementForPayments(JSON.parse(textOfBytes(json)) as Settlement);
}

const OUTCOME_FIELDS = new JsonFields(['kind', 'lineKey', 'version', 'tpClaimId', 'payee', 'amount', 'claimed', 'owed', 'claimPaidOn'] as const);

/** The fields of a reconciliation outcome the payment fold reads (`onOutcome`, `attributeOperatorPayment`, the batch's keys). */
export type OutcomeForPayments = Pick<ReconOutcome, 'kind' | 'lineKey' | 'version' | 'tpClaimId' | 'payee' | 'amount' | 'claimed' | 'owed' | 'claimPaidOn'>;

function outcomeOf(v: readonly unknown[]): OutcomeForPayments {
  return {
    kind: v[0] as ReconOutcome['kind'],
    lineKey: v[1] as string | null,
    version: v[2] as number | null,
    tpClaimId: v[3] as string | null,
    payee: v[4] as string | null,
    amount: v[5] as string,
    claimed: v[6] as string | null,
    owed: v[7] as string | null,
    claimPaidOn: v[8] as string | null,
  };
}

/** An outcome's payment fields from its stored JSON (a `raw` reader for `reconciliation`). */
export function outcomeForPayments(json: string | Uint8Array): ReconOutcome {
  const v = typeof json === 'string' ? null : OUTCOME_FIELDS.read(json);
  // every field is required by the schema (nullable ones are written as null): one missing is not ours
  if (v !== null && v.every((x) => x !== undefined)) return outcomeOf(v) as ReconOutcome;
  return slimOutcomeForPayments(JSON.parse(textOfBytes(json)) as ReconOutcome);
}

/** A whole settlement (a record found on disk, checked by zod) as the payment fields alone: what a batch keeps through its awaits (a `slim` for `settlements`). */
export const slimSettlementForPayments = (s: Settlement): Settlement => settlementOf(SETTLEMENT_FIELDS.keys.map((k) => s[k])) as Settlement;

/** A whole outcome as its payment fields alone (a `slim` for `reconciliation`). */
export const slimOutcomeForPayments = (o: ReconOutcome): ReconOutcome => outcomeOf(OUTCOME_FIELDS.keys.map((k) => o[k])) as ReconOutcome;

