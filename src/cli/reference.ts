import { resolve } from 'node:path';
import { loadBeneficiaries, type BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { readEnv } from '../config.js';
import { MembershipStore } from '../pipeline/membership-store.js';
import { UsageError } from './command.js';
import { loadReference as loadEngineReference } from '../pipeline/reference.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { PmssTable } from '../model/reference.js';

/**
 * Where reference data lives by default: the committed fixtures. Members have no file default
 * (issue 10): `--beneficiaries <csv>` names one, else the home's membership store is read.
 */
export const DEFAULT_REFERENCE = {
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
  const p = { ...DEFAULT_REFERENCE, ...Object.fromEntries(Object.entries(paths).filter(([, v]) => v !== undefined)) } as typeof DEFAULT_REFERENCE & { beneficiaries?: string };
  const [beneficiaries, engine] = await Promise.all([
    p.beneficiaries !== undefined ? loadBeneficiaries(resolve(p.beneficiaries)) : { index: homeMembers() },
    // the same loader the pool's workers use, so a CLI run and the service read reference data alike
    loadEngineReference({ gridsDir: resolve(p.grids), nomenclatureFile: resolve(p.nomenclature), pmssFile: resolve(p.pmss) }),
  ]);
  return { beneficiaries: beneficiaries.index, ...engine };
}

/** The members of the home (NOEMIE_HOME): its membership store, read as it is; none is an error, never the sample. */
function homeMembers(): BeneficiaryIndex {
  const home = resolve(readEnv().NOEMIE_HOME);
  const store = MembershipStore.openForReading(home);
  if (store === null) throw new UsageError(`no members: give --beneficiaries <csv>, or import them into the home ${home} (noemie members import)`);
  return store.index(); // open for the command's life: the index reads the store on each lookup
}

export const REFERENCE_FLAGS = {
  beneficiaries: { type: 'string' },
  grids: { type: 'string' },
  nomenclature: { type: 'string' },
  pmss: { type: 'string' },
} as const;

export const REFERENCE_USAGE = `  --beneficiaries <csv>  default: the members of the home (NOEMIE_HOME)'s membership store
  --grids <dir>          default ${DEFAULT_REFERENCE.grids}
  --nomenclature <csv>   default ${DEFAULT_REFERENCE.nomenclature}
  --pmss <csv>           default ${DEFAULT_REFERENCE.pmss}`;
