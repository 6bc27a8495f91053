import { ActLineSchema, nirKey, type ActLine } from '../../src/model/act-line.js';
import type { GridSet } from '../../src/model/grid.js';
import type { Beneficiary, PmssTable } from '../../src/model/reference.js';
import type { Settlement } from '../../src/model/settlement.js';
import { emptyState, liquidate, type EngineState, type LiquidationContext, type LiquidationRequest } from '../../src/engine/index.js';
import { parseGrid } from '../../src/ingest/reference/grids.js';
import { parseNomenclature } from '../../src/ingest/reference/nomenclature.js';
import base from '../../fixtures/grids/CCN-HLA-BASE.json' with { type: 'json' };
import opt1 from '../../fixtures/grids/CCN-HLA-OPT1.json' with { type: 'json' };
import opt2 from '../../fixtures/grids/CCN-HLA-OPT2.json' with { type: 'json' };
import relaxeo from '../../fixtures/grids/RELAXEO-F1.json' with { type: 'json' };
import relaxeo2 from '../../fixtures/grids/RELAXEO-F2.json' with { type: 'json' };
import nomenclatureCsv from '../../fixtures/nomenclature.csv?raw';

/**
 * Engine test kit: the real fixture grids and nomenclature (bundled by vitest, no disk read at run
 * time), and builders with defaults so a test states only what matters:
 *   const s = settle(line({ actCode: 'CS', br: '31.50', expense: '80.00' }), person({ contracts: [BASE, OPT1] }));
 * Defaults: a GP consultation G in town (specialty 01, OPTAM), 2025-03-10, BR = FR = 30.00, RO 70 %
 * = 21.00, no PF, adult adhérent A001 born 1985 affiliated since 2024-01-01 to CCN-HLA-BASE.
 */

export const BASE = 'CCN-HLA-BASE';
export const OPT1 = 'CCN-HLA-OPT1';
export const OPT2 = 'CCN-HLA-OPT2';
export const RELAXEO = 'RELAXEO-F1';
export const RELAXEO2 = 'RELAXEO-F2';

function grid(json: unknown, file: string) {
  const r = parseGrid(json, file);
  if ('rejected' in r) throw new Error(`${file}: ${JSON.stringify(r.rejected)}`);
  return r.grid;
}

export const GRIDS: GridSet = {
  [BASE]: grid(base, `${BASE}.json`),
  [OPT1]: grid(opt1, `${OPT1}.json`),
  [OPT2]: grid(opt2, `${OPT2}.json`),
  [RELAXEO]: grid(relaxeo, `${RELAXEO}.json`),
  [RELAXEO2]: grid(relaxeo2, `${RELAXEO2}.json`),
};

export const NOMENCLATURE = parseNomenclature(nomenclatureCsv);

/** domain.md §6 (= fixtures/pmss.csv) */
export const PMSS: PmssTable = { 2022: '3428.00', 2023: '3666.00', 2024: '3864.00', 2025: '3925.00', 2026: '4005.00' };

export const NIR = '1850375123456';

export function context(overrides: Partial<LiquidationContext> = {}): LiquidationContext {
  return { grids: GRIDS, nomenclature: NOMENCLATURE, pmss: PMSS, asOf: '2025-12-31', ...overrides };
}

/** A valid ActLine (checked with ActLineSchema); the NIR key follows the NIR unless given. */
export function line(overrides: Partial<ActLine> = {}): ActLine {
  const nir = overrides.nir ?? NIR;
  const careStart = overrides.careStart ?? '2025-03-10';
  return ActLineSchema.parse({
    source: 'noemie',
    decompteId: 'D0001',
    lineNo: 1,
    operation: 'I',
    caisse: '011751001',
    roPaymentDate: null,
    nir,
    nirKey: nirKey(nir),
    rang: 1,
    birthDate: null,
    amcMemberId: 'A001',
    psId: '751234567',
    psSpecialty: '01',
    psDptm: true,
    actCode: 'G',
    side: null,
    careStart,
    careEnd: overrides.careEnd ?? careStart,
    quantity: 1,
    coefficient: '1',
    expense: '30.00',
    br: '30.00',
    roRate: '70',
    roAmount: '21.00',
    pf: '0.00',
    franchise: '0.00',
    pathway: 'I',
    tp: '00',
    accident: false,
    ...overrides,
  });
}

export function person(overrides: Partial<Beneficiary> = {}): Beneficiary {
  return {
    adherentId: 'A001',
    nir: NIR,
    nirKey: nirKey(overrides.nir ?? NIR),
    rang: 1,
    birthDate: '1985-03-12',
    role: 'A',
    contracts: [BASE],
    start: '2024-01-01',
    end: null,
    suspended: [],
    noemie: true,
    iban: null,
    bic: null,
    name: 'Jean Dupont',
    ...overrides,
  };
}

/** Liquidates one line against an empty (or given) ledger. */
export function settle(l: ActLine, b: Beneficiary | undefined = person(), opts: { state?: EngineState; ctx?: Partial<LiquidationContext> } = {}): Settlement {
  return liquidate({ line: l, beneficiary: b }, context(opts.ctx), opts.state ?? emptyState()).settlement;
}

/**
 * Liquidates lines in order, carrying the ledger; returns every settlement and the final ledger.
 * `liquidatedOnCareDate`: each line is liquidated on its own care date (asOf = careStart), for
 * histories longer than the 2-year prescription (renewals over 4 years).
 */
export function settleAll(
  requests: readonly (ActLine | LiquidationRequest)[],
  b: Beneficiary = person(),
  opts: { state?: EngineState; ctx?: Partial<LiquidationContext>; liquidatedOnCareDate?: boolean } = {},
): { settlements: Settlement[]; state: EngineState } {
  let state = opts.state ?? emptyState();
  const settlements: Settlement[] = [];
  for (const r of requests) {
    const request = 'line' in r ? r : { line: r, beneficiary: b };
    const ctx = opts.liquidatedOnCareDate ? { ...opts.ctx, asOf: request.line.careStart } : opts.ctx;
    const out = liquidate(request, context(ctx), state);
    settlements.push(out.settlement);
    state = out.state;
  }
  return { settlements, state };
}

/** Parts as `contract=amount`, for compact assertions. */
export function partsOf(s: Settlement): string[] {
  return s.parts.map((p) => `${p.contract}=${p.amount}`);
}
