import { accountBook } from '../../src/payments/index.js';
import type { AccountBook } from '../../src/payments/types.js';
import type { Beneficiary } from '../../src/model/reference.js';
import { settlement } from './stages-given.js';

/** Three families paid by one run (amounts chosen to be told apart), and the accounts they are paid to. */
export const IBAN = {
  A1: 'FR7630002005500000000000130',
  A2: 'FR7630002005500000000000227',
  A3: 'FR7630002005500000000000324',
  /** A2's or A3's new account, after the bank returned the old one */
  NEW: 'FR7630002005500000000000421',
} as const;

const holder = (adherentId: string, nir: string, iban: string, name: string): Beneficiary => ({
  adherentId, nir, nirKey: '00', rang: 1, birthDate: '1980-01-01', role: 'A', contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban, bic: null, name,
});

export const NIR = { A1: '1800175123401', A2: '2810275123402', A3: '1820375123403' } as const;

export function accounts(over: Partial<Record<'A1' | 'A2' | 'A3', string>> = {}): AccountBook {
  return accountBook([
    holder('A1', NIR.A1, over.A1 ?? IBAN.A1, 'Paul Martin'),
    holder('A2', NIR.A2, over.A2 ?? IBAN.A2, 'Claire Bernard'),
    holder('A3', NIR.A3, over.A3 ?? IBAN.A3, 'Luc Petit'),
  ]);
}

/** One paid line per family (direct payment to the member): A1 25.00, A2 40.50, A3 12.30. */
export const AMOUNTS = { A1: '25.00', A2: '40.50', A3: '12.30' } as const;

export const settlements = () =>
  (['A1', 'A2', 'A3'] as const).map((a) =>
    settlement({ lineKey: `n:D-${a}:1`, beneficiary: { nir: NIR[a], rang: 1 }, adherentId: a, tp: '00', payee: 'member', amcAmount: AMOUNTS[a] }),
  );
