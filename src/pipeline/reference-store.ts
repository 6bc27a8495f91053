import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { loadGrids } from '../ingest/reference/grids.js';
import { loadNomenclature } from '../ingest/reference/nomenclature.js';
import { loadPmss } from '../ingest/reference/pmss.js';
import { throwIfRejected } from '../ingest/reference/csv-table.js';
import type { GridSet } from '../model/grid.js';
import type { Nomenclature } from '../model/nomenclature.js';
import type { PayeeAccount } from '../model/payment.js';
import type { PmssTable } from '../model/reference.js';
import { PipelineError } from '../model/errors.js';
import { StateStore, compositeKey, stateStoreFileOf, type SubStore } from '../state/kv-store.js';
import { PACKAGE_ROOT } from './package-root.js';
import { loadProfessionals } from './professionals.js';

/**
 * A home's reference data (grids, nomenclature, PMSS, professionals' accounts), versioned in the
 * home's state store (src/pipeline/README.md "Reference data of a home" says why the store and not
 * files the home's configuration names). Each `publish` validates with the src/ingest/reference
 * loaders (errors name file, line or rule, field), then writes, in ONE commit, the version record,
 * its data, and the pointer to the version in force. Versions are never rewritten or removed: a
 * version id names one content for good, which is what lets the liquidation service load "the
 * version of this batch" by id while a newer one is being published.
 *
 * Sub-stores:
 *   reference.version  compositeKey(kind, seq 8 digits) → ReferenceVersion   (history, in order)
 *   reference.data     version id → the validated data (GridSet, Nomenclature, PmssTable, accounts)
 *   reference.current  kind → version id in force
 */
export const REFERENCE_KINDS = ['grids', 'nomenclature', 'pmss', 'professionals'] as const;
export type ReferenceKind = (typeof REFERENCE_KINDS)[number];

export interface ReferenceData {
  grids: GridSet;
  nomenclature: Nomenclature;
  pmss: PmssTable;
  professionals: Readonly<Record<string, PayeeAccount>>;
}

export interface ReferenceVersion {
  kind: ReferenceKind;
  /** `<kind>-<seq>`, e.g. grids-3: names one content for good */
  id: string;
  seq: number;
  /** SHA-256 of the validated content (canonical JSON): publishing the same content again is a no-op */
  hash: string;
  /** when it was published (ISO-8601 instant) */
  loadedAt: string;
  /** where it came from (a path, or "sample: fixtures/…") */
  source: string;
  /** a count for people: grids' ids, number of act codes, years, accounts */
  summary: string;
}

/** The sample's reference data, what `--sample` publishes into a home (paths in this package). */
export const SAMPLE_REFERENCE: Readonly<Record<ReferenceKind, string>> = {
  grids: 'fixtures/grids',
  nomenclature: 'fixtures/nomenclature.csv',
  pmss: 'fixtures/pmss.csv',
  professionals: 'fixtures/sample/professionals.csv',
};


export class ReferenceMissingError extends PipelineError {
  constructor(home: string, kinds: readonly ReferenceKind[]) {
    super(
      'REFERENCE_MISSING',
      `the home ${home} holds no ${kinds.join(', ')} (reference data is never taken from the sample silently). Load it into the home with: noemie reference import --home ${home} ${kinds.map((k) => `--${k} <${k === 'grids' ? 'dir' : 'csv'}>`).join(' ')} (--sample: the repository's sample data), or name the file(s) on the command line`,
      { file: stateStoreFileOf(home), kinds },
    );
  }
}

const pad = (seq: number) => String(seq).padStart(8, '0');

/** Canonical JSON (keys sorted) so that the hash follows the content, not the key order of a file. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const contentHash = (data: unknown) => createHash('sha256').update(canonical(data)).digest('hex');

function summarise(kind: ReferenceKind, data: ReferenceData[ReferenceKind]): string {
  const keys = Object.keys(data);
  switch (kind) {
    case 'grids': return `${keys.length} grid(s): ${keys.sort().join(', ')}`;
    case 'nomenclature': return `${keys.length} act code(s)`;
    case 'pmss': return `${keys.length} year(s): ${keys.sort().join(', ')}`;
    case 'professionals': return `${keys.length} account(s)`;
  }
}

/** Reads and validates one kind from its file(s): the src/ingest/reference loaders, strict. */
export async function readReferenceFile<K extends ReferenceKind>(kind: K, path: string): Promise<ReferenceData[K]> {
  const p = resolve(path);
  switch (kind) {
    case 'grids': return (await loadGrids(p)) as ReferenceData[K];
    case 'nomenclature': return (await loadNomenclature(p)) as ReferenceData[K];
    case 'pmss': return (await loadPmss(p)) as ReferenceData[K];
    case 'professionals': {
      // Strict here (unlike a payment run reading a file it is given): a version in force is a
      // whole table, a row left out would block a professional's payments without anyone asking.
      const { accounts, rejected } = await loadProfessionals(p);
      throwIfRejected(p, rejected);
      return accounts as ReferenceData[K];
    }
  }
  throw new Error(`unknown reference kind ${String(kind)}`);
}

export type ReferenceUpdate = { [K in ReferenceKind]?: { data: ReferenceData[K]; source: string } };

