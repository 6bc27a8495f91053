import { resolve } from 'node:path';
import { readEnv } from '../config.js';
import { ReferenceMissingError, ReferenceStore, publishSample, readReferenceFile, type ReferenceData, type ReferenceKind } from '../pipeline/reference-store.js';
import { writeLine, type CliIo } from './command.js';

/**
 * How a command finds grids, nomenclature, PMSS and professionals' accounts (README "Reference
 * data"): a kind named by its flag is read from that file; every other kind is the home's version
 * in force (src/pipeline/reference-store.ts); a home without it is REFERENCE_MISSING, never the
 * sample's files. `--sample` first publishes the repository's sample reference data into the home.
 */
export interface ReferenceChoice<K extends ReferenceKind> {
  home: string;
  /** explicit files, by kind (undefined = the home's) */
  files: Partial<Record<K, string | undefined>>;
  sample?: boolean | undefined;
}

export const homeOf = (flag: string | undefined) => resolve(flag ?? readEnv().NOEMIE_HOME);

/** `--sample`: the sample's reference data made the version in force in the home; says what it did. */
export async function publishSampleReference(home: string, io?: CliIo): Promise<void> {
  const { published } = await publishSample(home);
  if (io && published.length > 0) writeLine(io.out, `sample reference data published in ${home}: ${published.map((v) => v.id).join(', ')}`);
}

export async function chooseReference<K extends ReferenceKind>(kinds: readonly K[], choice: ReferenceChoice<K>, io?: CliIo): Promise<{ data: Pick<ReferenceData, K>; versions: Partial<Record<K, string>> }> {
  if (choice.sample) await publishSampleReference(choice.home, io);
  const data = {} as Pick<ReferenceData, K>;
  const versions: Partial<Record<K, string>> = {};
  const fromHome = kinds.filter((k) => choice.files[k] === undefined);
  for (const k of kinds) {
    const file = choice.files[k];
    if (file !== undefined) (data as Record<K, unknown>)[k] = await readReferenceFile(k, file);
  }
  if (fromHome.length === 0) return { data, versions };
  const store = ReferenceStore.open(choice.home, { create: false });
  if (!store) throw new ReferenceMissingError(choice.home, fromHome);
  try {
    const inForce = store.inForceData(fromHome);
    Object.assign(data, inForce.data);
    Object.assign(versions, inForce.versions);
  } finally {
    await store.close();
  }
  return { data, versions };
}
