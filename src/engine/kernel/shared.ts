import type { ActLine } from '../../model/act-line.js';
import type { Beneficiary } from '../../model/reference.js';
import type { SettlementPart } from '../../model/settlement.js';
import { flat } from './cents.js';
import type { Digester } from './digest.js';

/**
 * Objects that many settlements and ledger records hold with the same content, made once and then
 * shared (frozen), instead of one copy per line. Why (bench/README.md "Session 15 — kernel"): about
 * a quarter of the kernel's process CPU is the garbage collector's helper threads, and what they
 * do grows with what each line leaves alive until its batch is handed on (the settlement, the
 * ledger record and what they point to, ≈ 1.1 KB a line): every such object is copied by each
 * young-generation GC it lives through. A shared object is old after its first batch and copied
 * no more. JSON and structured clone see the same data; the objects are frozen because nobody may
 * change a settlement's or a record's parts in place (a change would reach every line sharing them).
 */

/** What the kernel keeps per beneficiary object: its input-hash token and the settlement's `beneficiary`. */
export interface Person {
  /** `#` and the beneficiary's digest: its token in the decision's input hash */
  readonly token: string;
  /** `{ nir, rang }` of the beneficiary, shared by its settlements */
  readonly who: Readonly<{ nir: string; rang: number }>;
}

export class People {
  private readonly byBeneficiary = new WeakMap<Beneficiary, Person>();

  constructor(private readonly digester: Digester) {}

  of(b: Beneficiary): Person {
    let p = this.byBeneficiary.get(b);
    if (p === undefined) {
      p = { token: flat(`#${this.digester.digestOnce(b)}`), who: Object.freeze({ nir: b.nir, rang: b.rang }) };
      this.byBeneficiary.set(b, p);
    }
    return p;
  }
}

/** A settlement's `beneficiary` for `line`: the person's shared one when it names the same NIR and rang (always, when the lookup found the person by them). */
export function whoOf(person: Person | undefined, line: ActLine): Readonly<{ nir: string; rang: number }> {
  if (person !== undefined && person.who.nir === line.nir && person.who.rang === line.rang) return person.who;
  return { nir: line.nir, rang: line.rang };
}

/** A rule's parts by amount: the ledger's part (no formula) and the list of that one part. */
interface Shared {
  readonly part: SettlementPart;
  readonly alone: readonly SettlementPart[];
}

// Per (contract, rule) at most this many amounts are kept: a bound on the memo, not a rule.
const AMOUNTS_PER_RULE = 4096;

/**
 * liquidate.ts `ledgerPart` for the kernel's parts (never sliced): `{ contract, amount, rule }`, the
 * formula left in the settlement. One frozen object per (contract, rule, amount) — amounts repeat
 * (a consultation's 7.95, a pharmacy line's 3.78…) — and, for a line with one part, one frozen list.
 */
export class LedgerParts {
  private readonly byContract = new Map<string, Map<string, Map<string, Shared>>>();

  of(parts: readonly SettlementPart[]): SettlementPart[] {
    if (parts.length === 1) return this.shared(parts[0]!).alone as SettlementPart[];
    const out: SettlementPart[] = new Array(parts.length);
    for (let i = 0; i < parts.length; i++) out[i] = this.shared(parts[i]!).part;
    return out;
  }

  private shared(p: SettlementPart): Shared {
    let byRule = this.byContract.get(p.contract);
    if (byRule === undefined) this.byContract.set(p.contract, (byRule = new Map()));
    const rule = p.rule ?? '';
    let byAmount = byRule.get(rule);
    if (byAmount === undefined) byRule.set(rule, (byAmount = new Map()));
    let s = byAmount.get(p.amount);
    if (s === undefined) {
      const part: SettlementPart = Object.freeze(p.rule !== undefined ? { contract: p.contract, amount: p.amount, rule: p.rule } : { contract: p.contract, amount: p.amount });
      s = { part, alone: Object.freeze([part]) as readonly SettlementPart[] };
      if (byAmount.size < AMOUNTS_PER_RULE) byAmount.set(p.amount, s);
    }
    return s;
  }
}
