import { electronicFormatIBAN, isSEPACountry, isValidBIC, isValidIBAN } from 'ibantools';
import type { PayeeAccount } from '../model/payment.js';
import type { Beneficiary } from '../model/reference.js';
import type { AccountBook } from './types.js';

/**
 * Accounts of payees. IBAN and BIC are checked with `ibantools` (ISO 13616 mod-97 check digits plus
 * the country's BBAN length and format; ISO 9362 BIC shape), not by hand: the country table is the
 * part that is easy to get wrong.
 */

/** The problem with an account, in plain words, or null when it can receive a SEPA credit transfer. */
export function accountProblem(account: PayeeAccount | undefined): string | null {
  if (!account) return 'no account known';
  const iban = electronicFormatIBAN(account.iban) ?? account.iban;
  if (!isValidIBAN(iban)) return 'invalid IBAN (mod-97 check digits or country format)';
  if (!isSEPACountry(iban.slice(0, 2))) return `IBAN country ${iban.slice(0, 2)} is outside the SEPA zone`;
  if (account.bic !== null && !isValidBIC(account.bic)) return 'invalid BIC (8 or 11 characters, ISO 9362)';
  return null;
}

/** The account in electronic format (no spaces, upper case), as the SEPA file wants it. */
export function normaliseAccount(account: PayeeAccount): PayeeAccount {
  return { ...account, iban: electronicFormatIBAN(account.iban) ?? account.iban, bic: account.bic === null ? null : account.bic.toUpperCase() };
}

/**
 * One IBAN per family: the adhérent's (role A) row; when that row has none, the first family row
 * that has one (the file keeps the family's RIB on one row in practice, not always the holder's).
 */
export function familyAccounts(beneficiaries: Iterable<Beneficiary>): Record<string, PayeeAccount> {
  const byFamily = new Map<string, Beneficiary[]>();
  for (const b of beneficiaries) {
    const family = byFamily.get(b.adherentId);
    if (family) family.push(b);
    else byFamily.set(b.adherentId, [b]);
  }
  const accounts: Record<string, PayeeAccount> = {};
  for (const [adherentId, family] of byFamily) {
    const holder = family.find((b) => b.role === 'A');
    const withIban = holder?.iban ? holder : family.find((b) => b.iban !== null);
    if (withIban?.iban) accounts[adherentId] = { iban: withIban.iban, bic: withIban.bic, name: (holder ?? withIban).name };
  }
  return accounts;
}

export function accountBook(beneficiaries: Iterable<Beneficiary>, professionals: Readonly<Record<string, PayeeAccount>> = {}): AccountBook {
  return { members: familyAccounts(beneficiaries), professionals };
}

export function accountOf(book: AccountBook, payee: string): PayeeAccount | undefined {
  const [kind, ...rest] = payee.split(':');
  const id = rest.join(':');
  if (kind !== 'ps' && book.memberAccount !== undefined) return book.memberAccount(id);
  const table = kind === 'ps' ? book.professionals : book.members;
  return Object.hasOwn(table, id) ? table[id] : undefined;
}
