import { readFileSync } from 'node:fs';
import { parseNomenclature } from '../ingest/reference/nomenclature.js';
import type { NomenclatureEntry } from '../model/nomenclature.js';

/**
 * fixtures/nomenclature.csv as the generator needs it: which act codes exist under each poste and
 * the RO rate of a normal line. Read at run time with the pipeline's own loader (same validation),
 * so a code added to the table is generated too. Synchronous on purpose: a few KB, read once a run.
 */
export type { NomenclatureEntry };

export class Nomenclature {
  readonly entries: readonly NomenclatureEntry[];
  private readonly byCode: Map<string, NomenclatureEntry>;

  constructor(entries: readonly NomenclatureEntry[]) {
    this.entries = entries;
    this.byCode = new Map(entries.map((e) => [e.actCode, e]));
  }

  get(actCode: string): NomenclatureEntry {
    const e = this.byCode.get(actCode);
    if (!e) throw new Error(`act code ${actCode} is not in the nomenclature`);
    return e;
  }

  has(actCode: string): boolean {
    return this.byCode.has(actCode);
  }

  postes(): string[] {
    return [...new Set(this.entries.map((e) => e.poste))];
  }
}

export function readNomenclature(path: string): Nomenclature {
  // Entries in act-code order: the rotation of focused codes must not depend on the table's row order.
  const table = parseNomenclature(readFileSync(path, 'utf8'), path);
  return new Nomenclature(Object.values(table).sort((a, b) => (a.actCode < b.actCode ? -1 : a.actCode > b.actCode ? 1 : 0)));
}
