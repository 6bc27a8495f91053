import { resolve } from 'node:path';
import { loadBeneficiaries, type BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { PmssTable } from '../model/reference.js';
import { chooseReference, homeOf } from './home-reference.js';

/**
 * Where the members file lives by default (the membership feed of issue 10 replaces it). Grids,
 * nomenclature and PMSS have NO default file: they are the home's reference data
 * (src/cli/home-reference.ts), or the files named by their flags.
 */
export const DEFAULT_REFERENCE = {
  beneficiaries: 'fixtures/sample/beneficiaries.csv',
} as const;

export interface ReferencePaths {
  beneficiaries?: string | undefined;
  grids?: string | undefined;
  nomenclature?: string | undefined;
  pmss?: string | undefined;
  home?: string | undefined;
  sample?: boolean | undefined;
}

export interface Reference {
  beneficiaries: BeneficiaryIndex;
  grids: GridSet;
  nomenclature: Nomenclature;
  pmss: PmssTable;
}

/**
 * Loads and validates every reference the engine needs; any error names the file, line and field
 * (ReferenceDataError); a kind neither given nor in the home is REFERENCE_MISSING.
 */
export async function loadReference(paths: ReferencePaths = {}): Promise<Reference> {
  const [beneficiaries, engine] = await Promise.all([
    loadBeneficiaries(resolve(paths.beneficiaries ?? DEFAULT_REFERENCE.beneficiaries)),
    // the same loaders (and the same versions) the liquidation service's workers use
    chooseReference(['grids', 'nomenclature', 'pmss'], { home: homeOf(paths.home), sample: paths.sample, files: { grids: paths.grids, nomenclature: paths.nomenclature, pmss: paths.pmss } }),
  ]);
  return { beneficiaries: beneficiaries.index, ...engine.data };
}

export const REFERENCE_FLAGS = {
  beneficiaries: { type: 'string' },
  grids: { type: 'string' },
  nomenclature: { type: 'string' },
  pmss: { type: 'string' },
  home: { type: 'string' },
  sample: { type: 'boolean' },
} as const;

export const REFERENCE_USAGE = `  --beneficiaries <csv>  default ${DEFAULT_REFERENCE.beneficiaries}
  --grids <dir>          guarantee grids; default: the home's version in force (noemie reference show)
  --nomenclature <csv>   default: the home's version in force
  --pmss <csv>           default: the home's version in force
  --home <dir>           the home whose reference data is read, default NOEMIE_HOME (var/)
  --sample               publish the repository's sample grids, nomenclature, PMSS and professionals
                         into the home first (without it, a home with no reference data is an error)`;
