import type { ActLine } from '../../model/act-line.js';
import type { Beneficiary } from '../../model/reference.js';
import { flat } from './cents.js';
import type { Digester } from './digest.js';

/**
 * What the kernel keeps per beneficiary object, found by the one WeakMap lookup a line already made
 * for its input-hash token: the token, and the settlement's `beneficiary` object, shared (frozen) by
 * every settlement of that person instead of one `{ nir, rang }` per line. Why (bench/README.md
 * "Session 15 — kernel"): a quarter to a third of the kernel's process CPU is the garbage collector
 * (its helper threads included), and what it does grows with what each line leaves alive until its
 * batch is handed on (≈ 1.1 KB a line): a shared object is old after its first batch and copied no
 * more. JSON and structured clone see the same data; frozen, because a change would reach every
 * settlement of the person. (Shared ledger parts per rule and amount were tried and dropped: their
 * lookup cost as much as the copies they saved.)
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
