import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnv } from '../../config.js';
import { daysBetween, isRealDate } from '../../model/dates.js';
import { DEFAULT_WINDOW, MIN_WINDOW_DAYS, generateFixtures, type BadRecord, type DropFormatOption, type FixtureResult } from '../../generate/index.js';
import { UsageError, parseFlags, writeLine, type CliIo, type Command } from '../command.js';
import { jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie fixtures generate`: a realistic, deterministic caisse drop for the seed contracts, and on
 * request the matching beneficiaries.csv, professionals.csv (the accounts of the professionals paid
 * in tiers payant), invoice uploads and tp_claims.csv. What was written goes
 * to stdout; the bad records injected with --bad go to stderr as the list of rejects to expect.
 */
const USAGE =
  'noemie fixtures generate --lines N --seed S --format noemie|csv|xml|zip [--out <file|dir>] [--bad K] ' +
  '[--beneficiaries <file>] [--professionals <file>] [--families N] [--population-seed S] [--invoices M] [--invoices-dir <dir>] ' +
  '[--tp-claims] [--tp-claims-out <file>] [--members <members*.csv>] [--population-feed <members*.csv>] [--home <dir>]\n' +
  '                         [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--nomenclature <file>] [--finess] [--json]\n\n' +
  `  --beneficiaries <file>   the population as beneficiaries.csv (for noemie members import / run --beneficiaries)
  --population-feed <members*.csv>  the population as a members feed (family_created / beneficiary_added
                           events): dropped in an inbox, noemie run applies it before the drops
  --professionals <file>   the account of every professional the generator invents (professionals.csv)
  --members <members*.csv> the next day's members changes (résiliation, arrivals, RIB change)
  --tp-claims / --tp-claims-out <file>  the TP claims of the drop's tiers-payant lines
  --home <dir>             a home ready to run with no other input (noemie run --once --home <dir>): the
                           drop, its TP claims and the population feed into <dir>/inbox, the
                           professionals' accounts written under <dir>/reference/ and published as the
                           home's professionals in force; grids, nomenclature and PMSS the home lacks
                           published from this package (fixtures/grids, the --nomenclature, fixtures/pmss.csv)
  --families N / --population-seed S  the population's size and seed (default: from --lines, the drop's seed)
  --invoices M / --invoices-dir <dir>  M hors-NOEMIE invoice uploads
  --bad K                  K bad records injected (the expected rejects on stderr)
  --finess                 hospital lines carry the establishment's FINESS
