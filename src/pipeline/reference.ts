import { join, resolve } from 'node:path';
import { loadGrids } from '../ingest/reference/grids.js';
import { loadNomenclature } from '../ingest/reference/nomenclature.js';
import { loadPmss } from '../ingest/reference/pmss.js';
import type { Reference } from './liquidate-lines.js';
import type { WorkerSetup } from './pool-messages.js';

/**
 * Where the reference data the engine reads lives. Default: `<home>/reference/` when the caller
 * says so, else the repository's fixtures (what the sample drop is written for). Every path can be
 * overridden by a CLI flag.
 */
export interface ReferencePaths extends WorkerSetup {
  beneficiariesFile: string;
}

export function referencePaths(dir: string): ReferencePaths {
  const d = resolve(dir);
  return {
    gridsDir: join(d, 'grids'),
    nomenclatureFile: join(d, 'nomenclature.csv'),
    pmssFile: join(d, 'pmss.csv'),
    beneficiariesFile: join(d, 'beneficiaries.csv'),
  };
}

export async function loadReference(paths: WorkerSetup): Promise<Reference> {
  const [grids, nomenclature, pmss] = await Promise.all([loadGrids(paths.gridsDir), loadNomenclature(paths.nomenclatureFile), loadPmss(paths.pmssFile)]);
  return { grids, nomenclature, pmss };
}
