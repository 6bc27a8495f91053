import { dirname, join } from 'node:path';
import { encodeBeneficiaries } from './beneficiaries.js';
import { generateActLines } from './decomptes.js';
import { writeDrop, type DropFormatOption, type DropResult } from './drop.js';
import { generateInvoices } from './invoices.js';
import { readNomenclature } from './nomenclature.js';
import { buildPopulation, type Window } from './population.js';
import { membersFeed } from './members.js';
import { encodeProfessionals } from './professionals.js';
import { encodePopulationFeed } from './population-feed.js';
import { encodeTpClaims, generateTpClaims } from './tp-claims.js';
import { batched, writeChunks } from './write.js';

/**
 * Everything `noemie fixtures generate` writes, from one seed: the drop, and on request the
 * matching beneficiaries.csv, professionals.csv, invoice uploads and tp_claims.csv. The population has its own seed
 * (default: the drop's), so several drops can share one beneficiaries file.
 */
export interface FixtureOptions {
  seed: number;
  lines: number;
  format: DropFormatOption;
  /** the drop's file path */
  out: string;
  nomenclaturePath: string;
  populationSeed?: number;
  /** default: one family per 40 lines, 5 to 20 000 */
  families?: number;
  window?: Window;
  bad?: number;
  beneficiaries?: string;
  invoices?: number;
  /** where invoice JSON files go (default: beside the drop) */
  invoicesDir?: string;
  /** tp_claims.csv path, when wanted */
  tpClaims?: string;
  /** hospital lines carry the establishment's FINESS (`--finess`) */
  finess?: boolean;
  /** professionals.csv path (the accounts of every professional the generator invents), when wanted */
  professionals?: string;
  /** members feed path (`members*.csv`: back-dated résiliation, arrivals of the unknown persons, a RIB change; src/generate/members.ts), when wanted */
  members?: string;
  /** the population as a members feed (`members*.csv`: family_created / beneficiary_added events, src/generate/population-feed.ts), when wanted */
  populationFeed?: string;
}

export interface FixtureResult {
  drop: DropResult;
  families: number;
  people: number;
  beneficiaries?: { path: string; rows: number };
  invoices?: { dir: string; paths: string[] };
  tpClaims?: { path: string; rows: number };
  professionals?: { path: string; rows: number };
  populationFeed?: { path: string; rows: number };
  members?: { path: string; rows: number; resiliation: { adherentId: string; effectiveDate: string } | null; arrivals: string[]; ribChange: { adherentId: string; effectiveDate: string } | null };
}

export const DEFAULT_WINDOW: Window = { from: '2024-01-01', to: '2025-12-31' };

export function defaultFamilies(lines: number): number {
  return Math.min(20_000, Math.max(5, Math.ceil(lines / 40)));
}

export async function generateFixtures(o: FixtureOptions): Promise<FixtureResult> {
  const nomenclature = readNomenclature(o.nomenclaturePath);
  const population = buildPopulation(o.populationSeed ?? o.seed, o.families ?? defaultFamilies(o.lines), o.window ?? DEFAULT_WINDOW);
  const result: FixtureResult = {
    drop: await writeDrop({ format: o.format, out: o.out, seed: o.seed, lines: o.lines, bad: o.bad ?? 0, population, nomenclature, ...(o.finess ? { finess: true } : {}) }),
    families: population.families.length,
    people: population.people.length,
  };
  if (o.beneficiaries) {
    await writeChunks(o.beneficiaries, batched(encodeBeneficiaries(population)));
    result.beneficiaries = { path: o.beneficiaries, rows: population.people.length };
  }
  if (o.populationFeed) {
    await writeChunks(o.populationFeed, batched(encodePopulationFeed(population)));
    result.populationFeed = { path: o.populationFeed, rows: population.people.length };
  }
  if (o.professionals) {
    let rows = -1; // the header
    const counted = (function* () {
      for (const line of encodeProfessionals()) {
        rows += 1;
        yield line;
      }
    })();
    await writeChunks(o.professionals, batched(counted));
    result.professionals = { path: o.professionals, rows };
  }
  if (o.invoices && o.invoices > 0) {
    const dir = o.invoicesDir ?? dirname(o.out);
    const paths: string[] = [];
    for (const invoice of generateInvoices(o.seed, o.invoices, population)) {
      const path = join(dir, `invoice-${invoice.invoice_id}.json`);
      await writeChunks(path, [`${JSON.stringify(invoice, null, 2)}\n`]);
      paths.push(path);
    }
    result.invoices = { dir, paths };
  }
  if (o.tpClaims) {
    // A second pass over the same (deterministic) line stream: nothing of the first pass is kept.
    let rows = 0;
    const claims = generateTpClaims(o.seed, generateActLines({ seed: o.seed, lines: o.lines, population, nomenclature, ...(o.finess ? { finess: true } : {}) }));
    const counted = (function* () {
      for (const c of claims) {
        rows += 1;
        yield c;
      }
    })();
    await writeChunks(o.tpClaims, batched(encodeTpClaims(counted)));
    result.tpClaims = { path: o.tpClaims, rows };
  }
  if (o.members) {
    // Another pass over the same (deterministic) line stream, as for the TP claims.
    const feed = membersFeed(o.seed, population, generateActLines({ seed: o.seed, lines: o.lines, population, nomenclature, ...(o.finess ? { finess: true } : {}) }));
    await writeChunks(o.members, [`${feed.rows.join('\n')}\n`]);
    result.members = { path: o.members, rows: feed.rows.length - 1, resiliation: feed.resiliation, arrivals: feed.arrivals, ribChange: feed.ribChange };
  }
  return result;
}