${jsonUsage('fixtures generate')}: what was written`;

const FLAGS = {
  lines: { type: 'string' },
  seed: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  bad: { type: 'string' },
  beneficiaries: { type: 'string' },
  professionals: { type: 'string' },
  members: { type: 'string' },
  families: { type: 'string' },
  'population-seed': { type: 'string' },
  invoices: { type: 'string' },
  'invoices-dir': { type: 'string' },
  'tp-claims': { type: 'boolean' },
  'tp-claims-out': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  nomenclature: { type: 'string' },
  finess: { type: 'boolean' },
  'population-feed': { type: 'string' },
  home: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const FORMATS: readonly DropFormatOption[] = ['noemie', 'csv', 'xml', 'zip'];

export const command: Command = {
  name: 'fixtures generate',
  summary: 'write a realistic, deterministic caisse drop (and beneficiaries, invoices, TP claims) from a seed',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, FLAGS, false);
    const lines = int('--lines', values.lines, 1, 50_000_000);
    const seed = int('--seed', values.seed, 0, 0xffff_ffff);
    const format = values.format as DropFormatOption | undefined;
    if (!format || !FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(values.format)}`);
    const window = { from: date('--from', values.from ?? DEFAULT_WINDOW.from), to: date('--to', values.to ?? DEFAULT_WINDOW.to) };
    if (daysBetween(window.from, window.to) < MIN_WINDOW_DAYS) throw new UsageError(`--to (${window.to}) must come at least ${MIN_WINDOW_DAYS} days after --from (${window.from})`);

    for (const [flag, path] of [['--members', values.members], ['--population-feed', values['population-feed']]] as const) {
      if (path !== undefined && !/^members.*\.csv$/.test(basename(path))) throw new UsageError(`${flag} ${path}: the inbox reads a members feed from a file named members*.csv`);
    }
    const home = values.home === undefined ? undefined : resolve(values.home);
    const inbox = home === undefined ? undefined : join(home, 'inbox');
    const out = dropPath(values.out ?? (inbox === undefined ? undefined : `${inbox}/`), format, seed, lines);
    const populationSeed = values['population-seed'] !== undefined ? int('--population-seed', values['population-seed'], 0, 0xffff_ffff) : seed;
    // with --home, what a run needs to liquidate and pay the drop, unless named otherwise
    const homeFiles = home === undefined || inbox === undefined ? {} : {
      populationFeed: values['population-feed'] ?? join(inbox, `members-population-${populationSeed}.csv`),
      professionals: values.professionals ?? join(home, 'reference', 'professionals-generated.csv'),
      tpClaims: values['tp-claims-out'] ?? join(inbox, `tp_claims-${seed}-${lines}.csv`),
    };
    const nomenclaturePath = values.nomenclature ?? defaultNomenclature();
    const result = await generateFixtures({
      seed,
      lines,
      format,
      out,
      window,
      nomenclaturePath,
      bad: values.bad === undefined ? 0 : int('--bad', values.bad, 0, lines),
      ...(values.beneficiaries !== undefined ? { beneficiaries: values.beneficiaries } : {}),
      ...(values.professionals !== undefined ? { professionals: values.professionals } : {}),
      ...(values.families !== undefined ? { families: int('--families', values.families, 1, 1_000_000) } : {}),
      ...(values['population-seed'] !== undefined ? { populationSeed } : {}),
      ...(values['population-feed'] !== undefined ? { populationFeed: values['population-feed'] } : {}),
      ...homeFiles,
      ...(values.invoices !== undefined ? { invoices: int('--invoices', values.invoices, 0, 1_000_000) } : {}),
      ...(values['invoices-dir'] !== undefined ? { invoicesDir: values['invoices-dir'] } : {}),
      ...(values['tp-claims'] || values['tp-claims-out'] !== undefined ? { tpClaims: values['tp-claims-out'] ?? join(dirname(out), 'tp_claims.csv') } : {}),
      ...(values.finess ? { finess: true } : {}),
      ...(values.members !== undefined ? { members: values.members } : {}),
    });
    const published = home === undefined ? undefined : await publishIntoHome(home, result.professionals!.path, nomenclaturePath);
    const written = home === undefined ? result : { ...result, home: { dir: home, published: published! } };
    if (values.json) writeJson(io, 'fixtures generate', written);
    else {
      report(io, result);
      if (home !== undefined) writeLine(io.out, `home           ${home}: reference published ${published!.length > 0 ? published!.join(', ') : 'none (already in force)'}; run it with: noemie run --once --home ${home}`);
    }
    reportBad(io, result);
    return 0;
  },
};

/**
 * `--home`: the professionals' accounts just written become the home's version in force (the
 * generated file is the same for every seed: publishing it again changes nothing), and the kinds the
 * home has none of are published from this package — the grids and PMSS the generator's contracts
 * and years are made for, and the nomenclature the drop was generated from. A kind already in force
 * is left as it is. Returns the versions published.
 */
async function publishIntoHome(home: string, professionals: string, nomenclature: string): Promise<string[]> {
  const { ReferenceStore, readReferenceFile, sampleReference } = await import('../../pipeline/reference-store.js');
  const store = ReferenceStore.open(home)!;
  try {
    const missing = (['grids', 'pmss'] as const).filter((k) => store.inForce(k) === undefined);
    const update = {
      ...(await sampleReference(missing)),
      ...(store.inForce('nomenclature') === undefined ? { nomenclature: { data: await readReferenceFile('nomenclature', nomenclature), source: nomenclature } } : {}),
      professionals: { data: await readReferenceFile('professionals', professionals), source: professionals },
    };
    const { published } = await store.publish(update);
    return published.map((v) => v.id);
  } finally {
    await store.close();
  }
}

function int(flag: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined) throw new UsageError(`${flag} is required`);
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

function date(flag: string, text: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || !isRealDate(text)) throw new UsageError(`${flag} must be a date YYYY-MM-DD, got "${text}"`);
  return text;
}

