import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GridSchema, type Grid, type GridSet } from '../../model/grid.js';
import { fromZodIssues, type RejectedRecord } from '../../model/issues.js';
import { ReferenceDataError } from './csv-table.js';

/**
 * fixtures/grids/*.json → GridSet, each file validated with the zod GridSchema (the JSON Schema in
 * schemas/grid.schema.json is generated from it). Strict: a grid with any issue refuses the set —
 * paying under a half-read grid is worse than not paying. Errors name the file, the rule (number
 * and id) and the field: `CCN-HLA-OPT1.json rule 14 (soins.generalistes), field formula.0.pct: …`.
 * Grid files are small; each is read whole.
 */

export type { Grid, GridSet };

/** Validates one grid document; `file` names it in the issues. */
export function parseGrid(json: unknown, file: string): { grid: Grid } | { rejected: RejectedRecord[] } {
  const parsed = GridSchema.safeParse(json, { reportInput: true });
  if (parsed.success) {
    const expected = `${parsed.data.id}.json`;
    if (basename(file) !== expected) {
      return { rejected: [{ origin: { file, record: 0 }, issues: [{ code: 'file_name', path: ['id'], input: parsed.data.id, message: `grid ${parsed.data.id} must be in a file named ${expected}` }] }] };
    }
    return { grid: parsed.data };
  }
  // One RejectedRecord per rule (record = 1-based rule number; 0 for grid-level fields).
  const byRule = new Map<number, RejectedRecord>();
  for (const issue of fromZodIssues(parsed.error.issues)) {
    const ruleIndex = issue.path[0] === 'rules' && typeof issue.path[1] === 'number' ? issue.path[1] : -1;
    const record = byRule.get(ruleIndex) ?? { origin: { file, record: ruleIndex + 1 }, issues: [] };
    record.issues.push(issue);
    byRule.set(ruleIndex, record);
  }
  return { rejected: [...byRule.values()].sort((a, b) => a.origin.record - b.origin.record) };
}

function describe(r: RejectedRecord, json: unknown): string[] {
  const rules = (json as { rules?: { id?: unknown }[] } | null)?.rules;
  const ruleId = r.origin.record > 0 && Array.isArray(rules) ? rules[r.origin.record - 1]?.id : undefined;
  const where = r.origin.record > 0 ? ` rule ${r.origin.record}${typeof ruleId === 'string' ? ` (${ruleId})` : ''}` : '';
  return r.issues.map((i) => {
    const path = r.origin.record > 0 ? i.path.slice(2) : i.path;
    const field = path.length > 0 ? `, field ${path.join('.')}` : '';
    const value = i.input === undefined || typeof i.input === 'object' ? '' : ` (value ${JSON.stringify(i.input)})`;
    return `${basename(r.origin.file)}${where}${field}: ${i.message}${value}`;
  });
}

export async function loadGrid(file: string): Promise<Grid> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const io = (e as NodeJS.ErrnoException).code !== undefined;
    throw new ReferenceDataError(io ? 'REFERENCE_IO' : 'REFERENCE_INVALID', `${file}: ${io ? 'cannot read the grid' : 'not valid JSON'}: ${(e as Error).message}`, { file }, [], e);
  }
  const result = parseGrid(json, file);
  if ('grid' in result) return result.grid;
  const lines = result.rejected.flatMap((r) => describe(r, json));
  const shown = lines.slice(0, 10).map((l) => `  ${l}`).join('\n');
  const more = lines.length > 10 ? `\n  … and ${lines.length - 10} more issue(s)` : '';
  const first = result.rejected[0];
  throw new ReferenceDataError('REFERENCE_INVALID', `${file}: invalid guarantee grid:\n${shown}${more}`, { file, record: first?.origin.record, field: first?.issues[0]?.path.join('.') }, result.rejected);
}

/** Every `*.json` of a directory, in name order; two files with one grid id refuse the set. */
export async function loadGrids(dir: string): Promise<GridSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    throw new ReferenceDataError('REFERENCE_IO', `${dir}: cannot list the grids directory: ${(e as Error).message}`, { file: dir }, [], e);
  }
  if (names.length === 0) throw new ReferenceDataError('REFERENCE_INVALID', `${dir}: no grid (*.json) found`, { file: dir });
  const grids: Record<string, Grid> = {};
  for (const name of names) {
    const grid = await loadGrid(join(dir, name));
    if (Object.hasOwn(grids, grid.id)) throw new ReferenceDataError('REFERENCE_INVALID', `${join(dir, name)}: grid id ${grid.id} is already defined`, { file: join(dir, name), field: 'id' });
    grids[grid.id] = grid;
  }
  return Object.freeze(grids);
}
