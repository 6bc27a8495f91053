import { join, resolve } from 'node:path';
import { loadGrids } from '../ingest/reference/grids.js';
import { loadNomenclature } from '../ingest/reference/nomenclature.js';
import { loadPmss } from '../ingest/reference/pmss.js';
import type { Reference } from './liquidate-lines.js';
import type { ReferenceFiles } from './pool-messages.js';
import { ReferenceMissingError, ReferenceStore } from './reference-store.js';

/**
 * Where the reference data the engine reads comes from: explicit files (`--reference <dir>`, the
 * tests' own copies), or the home's versioned reference data (reference-store.ts). There is no
 * default directory: a command that is given neither reads its home, and a home without reference
 * data is an error (REFERENCE_MISSING), never the sample's files.
 */
export interface ReferencePaths extends ReferenceFiles {
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

export async function loadReference(paths: ReferenceFiles): Promise<Reference> {
  const [grids, nomenclature, pmss] = await Promise.all([loadGrids(paths.gridsDir), loadNomenclature(paths.nomenclatureFile), loadPmss(paths.pmssFile)]);
  return { grids, nomenclature, pmss };
}

/** Where a service's engine reference comes from: fixed files, or a home's versioned reference data. */
export type ReferenceSource = ReferenceFiles | { home: string };

const ENGINE_KINDS = ['grids', 'nomenclature', 'pmss'] as const;
/** The version key of fixed files: they do not change while a process runs. */
export const FILES_VERSION = 'files';

export const isHomeSource = (s: ReferenceSource): s is { home: string } => 'home' in s;

/**
 * The engine reference versions in force, as one key (`grids-2+nomenclature-1+pmss-1`): what a
 * batch is liquidated with, carried by each of its tasks. Read at the start of every batch (three
 * point reads in the memory-mapped store), so a version published meanwhile is used from the next
 * batch on. REFERENCE_MISSING when the home lacks one of them.
 */
export function referenceVersionKey(source: ReferenceSource, store: ReferenceStore | null): string {
  if (!isHomeSource(source)) return FILES_VERSION;
  if (!store) throw new ReferenceMissingError(source.home, ENGINE_KINDS);
  const missing = ENGINE_KINDS.filter((k) => store.inForce(k) === undefined);
  if (missing.length > 0) throw new ReferenceMissingError(source.home, missing);
  return ENGINE_KINDS.map((k) => store.inForce(k)!.id).join('+');
}

/** The engine reference of one version key (reads the store's immutable versions by id). */
export async function loadReferenceVersion(source: ReferenceSource, key: string, store: ReferenceStore | null): Promise<Reference> {
  if (!isHomeSource(source)) return loadReference(source);
  if (!store) throw new ReferenceMissingError(source.home, ENGINE_KINDS);
  const [grids, nomenclature, pmss] = key.split('+') as [string, string, string];
  return { grids: store.dataOf('grids', grids), nomenclature: store.dataOf('nomenclature', nomenclature), pmss: store.dataOf('pmss', pmss) };
}

/**
 * A service's view of its reference source: the key in force now, and the reference of a key, the
 * last one kept (a new key replaces it: old versions are not needed once the batch that used them
 * is done). Fixed files are read once.
 */
export class ReferenceCache {
  private loaded: { key: string; reference: Promise<Reference> } | undefined;
  private readonly store: ReferenceStore | null;

  constructor(readonly source: ReferenceSource) {
    this.store = isHomeSource(source) ? ReferenceStore.open(source.home, { create: false }) : null;
  }

  currentKey(): string {
    return referenceVersionKey(this.source, this.store);
  }

  get(key: string): Promise<Reference> {
    if (this.loaded?.key !== key) {
      const reference = loadReferenceVersion(this.source, key, this.store);
      // a failed load is not kept: the next task tries again (the batch is redelivered meanwhile)
      reference.catch(() => {
        if (this.loaded?.reference === reference) this.loaded = undefined;
      });
      this.loaded = { key, reference };
    }
    return this.loaded.reference;
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}