/** --out names the file, or a directory (existing, or ending in /) where a default name is used. */
function dropPath(out: string | undefined, format: DropFormatOption, seed: number, lines: number): string {
  const name = `drop-${seed}-${lines}.${format}`;
  if (out === undefined) return join(readEnv().NOEMIE_HOME, 'fixtures', name);
  const isDir = out.endsWith('/') || (existsSync(out) && statSync(out).isDirectory());
  if (isDir) return join(out, name);
  if (extname(out) !== `.${format}`) throw new UsageError(`--out ${out}: a ${format} drop must end in .${format} (or name a directory)`);
  return out;
}

/** fixtures/nomenclature.csv of the working directory, else of the package this file belongs to. */
function defaultNomenclature(): string {
  const local = resolve('fixtures/nomenclature.csv');
  if (existsSync(local)) return local;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'fixtures', 'nomenclature.csv');
    if (existsSync(candidate)) return candidate;
  }
  throw new UsageError('fixtures/nomenclature.csv not found: pass --nomenclature <file>');
}

function report(io: CliIo, r: FixtureResult): void {
  const d = r.drop;
  const show = (p: string) => relative(process.cwd(), p) || p;
  writeLine(io.out, `drop           ${show(d.path)}  ${d.bytes} bytes, ${d.lines} lines, ${d.decomptes} décomptes`);
  if (d.parts.length > 1 || d.parts[0]?.entry) {
    for (const p of d.parts) writeLine(io.out, `  entry        ${p.entry ?? ''}  ${p.lines} lines, ${p.decomptes} décomptes`);
  }
  writeLine(io.out, `population     ${r.families} families, ${r.people} beneficiaries`);
  if (r.beneficiaries) writeLine(io.out, `beneficiaries  ${show(r.beneficiaries.path)}  ${r.beneficiaries.rows} rows`);
  if (r.populationFeed) writeLine(io.out, `members feed   ${show(r.populationFeed.path)}  ${r.populationFeed.rows} events: the population (family_created / beneficiary_added)`);
  if (r.professionals) writeLine(io.out, `professionals  ${show(r.professionals.path)}  ${r.professionals.rows} rows (every professional the generator invents, with an account)`);
  if (r.invoices) writeLine(io.out, `invoices       ${r.invoices.paths.length} files in ${show(r.invoices.dir)}`);
  if (r.members) {
    const m = r.members;
    const what = [
      m.resiliation ? `résiliation of ${m.resiliation.adherentId} from ${m.resiliation.effectiveDate}` : null,
      `${m.arrivals.length} arrival(s) of persons the drop names and the population lacks`,
      m.ribChange ? `RIB change of ${m.ribChange.adherentId} from ${m.ribChange.effectiveDate}` : null,
    ].filter((x) => x !== null);
    writeLine(io.out, `members feed   ${show(m.path)}  ${m.rows} events: ${what.join('; ')}`);
  }
  if (r.tpClaims) writeLine(io.out, `tp claims      ${show(r.tpClaims.path)}  ${r.tpClaims.rows} rows`);
  if (d.badWanted > 0) writeLine(io.out, `bad records    ${d.bad.length} injected (expected rejects on stderr)`);
}

const KIND_LABEL: Record<BadRecord['kind'], string> = {
  nir_key: 'wrong NIR key',
  date: 'impossible date',
  amount: 'non-numeric amount',
  overlong: 'overlong record/field',
  enum: 'bad enum value',
};

function reportBad(io: CliIo, r: FixtureResult): void {
  const d = r.drop;
  if (d.badWanted === 0) return;
  writeLine(io.err, `expected rejects (${d.bad.length}):`);
  for (const b of d.bad) {
    const where = `${b.file ?? '?'}${b.entry ? `!${b.entry}` : ''} record ${b.record ?? '?'}`;
    writeLine(io.err, `  ${where}: ${KIND_LABEL[b.kind]}, ${b.field ?? '?'} = ${JSON.stringify(b.value ?? '')} (décompte ${b.decompteId} line ${b.lineNo})`);
  }
  if (d.bad.length < d.badWanted) writeLine(io.err, `  only ${d.bad.length} of the ${d.badWanted} bad records asked for found a place in ${d.lines} lines`);
}