export class ReferenceStore {
  private readonly versions: SubStore<ReferenceVersion>;
  private readonly data: SubStore<unknown>;
  private readonly current: SubStore<string>;

  constructor(
    readonly store: StateStore,
    readonly home: string,
  ) {
    this.versions = store.sub('reference.version');
    this.data = store.sub('reference.data');
    this.current = store.sub('reference.current');
  }

  /** The home's store (created when missing unless `create` is false: then null when the home has none). */
  static open(home: string, options: { create?: boolean } = {}): ReferenceStore | null {
    const h = resolve(home);
    const store = options.create === false ? StateStore.open(h, { create: false }) : StateStore.open(h);
    return store ? new ReferenceStore(store, h) : null;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  inForce(kind: ReferenceKind): ReferenceVersion | undefined {
    const id = this.current.get(kind);
    return id === undefined ? undefined : this.version(kind, id);
  }

  /** Every version of every kind, oldest first within a kind. */
  history(): ReferenceVersion[] {
    return [...this.versions.entries()].map(([, v]) => v);
  }

  private version(kind: ReferenceKind, id: string): ReferenceVersion | undefined {
    const seq = Number(id.slice(kind.length + 1));
    return this.versions.get(compositeKey(kind, pad(seq)));
  }

  /** The data of one version, by id (immutable once published). */
  dataOf<K extends ReferenceKind>(kind: K, id: string): ReferenceData[K] {
    const data = this.data.get(id);
    if (data === undefined) throw new PipelineError('REFERENCE_MISSING', `reference version ${id} is not in the home's store ${this.store.file}`, { file: this.store.file, kind, id });
    return data as ReferenceData[K];
  }

  /** The data in force of each kind asked for; REFERENCE_MISSING naming every kind the home lacks. */
  inForceData<K extends ReferenceKind>(kinds: readonly K[]): { data: Pick<ReferenceData, K>; versions: Record<K, string> } {
    const missing = kinds.filter((k) => this.current.get(k) === undefined);
    if (missing.length > 0) throw new ReferenceMissingError(this.home, missing);
    const data = {} as Pick<ReferenceData, K>;
    const versions = {} as Record<K, string>;
    for (const k of kinds) {
      const id = this.current.get(k)!;
      versions[k] = id;
      (data as Record<K, unknown>)[k] = this.dataOf(k, id);
    }
    return { data, versions };
  }

  /**
   * Publishes each kind given as a new version in force, all in ONE commit (an import of grids
   * and nomenclature together is never half in force). A kind whose content equals the version in
   * force is left as it is (same hash: no new version).
   */
  async publish(update: ReferenceUpdate, at: Date = new Date()): Promise<{ published: ReferenceVersion[]; unchanged: ReferenceVersion[] }> {
    const published: ReferenceVersion[] = [];
    const unchanged: ReferenceVersion[] = [];
    await this.store.update(() => {
      published.length = 0;
      unchanged.length = 0;
      const writes: (() => void)[] = [];
      for (const kind of REFERENCE_KINDS) {
        const given = update[kind];
        if (!given) continue;
        const hash = contentHash(given.data);
        const now = this.inForce(kind);
        if (now?.hash === hash) {
          unchanged.push(now);
          continue;
        }
        const last = [...this.versions.keys(compositeKey(kind, ''))].pop();
        const seq = last === undefined ? 1 : Number(last.slice(kind.length + 1)) + 1;
        const version: ReferenceVersion = { kind, id: `${kind}-${seq}`, seq, hash, loadedAt: at.toISOString(), source: given.source, summary: summarise(kind, given.data) };
        published.push(version);
        writes.push(() => {
          this.data.put(version.id, given.data);
          this.versions.put(compositeKey(kind, pad(seq)), version);
          this.current.put(kind, version.id);
        });
      }
      return () => writes.forEach((w) => w());
    });
    return { published, unchanged };
  }
}

/** Reads the sample's files: what `--sample` publishes. */
export async function sampleReference(kinds: readonly ReferenceKind[] = REFERENCE_KINDS): Promise<ReferenceUpdate> {
  const update: ReferenceUpdate = {};
  for (const kind of kinds) {
    const path = SAMPLE_REFERENCE[kind];
    (update as Record<string, unknown>)[kind] = { data: await readReferenceFile(kind, join(PACKAGE_ROOT, path)), source: `sample: ${path}` };
  }
  return update;
}

/** `noemie … --sample`: the sample's reference data becomes the version in force (no new version if it already is). */
export async function publishSample(home: string): Promise<{ published: ReferenceVersion[]; unchanged: ReferenceVersion[] }> {
  const update = await sampleReference();
  const store = ReferenceStore.open(home)!;
  try {
    return await store.publish(update);
  } finally {
    await store.close();
  }
}

/** Reads the data in force of `kinds` from a home; REFERENCE_MISSING when the home has none of some. */
export async function readHomeReference<K extends ReferenceKind>(home: string, kinds: readonly K[]): Promise<{ data: Pick<ReferenceData, K>; versions: Record<K, string> }> {
  const store = ReferenceStore.open(home, { create: false });
  if (!store) throw new ReferenceMissingError(resolve(home), kinds);
  try {
    return store.inForceData(kinds);
  } finally {
    await store.close();
  }
}
