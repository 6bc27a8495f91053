import { addDays } from '../model/dates.js';
import type { Grid, GridRule, GridSet } from '../model/grid.js';
import { contentHash } from './reference-store.js';

/**
 * Which care dates a new grids version decides differently from the previous one (src/pipeline/README.md
 * "Grid correction"): per grid id (a contract level), the FIRST care date on or before `until` whose
 * rules in force differ. A line whose care date is before it is decided by the same rules under
 * both versions; a line on or after it may not be.
 *
 * "Rules in force on D" is what the engine reads (src/engine/conditions.ts): the grid's rules whose
 * `effective` holds D, IN FILE ORDER (the first rule of a poste whose conditions hold applies), without
 * their `note` (a comment decides nothing) nor their `effective` (a rule cut in two at a date
 * decides the days before the cut as it did). They can only change at a rule's `from` or the day after a
 * rule's `to`, so comparing the two versions at those dates finds the first one. The grid's other
 * fields (includesRO, yearBasis, eligibility, waiting periods, prorating) apply to every date: one of
 * them changed, the grid changed from its earliest rule. A grid added or removed changed from its
 * earliest rule too (members holding it went to review, or will). Label, insurer and note decide
 * nothing and are ignored.
 */
export function gridChanges(previous: GridSet, next: GridSet, until: string): Map<string, string> {
  const changes = new Map<string, string>();
  for (const id of new Set([...Object.keys(previous), ...Object.keys(next)])) {
    const from = firstChange(Object.hasOwn(previous, id) ? previous[id] : undefined, Object.hasOwn(next, id) ? next[id] : undefined);
    if (from !== null && from <= until) changes.set(id, from);
  }
  return changes;
}

function firstChange(a: Grid | undefined, b: Grid | undefined): string | null {
  if (a === undefined || b === undefined) return earliest((a ?? b)!.rules);
  if (contentHash(settingsOf(a)) !== contentHash(settingsOf(b))) return earliest([...a.rules, ...b.rules]);
  const dates = new Set<string>();
  for (const r of [...a.rules, ...b.rules]) {
    dates.add(r.effective.from);
    if (r.effective.to !== null) dates.add(addDays(r.effective.to, 1));
  }
  for (const d of [...dates].sort()) {
    if (inForce(a, d) !== inForce(b, d)) return d;
  }
  return null;
}

/** What decides every date alike: the grid without its rules and its words. */
function settingsOf(g: Grid): unknown {
  const { rules: _rules, label: _label, insurer: _insurer, note: _note, ...settings } = g;
  return settings;
}

const holds = (r: GridRule, d: string) => r.effective.from <= d && (r.effective.to === null || d <= r.effective.to);

/** The rules in force on `d`, in file order, as one hash. */
function inForce(g: Grid, d: string): string {
  return contentHash(g.rules.filter((r) => holds(r, d)).map(({ note: _note, effective: _effective, ...rule }) => rule));
}

function earliest(rules: readonly GridRule[]): string {
  return rules.map((r) => r.effective.from).sort()[0]!;
}
