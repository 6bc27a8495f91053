import { resolve } from 'node:path';
import { loadBeneficiaries, type BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { loadGrids } from '../ingest/reference/grids.js';
import { loadNomenclature } from '../ingest/reference/nomenclature.js';
import { loadPmss } from '../ingest/reference/pmss.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { PmssTable } from '../model/reference.js';

/** Where reference data lives by default: the committed fixtures (the sample portfolio). */
export const DEFAULT_REFERENCE = {
  beneficiaries: 'fixtures/sample/beneficiaries.csv',
  grids: 'fixtures/grids',
  nomenclature: 'fixtures/nomenclature.csv',
  pmss: 'fixtures/pmss.csv',
} as const;

export interface ReferencePaths {
  beneficiaries?: string | undefined;
  grids?: string | undefined;
  nomenclature?: string | undefined;
  pmss?: string | undefined;
}

export interface Reference {
  beneficiaries: BeneficiaryIndex;
  grids: GridSet;
  nomenclature: Nomenclature;
  pmss: PmssTable;
}

/** Loads and validates every reference file; any error names the file, line and field (ReferenceDataError). */
export async function loadReference(paths: ReferencePaths = {}): Promise<Reference> {
  const p = { ...DEFAULT_REFERENCE, ...Object.fromEntries(Object.entries(paths).filter(([, v]) => v !== undefined)) };
  const [beneficiaries, grids, nomenclature, pmss] = await Promise.all([
    loadBeneficiaries(resolve(p.beneficiaries)),
    loadGrids(resolve(p.grids)),
    loadNomenclature(resolve(p.nomenclature)),
    loadPmss(resolve(p.pmss)),
  ]);
  return { beneficiaries: beneficiaries.index, grids, nomenclature, pmss };
}

export const REFERENCE_FLAGS = {
  beneficiaries: { type: 'string' },
  grids: { type: 'string' },
  nomenclature: { type: 'string' },
  pmss: { type: 'string' },
} as const;

export const REFERENCE_USAGE = `  --beneficiaries <csv>  default ${DEFAULT_REFERENCE.beneficiaries}
  --grids <dir>          default ${DEFAULT_REFERENCE.grids}
  --nomenclature <csv>   default ${DEFAULT_REFERENCE.nomenclature}
  --pmss <csv>           default ${DEFAULT_REFERENCE.pmss}`;
