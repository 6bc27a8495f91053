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
  const e = entitledOf(line);
  if (e.kind === 'pending') return e;
  return { kind: 'due', amounts: e.payee === null ? {} : { [e.payee]: e.amount } };
}

/**
 * `entitlementOf` as the run's hot paths read it (movementsOf, settledLineOf: twice per due line):
 * at most one payee is ever entitled, so its name and amount, not a map keyed by the payee — an
 * object literal with a computed key gets a hidden class per payee name (thousands in a run), and
 * every later read of it a megamorphic lookup (bench/README.md, "Session 13 — payments").
 */
export type Entitled = { kind: 'due'; payee: string | null; amount: Money } | { kind: 'pending'; reason: string };

const NOBODY: Entitled = { kind: 'due', payee: null, amount: '0.00' };

export function entitledOf(line: LineLedger): Entitled {
  const s = line.settlement;
  if (s === null) return { kind: 'pending', reason: 'reconciliation outcome received before the settlement' };
  if (s.annulled) return NOBODY;
  if (s.status === 'review') return { kind: 'pending', reason: `version ${s.version} is under review` };
  if (s.tiersPayant) {
    const tp = line.tp;
    if (tp === null || tp.version !== s.version) return { kind: 'pending', reason: `tiers payant: awaiting reconciliation of version ${s.version}` };
    return tp.payee === null ? NOBODY : { kind: 'due', payee: tp.payee, amount: tp.owed };
  }
  if (s.adherentId === null) return { kind: 'pending', reason: 'no adhérent known for the beneficiary: nobody to pay' };
  return { kind: 'due', payee: `member:${s.adherentId}`, amount: s.status === 'paid' ? s.amcAmount : '0.00' };
}
