import type { Beneficiary } from '../../src/model/reference.js';
import { settlement } from './stages-given.js';

/** The statement suites' three families: A9 and C3 with an account, B7 without (its payments are blocked). */
export const IBAN = 'FR7630006000011234567890189';
export const person = (adherentId: string, nir: string, iban: string | null): Beneficiary => ({ adherentId, nir, nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A', contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban, bic: null, name: `Famille ${adherentId}` });
export const A9 = person('A9', '1850375123456', IBAN);
export const B7 = person('B7', '2850375123457', null);
export const C3 = person('C3', '1850375123458', IBAN);
/** a member-paid settlement of `p` for `amcAmount` */
export const line = (lineKey: string, p: Beneficiary, amcAmount: string, careDate = '2025-03-10') => settlement({ lineKey, beneficiary: { nir: p.nir, rang: 1 }, adherentId: p.adherentId, tp: '00', payee: 'member', amcAmount, careDate });
