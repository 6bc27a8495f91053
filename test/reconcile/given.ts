import type { Settlement } from '../../src/model/settlement.js';
import type { TpClaim } from '../../src/model/tp-claim.js';
import { decideAll, initialReconState, type ReconConfig, type ReconEvent, DEFAULT_RECON_CONFIG } from '../../src/reconcile/index.js';

/** Given / when / then for the reconciliation decider: fixtures that read like the business case. */

export const NIR = '1850575123456';
export const PS = '751234567';

/** A NOEMIE line in tiers payant (tp 15), GP consultation, AMC part 19.00 unless told otherwise. */
export function line(over: Partial<Settlement> = {}): Settlement {
  return {
    lineKey: 'noemie-011751001:D100:1',
    beneficiary: { nir: NIR, rang: 1 },
    adherentId: 'A001',
    careDate: '2025-03-03',
    actCode: 'G',
    poste: 'soins.generalistes',
    status: 'paid',
    reason: null,
    expense: '40.00',
    roAmount: '21.00',
    amcAmount: '19.00',
    parts: [{ contract: 'CCN-HLA-OPT2', amount: '19.00' }],
    restToPay: '0.00',
    payee: `ps:${PS}`,
    counters: [],
    version: 1,
    operation: 'I',
    tp: '15',
    psId: PS,
    ...over,
  };
}

/** A value's JSON as the bytes a raw reader of the bus is handed. */
export const jsonBytes = (v: object) => new TextEncoder().encode(JSON.stringify(v));

/** The settlement without these fields (an optional field absent, or a value a raw reader must refuse). */
export function without<K extends keyof Settlement>(s: Settlement, ...keys: K[]): Settlement {
  const out = { ...s };
  for (const k of keys) delete out[k];
  return out;
}

export function claim(over: Partial<TpClaim> = {}): TpClaim {
  return {
    tpClaimId: 'C1',
    operator: 'OPTP',
    psId: PS,
    nir: NIR,
    rang: 1,
    careDate: '2025-03-03',
    actCode: 'G',
    invoiceNo: null,
    amcAmountClaimed: '19.00',
    paidOn: null,
    ...over,
  };
}

export const at = (day: string, time = '09:00:00') => `${day}T${time}.000Z`;
export const S = (settlement: Settlement, when = at('2025-03-10')): ReconEvent => ({ kind: 'settlement', settlement, at: when });
export const C = (c: TpClaim, when = at('2025-03-05')): ReconEvent => ({ kind: 'claim', claim: c, at: when });
export const T = (now: string): ReconEvent => ({ kind: 'tick', now });

/** Runs `given` events, then `when` events; returns the outcomes of `when` only, and the final state. */
export function scenario(given: ReconEvent[], when: ReconEvent[], config: ReconConfig = DEFAULT_RECON_CONFIG) {
  const before = decideAll(initialReconState(), given, config);
  const after = decideAll(before.state, when, config);
  return { given: before, outcomes: after.outcomes, state: after.state };
}
