import type { Conditions, GridRule } from '../model/grid.js';
import type { LineFacts } from './facts.js';

/**
 * Rule selection: among the rules of the line's poste in force on the date of care, the FIRST
 * whose conditions all hold. Specific rules (an age band, an attribute) come before general ones
 * in the grid file. `unmet` says in words why a rule does not apply (the reason of a zero).
 */

export function inForce(rule: GridRule, date: string): boolean {
  return rule.effective.from <= date && (rule.effective.to === null || date <= rule.effective.to);
}

export function unmet(c: Conditions | undefined, f: LineFacts): string | null {
  if (!c) return null;
  if (c.age) {
    const { from, below } = c.age;
    if ((from !== undefined && f.age < from) || (below !== undefined && f.age >= below)) {
      const band = from !== undefined && below !== undefined ? `aged ${from} to ${below - 1}` : from !== undefined ? `aged ${from} and over` : `under ${below}`;
      return `the guarantee is for beneficiaries ${band}, this one is ${f.age}`;
    }
  }
  if (c.dptm !== undefined && c.dptm !== f.line.psDptm) {
    return c.dptm ? 'the guarantee is for OPTAM/OPTAM-CO (DPTM) professionals only' : 'the guarantee is for non-DPTM professionals only';
  }
  if (c.setting !== undefined && c.setting !== f.setting) return `the guarantee applies in the ${c.setting} setting only`;
  if (c.accident !== undefined && c.accident !== f.line.accident) {
    return c.accident ? 'the guarantee applies to care following an accident only' : 'the guarantee does not apply to care following an accident';
  }
  // for…in over the own keys (Object.entries' order) rather than Object.entries: no list of pairs
  // per rule tried and line (conditions are read on every line, by both engines).
  const attributes = c.attributes;
  if (attributes) for (const k in attributes) {
    if (!Object.hasOwn(attributes, k)) continue;
    const v = attributes[k];
    const actual = Object.hasOwn(f.entry.attributes, k) ? f.entry.attributes[k] : undefined;
    if (actual !== v) return `the guarantee is for acts with ${k}=${v}, act ${f.line.actCode} has ${actual === undefined ? `no ${k}` : `${k}=${actual}`}`;
  }
  return null;
}

export type RuleChoice =
  | { kind: 'rule'; rule: GridRule }
  | { kind: 'none'; reason: string };

export function chooseRule(rules: readonly GridRule[], gridId: string, f: LineFacts): RuleChoice {
  const ofPoste = rules.filter((r) => r.poste === f.poste);
  if (ofPoste.length === 0) return { kind: 'none', reason: `${gridId} has no guarantee for ${f.poste} (act ${f.line.actCode})` };
  const current = ofPoste.filter((r) => inForce(r, f.careDate));
  if (current.length === 0) return { kind: 'none', reason: `no guarantee of ${gridId} for ${f.poste} was in force on ${f.careDate}` };
  const chosen = current.find((r) => unmet(r.conditions, f) === null);
  if (chosen) return { kind: 'rule', rule: chosen };
  const first = current[0]!;
  return { kind: 'none', reason: `${gridId}, ${f.poste}: ${unmet(first.conditions, f) ?? 'no rule applies'}` };
}
