import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { categoryOfReason, CONTRACT_MEMBER_TEXT, memberReasons, NEUTRAL_MEMBER_TEXT, REASON_CATEGORIES } from '../../src/statement/index.js';

/**
 * Every reason shape the engine emits has a member text. The engine's reason templates are read
 * from its source (src/engine/*.ts): each string or template literal on a line that builds a
 * reason (`reason`, `review`, `why`, `reasons.push`, `items.push`, `problems.push`, `only(s, …)`,
 * `unchanged(…)`, a `return` of a text or of a ternary between texts), with every `${…}` replaced by "X". A new
 * reason in the engine without a category here fails this test.
 */
const ENGINE = join(import.meta.dirname, '../../src/engine');
const REASON_LINE = /reason|review|\bwhy\b|\.push\(|only\(s,|unchanged\(|return [`']|return [\w.]+ \? [`']/;
/** literals on such lines that are not reasons: formula texts (`formula:`), hash keys, and labels */
const NOT_A_REASON = [/^X: TM only; X$/, /^renewal\|/, /^X, X XX \(period X\)$/, /^X not prorated:/];
/** pieces of a reason, not reasons: joined into one by their caller (plausibility's problems, a condition's band) */
const PIECES = [/^(quantity|coefficient|expense|br|ro_amount) X is /, /^(aged X to X|aged X and over|under X)$/, /^X of act X$/, /^ \(default of X\)$/, /^X, X: X$/, /^ \(X\)$/, /^ already reimbursed on X;/, /^, the rest is paid at the rate beyond the limit$/, /^, X to recover \(X\)$/];

/** String and template literals of a source file, with their line, `${…}` (nested) replaced by X. */
function literals(source: string): { line: number; text: string; before: string }[] {
  const out: { line: number; text: string; before: string }[] = [];
  let i = 0;
  const lineAt = (k: number) => source.slice(0, k).split('\n').length;
  const readTemplate = (start: number): [string, number] => {
    let text = '';
    let k = start + 1;
    while (k < source.length && source[k] !== '`') {
      if (source[k] === '\\') { text += source.slice(k, k + 2); k += 2; continue; }
      if (source[k] === '$' && source[k + 1] === '{') {
        let depth = 1;
        k += 2;
        while (k < source.length && depth > 0) {
          if (source[k] === '`') { k = readTemplate(k)[1]; continue; }
          if (source[k] === "'" || source[k] === '"') { const q = source[k]; k++; while (source[k] !== q) k += source[k] === '\\' ? 2 : 1; k++; continue; }
          if (source[k] === '{') depth++;
          if (source[k] === '}') depth--;
          k++;
        }
        text += 'X';
        continue;
      }
      text += source[k];
      k++;
    }
    return [text, k + 1];
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '/' && source[i + 1] === '/') { i = source.indexOf('\n', i); if (i < 0) break; continue; }
    if (c === '/' && source[i + 1] === '*') { i = source.indexOf('*/', i) + 2; continue; }
    if (c === '`') {
      const [text, end] = readTemplate(i);
      out.push({ line: lineAt(i), text, before: source.slice(source.lastIndexOf('\n', i) + 1, i) });
      i = end;
      continue;
    }
    if (c === "'" || c === '"') {
      let k = i + 1;
      while (k < source.length && source[k] !== c && source[k] !== '\n') k += source[k] === '\\' ? 2 : 1;
      out.push({ line: lineAt(i), text: source.slice(i + 1, k), before: source.slice(source.lastIndexOf('\n', i) + 1, i) });
      i = k + 1;
      continue;
    }
    i++;
  }
  return out;
}

function engineReasons(): string[] {
  const found: string[] = [];
  for (const file of readdirSync(ENGINE).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(ENGINE, file), 'utf8');
    const lines = source.split('\n');
    for (const l of literals(source)) {
      if (!REASON_LINE.test(lines[l.line - 1]!)) continue;
      // formula texts (the settlement's `formula`, level notes and term pieces feed it), errors, hash inputs
      if (/formula: *$|(pieces|notes)\.push\($|(text|label) = $|throw new \w*Error\(\s*$|reads: /.test(l.before)) continue;
      if (l.text.trim().split(/\s+/).length < 3) continue;
      if ([...NOT_A_REASON, ...PIECES].some((p) => p.test(l.text))) continue;
      found.push(`${file}:${l.line}: ${l.text}`);
    }
  }
  return found;
}

describe('engine reasons → member texts', () => {
  const reasons = engineReasons();

  it('finds the engine’s reason templates (the extraction itself works)', () => {
    // a few known ones, so an extraction that finds nothing cannot pass the next test
    expect(reasons.length).toBeGreaterThan(30);
    expect(reasons.some((r) => r.includes('map it, then replay the line'))).toBe(true);
    expect(reasons.some((r) => r.includes('check the membership before paying'))).toBe(true);
    expect(reasons.some((r) => r.includes('is never covered (contrat responsable)'))).toBe(true);
    expect(reasons.some((r) => r.includes('the guarantee is for OPTAM/OPTAM-CO (DPTM) professionals only'))).toBe(true); // a ternary branch
  });

  it('every reason shape the engine emits has a category, hence a member text', () => {
    const unmapped = reasons.filter((r) => categoryOfReason(r.slice(r.indexOf(': ') + 2)) === null);
    expect(unmapped).toEqual([]);
  });

  it('no member text carries an operator word, a code or a field name', () => {
    for (const c of REASON_CATEGORIES) expect(c.member, c.id).not.toMatch(/replay|map it|nomenclature|check the|membership|[a-z]+_[a-z]+|\bRO\b|version|[A-Z]{2,}\d/);
  });

  it('review and rejected lines: one member text, the neutral one when the detail is ours', () => {
    expect(memberReasons('act code ZZZ is not in the nomenclature: no poste to apply; map it, then replay the line', 'review')).toEqual([NEUTRAL_MEMBER_TEXT]);
    expect(memberReasons('member number A9 on the line disagrees with the membership file, where this beneficiary (rang 1) belongs to adhérent A1: check the membership before paying', 'review'))
      .toEqual(['Dossier en cours d’examen : vérification de votre affiliation par nos services']);
    expect(memberReasons('something the engine will say one day', 'review')).toEqual([NEUTRAL_MEMBER_TEXT]);
    expect(memberReasons('claim time-barred: care on 2022-01-03 is more than 2 years before 2025-01-10 (prescription biennale)', 'rejected'))
      .toEqual(['Demande reçue plus de deux ans après les soins (prescription biennale)']);
  });

  it('paid lines: each item of the reason mapped once, in order; the contract text when none maps', () => {
    expect(memberReasons('participation forfaitaire 2.00 is never covered (contrat responsable); franchise médicale 0.50 is never covered (contrat responsable); participation forfaitaire 1.00 is never covered (contrat responsable)', 'paid'))
      .toEqual(['Participation forfaitaire : jamais remboursée (contrat responsable)', 'Franchise médicale : jamais remboursée (contrat responsable)']);
    expect(memberReasons('renewal period not over: monture already reimbursed on 2024-01-01; next one from 2026-01-01 (one per 24 months at age 40); an earlier renewal needs a prescription', 'zero'))
      .toEqual(['Renouvellement avant le délai prévu par votre contrat']);
    expect(memberReasons('a reason of a new kind', 'paid')).toEqual([CONTRACT_MEMBER_TEXT]);
    expect(memberReasons(null, 'paid')).toEqual([]);
  });
});
