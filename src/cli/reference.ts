import { resolve } from 'node:path';
import { loadBeneficiaries, type BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { loadReference as loadEngineReference } from '../pipeline/reference.js';
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
  const [beneficiaries, engine] = await Promise.all([
    loadBeneficiaries(resolve(p.beneficiaries)),
    // the same loader the pool's workers use, so a CLI run and the service read reference data alike
    loadEngineReference({ gridsDir: resolve(p.grids), nomenclatureFile: resolve(p.nomenclature), pmssFile: resolve(p.pmss) }),
  ]);
  return { beneficiaries: beneficiaries.index, ...engine };
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
