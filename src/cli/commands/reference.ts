import { REFERENCE_KINDS, ReferenceStore, readReferenceFile, sampleReference, type ReferenceKind, type ReferenceUpdate, type ReferenceVersion } from '../../pipeline/reference-store.js';
import { UsageError, parseFlags, printable, writeLine, type Command } from '../command.js';
import { homeOf } from '../home-reference.js';
import { jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie reference import` and `noemie reference show`: the home's versioned reference data
 * (src/pipeline/reference-store.ts; README "Reference data").
 */
const IMPORT_USAGE = `noemie reference import [--home <dir>] [--grids <dir>] [--nomenclature <csv>] [--pmss <csv>]
                        [--professionals <csv>] [--sample] [--json]

Validates the files given (the same strict loaders as everywhere: an error names the file, the line
or grid rule, and the field; nothing is published then) and publishes each as a new version in
force in the home's state store (<home>/state/store.mdb), all in one commit. A kind whose content
equals the version in force is left as it is. A running noemie run / liquidation service uses the
new grids, nomenclature and PMSS from its next batch on; payment runs read the professionals'
accounts in force when they start.
  --grids <dir>          every *.json guarantee grid of the directory (one version: the whole set)
  --nomenclature <csv>   act code → poste (formats.md §3)
  --pmss <csv>           year;pmss
  --professionals <csv>  ps_id;name;iban;bic: accounts of the professionals paid in tiers payant
  --sample               the repository's sample data (fixtures/grids, fixtures/nomenclature.csv,
                         fixtures/pmss.csv, fixtures/sample/professionals.csv) for the kinds not given
${jsonUsage('reference import')}: what was published
exit code: 0 published (or unchanged), 1 invalid data (nothing published), 2 usage error`;

const IMPORT_FLAGS = {
  home: { type: 'string' }, grids: { type: 'string' }, nomenclature: { type: 'string' }, pmss: { type: 'string' },
  professionals: { type: 'string' }, sample: { type: 'boolean' }, json: { type: 'boolean' },
} as const;

const SHOW_USAGE = `noemie reference show [--home <dir>] [--all] [--json]

Lists the reference data versions in force in the home (id, content hash, when and from where it
was published); --all lists every version kept, oldest first.
${jsonUsage('reference show')}:
         { home, inForce: { <kind>: version | null }, versions: [version…] } (versions: all of them)
exit code: 0, 2 usage error`;

const SHOW_FLAGS = { home: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } } as const;

const line = (v: ReferenceVersion) => printable(`${v.id.padEnd(18)} ${v.loadedAt}  sha256 ${v.hash.slice(0, 12)}  ${v.summary}  (from ${v.source})`);

export const importCommand: Command = {
  name: 'reference import',
  summary: 'validate grids / nomenclature / PMSS / professionals and publish them as a new version in the home',
  usage: IMPORT_USAGE,
  flags: IMPORT_FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, IMPORT_FLAGS, false);
    const given = REFERENCE_KINDS.filter((k) => values[k] !== undefined);
    if (given.length === 0 && !values.sample) throw new UsageError('name at least one of --grids, --nomenclature, --pmss, --professionals (or --sample)');
    const home = homeOf(values.home);
    // Everything is validated before anything is written: one bad file publishes nothing.
    const update: ReferenceUpdate = values.sample ? await sampleReference(REFERENCE_KINDS.filter((k) => values[k] === undefined)) : {};
    for (const kind of given) (update as Record<ReferenceKind, unknown>)[kind] = { data: await readReferenceFile(kind, values[kind]!), source: values[kind]! };
    const store = ReferenceStore.open(home)!;
    try {
      const { published, unchanged } = await store.publish(update);
      if (values.json) {
        writeJson(io, 'reference import', { home, published, unchanged });
        return 0;
      }
      for (const v of published) writeLine(io.out, `published ${line(v)}`);
      for (const v of unchanged) writeLine(io.out, `unchanged ${line(v)} (same content already in force)`);
      return 0;
    } finally {
      await store.close();
    }
  },
};

export const showCommand: Command = {
  name: 'reference show',
  summary: 'list the reference data versions in force in the home (--all: every version kept)',
  usage: SHOW_USAGE,
  flags: SHOW_FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, SHOW_FLAGS, false);
    const home = homeOf(values.home);
    const store = ReferenceStore.open(home, { create: false });
    const inForce = Object.fromEntries(REFERENCE_KINDS.map((k) => [k, store?.inForce(k) ?? null])) as Record<ReferenceKind, ReferenceVersion | null>;
    const versions = store?.history() ?? [];
    await store?.close();
    if (values.json) {
      writeJson(io, 'reference show', { home, inForce, versions });
      return 0;
    }
    writeLine(io.out, printable(`reference data of ${home}`));
    for (const kind of REFERENCE_KINDS) {
      const v = inForce[kind];
      writeLine(io.out, v ? `  ${line(v)}` : `  ${kind.padEnd(18)} none — noemie reference import --${kind} <…> (or --sample)`);
    }
    if (values.all) {
      writeLine(io.out, 'all versions:');
      for (const v of versions) writeLine(io.out, `  ${line(v)}${inForce[v.kind]?.id === v.id ? '  [in force]' : ''}`);
    }
    return 0;
  },
};
