import { resolve } from 'node:path';
import { loadBeneficiaries, type BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { MembershipStore } from '../pipeline/membership-store.js';
import { UsageError } from './command.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { PmssTable } from '../model/reference.js';
import { chooseReference, homeOf } from './home-reference.js';

/**
 * The sample's members file: read only when `--sample` says so. Members have no default
 * (issue 10): `--beneficiaries <csv>` names a file, else the home's membership store is read.
 * Grids, nomenclature and PMSS have NO default file either: they are the home's reference data
 * (src/cli/home-reference.ts), or the files named by their flags.
 */
export const SAMPLE_REFERENCE = {
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
  const members = paths.beneficiaries ?? (paths.sample ? SAMPLE_REFERENCE.beneficiaries : undefined);
  const [beneficiaries, engine] = await Promise.all([
    members !== undefined ? loadBeneficiaries(resolve(members)) : { index: homeMembers(homeOf(paths.home)) },
    // the same loaders (and the same versions) the liquidation service's workers use
    chooseReference(['grids', 'nomenclature', 'pmss'], { home: homeOf(paths.home), sample: paths.sample, files: { grids: paths.grids, nomenclature: paths.nomenclature, pmss: paths.pmss } }),
  ]);
  return { beneficiaries: beneficiaries.index, ...engine.data };
}

/** The members of the home: its membership store, read as it is; none is an error, never the sample. */
function homeMembers(home: string): BeneficiaryIndex {
  const store = MembershipStore.openForReading(home);
  if (store === null) throw new UsageError(`no members: give --beneficiaries <csv>, or import them into the home ${home} (noemie members import)`);
  return store.index(); // open for the command's life: the index reads the store on each lookup
}

export const REFERENCE_FLAGS = {
  beneficiaries: { type: 'string' },
  grids: { type: 'string' },
  nomenclature: { type: 'string' },
  pmss: { type: 'string' },
  home: { type: 'string' },
  sample: { type: 'boolean' },
} as const;

export const REFERENCE_USAGE = `  --beneficiaries <csv>  members file; default: the home's membership store (noemie members import)
  --grids <dir>          guarantee grids; default: the home's version in force (noemie reference show)
  --nomenclature <csv>   default: the home's version in force
  --pmss <csv>           default: the home's version in force
  --home <dir>           the home whose reference data is read, default NOEMIE_HOME (var/)
  --sample               publish the repository's sample grids, nomenclature, PMSS and professionals
                         into the home first, and read the sample's members file (without it, a
                         home with no reference data is an error)`;
