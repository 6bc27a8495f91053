import type { Money } from '../model/money.js';
import type { LineLedger } from './types.js';

/**
 * What each payee is entitled to for one line now, or why the line cannot be settled yet. Absent
 * payees are entitled to 0: whatever they were paid for the line is taken back.
 *
 * - annulled (operation A): nobody;
 * - under review: pending (a person decides, no money moves either way);
 * - tiers payant (tp 15/25): the professional, for what reconciliation says it is owed at this
 *   version (`matched` / `indu`); nobody while `held` or in `exception`; never the member;
 *   pending while reconciliation has not spoken for the current version;
 * - otherwise the family (`member:<adherentId>`): the AMC amount when the status is `paid`.
 */
export type Entitlement = { kind: 'due'; amounts: Record<string, Money> } | { kind: 'pending'; reason: string };

export function entitlementOf(line: LineLedger): Entitlement {
  const s = line.settlement;
  if (s === null) return { kind: 'pending', reason: 'reconciliation outcome received before the settlement' };
  if (s.annulled) return { kind: 'due', amounts: {} };
  if (s.status === 'review') return { kind: 'pending', reason: `version ${s.version} is under review` };
  if (s.tiersPayant) {
    const tp = line.tp;
    if (tp === null || tp.version !== s.version) return { kind: 'pending', reason: `tiers payant: awaiting reconciliation of version ${s.version}` };
    return { kind: 'due', amounts: tp.payee === null ? {} : { [tp.payee]: tp.owed } };
  }
  if (s.adherentId === null) return { kind: 'pending', reason: 'no adhérent known for the beneficiary: nobody to pay' };
  return { kind: 'due', amounts: { [`member:${s.adherentId}`]: s.status === 'paid' ? s.amcAmount : '0.00' } };
}
