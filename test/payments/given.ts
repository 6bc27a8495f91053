import type { ReconOutcome } from '../../src/model/reconciliation.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { Settlement } from '../../src/model/settlement.js';
import { accountBook, applyPaymentEvents, initialLedger, type PaymentEvent, type PaymentsLedger } from '../../src/payments/index.js';
import { ibanCheckDigits } from '../../src/generate/identity.js';

/** A family (adhérent + twins, one IBAN on the adhérent's row) and a professional with its own account. */

/** A valid French IBAN per n (RIB key, then the ISO 13616 check digits). */
export function IBAN(n: number): string {
  const [bank, branch, account] = ['30006', '00001', `123456789${String(n).padStart(2, '0')}`];
  const ribKey = 97n - ((89n * BigInt(bank) + 15n * BigInt(branch) + 3n * BigInt(account)) % 97n);
  const bban = `${bank}${branch}${account}${String(ribKey).padStart(2, '0')}`;
  return `FR${ibanCheckDigits('FR', bban)}${bban}`;
}

export const FAMILY_IBAN = 'FR7630006000011234567890189';
export const PS_IBAN = 'FR1420041010050500013M02606';
export const DEBTOR_IBAN = 'FR7630004000031234567890143';
export const PS = '751234567';

const person = (over: Partial<Beneficiary>): Beneficiary => ({
  adherentId: 'A001',
  nir: '1850575123456',
  nirKey: '00',
  rang: 1,
  birthDate: '1985-05-12',
  role: 'A',
  contracts: ['CCN-HLA-OPT2'],
  start: '2024-01-01',
  end: null,
  suspended: [],
  noemie: true,
  iban: null,
  bic: null,
  name: 'x',
  ...over,
});

export const FAMILY: Beneficiary[] = [
  person({ role: 'A', iban: FAMILY_IBAN, bic: 'AGRIFRPP', name: 'Élodie Martin' }),
  person({ role: 'E', nir: '2150575999999', rang: 1, birthDate: '2015-06-01', name: 'Léa Martin' }),
  person({ role: 'E', nir: '2150575999999', rang: 2, birthDate: '2015-06-01', name: 'Zoé Martin' }),
];

export const ACCOUNTS = accountBook(FAMILY, { [PS]: { iban: PS_IBAN, bic: 'BNPAFRPPXXX', name: 'Cabinet Dr Dupont' } });

/** A member (non tiers-payant) settlement for one of the twins. */
export function settled(over: Partial<Settlement> = {}): Settlement {
  return {
    lineKey: 'noemie-011751001:D100:1',
    beneficiary: { nir: '2150575999999', rang: 1 },
    adherentId: 'A001',
    careDate: '2025-03-03',
    actCode: 'G',
    poste: 'soins.generalistes',
    status: 'paid',
    reason: null,
    expense: '40.00',
    roAmount: '21.00',
    amcAmount: '9.00',
    parts: [{ contract: 'CCN-HLA-OPT2', amount: '9.00' }],
    restToPay: '10.00',
    payee: 'member',
    counters: [],
    version: 1,
    operation: 'I',
    tp: '00',
    psId: PS,
    ...over,
  };
}

export function outcome(over: Partial<ReconOutcome> & Pick<ReconOutcome, 'kind'>): ReconOutcome {
  return {
    outcomeId: `${over.kind}|x`,
    at: '2025-03-10T09:00:00.000Z',
    beneficiary: { nir: '2150575999999', rang: 1 },
    lineKey: 'noemie-011751001:D900:1',
    version: 1,
    tpClaimId: 'C1',
    psId: PS,
    payee: `ps:${PS}`,
    amount: '19.00',
    entitled: '19.00',
    claimed: '19.00',
    owed: '19.00',
    claimPaidOn: null,
    reason: 'test',
    ...over,
  };
}

export const S = (settlement: Settlement): PaymentEvent => ({ kind: 'settlement', settlement });
export const O = (o: ReconOutcome): PaymentEvent => ({ kind: 'reconciliation', outcome: o });

export function ledgerWith(events: PaymentEvent[], from: PaymentsLedger = initialLedger()): PaymentsLedger {
  return applyPaymentEvents(from, events);
}

export const run = (runId: string, day = '2025-03-31') => ({ runId, at: `${day}T18:00:00.000Z`, accounts: ACCOUNTS });
