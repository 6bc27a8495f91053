/**
 * Maps keyed by data (lineKey → entry, tpClaimId → claim) kept as plain objects (ReconState is
 * plain JSON), but made WITHOUT a prototype: V8 keeps such an object in dictionary mode from the
 * start, so adding a key is a hash-table insert. An object literal (`{}`, `{ ...o }`) instead gets a
 * new hidden class for every key name it is given, and each beneficiary's keys are new names:
 * ≈ 3.6 µs against 1.4 µs per object with two keys (bench/README.md, "Session 13 — reconciliation"),
 * hidden classes the GC then collects. Equal to a literal for JSON, `Object.keys`, `for…in`,
 * `Object.hasOwn` and `toEqual`.
 */
export function emptyDict<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** A dictionary-mode copy of `from` (its own enumerable keys). */
export function copyDict<V>(from: Readonly<Record<string, V>>): Record<string, V> {
  const out = emptyDict<V>();
  for (const k in from) out[k] = from[k]!;
  return out;
}
