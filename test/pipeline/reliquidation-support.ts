import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../../src/bus/bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { BENEFICIARY_COLUMNS, indexBeneficiaries, type BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { nirKey, type ActLine } from '../../src/model/act-line.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { ReferencePaths } from '../../src/pipeline/reference.js';
import { lineTopicOf } from '../../src/pipeline/keys.js';
import { copyReference } from './liquidation-support.js';

/**
 * Given / when / then for re-liquidation: a membership the test changes between batches (what
 * the membership store does live), hand-made GP consultations, and the lines published as the
 * ingest sink would (keyed by the family, on its partition).
 */
export const IBAN = 'FR7630006000011234567890189';

/** A 13-digit NIR numbered `i` (its key is computed where needed). */
export const nirOf = (i: number) => `18503751${String(i).padStart(5, '0')}`;

export function member(adherentId: string, nir: string, over: Partial<Beneficiary> = {}): Beneficiary {
  return {
    adherentId, nir, nirKey: nirKey(nir), rang: 1, birthDate: '1985-03-12', role: 'A', contracts: ['CCN-HLA-BASE'],
    start: '2024-01-01', end: null, suspended: [], noemie: true, iban: IBAN, bic: 'AGRIFRPP', name: `Member ${adherentId}`, ...over,
  };
}

/** The membership as the service sees it: each call reads the current rows (a live index, like the membership store's). */
export class Members {
  private index: BeneficiaryIndex;
  constructor(private rows: Beneficiary[] = []) {
    this.index = indexBeneficiaries(rows);
  }
  set(rows: Beneficiary[]): void {
    this.rows = rows;
    this.index = indexBeneficiaries(rows);
  }
  /** changes one person (by NIR) and keeps the others */
  change(nir: string, over: Partial<Beneficiary>): void {
    this.set(this.rows.map((b) => (b.nir === nir ? { ...b, ...over } : b)));
  }
  add(b: Beneficiary): void {
    this.set([...this.rows, b]);
  }
  get current(): readonly Beneficiary[] {
    return this.rows;
  }
  readonly live: BeneficiaryIndex = {
    get size() {
      return 0;
    },
    byNirRang: (nir, rang) => this.index.byNirRang(nir, rang),
    adherentOf: (nir, rang) => this.index.adherentOf(nir, rang),
    byAdherent: (id) => this.index.byAdherent(id),
    holder: (id) => this.index.holder(id),
    all: () => this.index.all(),
  };
}

/**
 * A GP consultation (act G, tp 00: the AMC goes to the family). BR 30.00, RO 70 % = 21.00;
 * CCN-HLA-BASE "soins.generalistes" 100 % BR: AMC = min(30.00 − 21.00, expense − 21.00):
 * expense 50.00 → 9.00, expense 25.00 → 4.00.
 */
export function consultation(o: { family: string; nir: string; decompte: string; care: string; expense?: string }): ActLine {
  return {
    source: 'noemie', decompteId: o.decompte, lineNo: 1, operation: 'I', caisse: '011751001', roPaymentDate: o.care,
    nir: o.nir, nirKey: nirKey(o.nir), rang: 1, birthDate: '1985-03-12', amcMemberId: o.family, psId: '751234567',
    psSpecialty: '01', psDptm: true, actCode: 'G', side: null, careStart: o.care, careEnd: o.care, quantity: 1,
    coefficient: '1', expense: o.expense ?? '50.00', br: '30.00', roRate: '70', roAmount: '21.00', pf: '0.00', franchise: '0.00',
    pathway: 'I', tp: '00', accident: false,
  };
}
export const keyOf = (decompte: string) => `noemie-011751001:${decompte}:1`;

export async function publishLines(bus: Bus, lines: readonly ActLine[]): Promise<void> {
  await bus.produce(lineTopicOf(lines[0]!), lines.map((line, i) => ({
    value: { line, origin: { file: 'reliq.csv', record: i + 2 } }, key: line.amcMemberId, partition: partitionFor(line.amcMemberId),
  })));
}

/**
 * An osteopathy session on an invoice (act OSTEO, no RO part): CCN-HLA-BASE "divers.medecine_preventive"
 * 30 € per session, max 4 a calendar year: AMC = min(30.00, expense 60.00 − 0.00) = 30.00 while the
 * count allows, 0.00 (zero) beyond. An invoice's prescription is judged on the liquidation date.
 */
export function osteopathy(o: { family: string; nir: string; invoice: string; care: string }): ActLine {
  return {
    ...consultation({ family: o.family, nir: o.nir, decompte: o.invoice, care: o.care }),
    source: 'invoice', caisse: null, roPaymentDate: null, psSpecialty: null, actCode: 'OSTEO', expense: '60.00', br: '0.00', roRate: '0', roAmount: '0.00',
  };
}

/** A reference folder (fixture grids, nomenclature, PMSS) whose beneficiaries.csv the test writes (service-main reads it). */
export async function referenceWith(rows: readonly Beneficiary[]): Promise<{ dir: string; reference: ReferencePaths }> {
  const dir = await mkdtemp(join(tmpdir(), 'noemie-reliq-'));
  const reference = await copyReference(dir);
  await writeMembers(reference, rows);
  return { dir, reference };
}

export async function writeMembers(reference: ReferencePaths, rows: readonly Beneficiary[]): Promise<void> {
  const cell = (b: Beneficiary): string[] => [
    b.adherentId, b.nir, b.nirKey, String(b.rang), b.birthDate, b.role, b.contracts.join('|'), b.start, b.end ?? '',
    b.suspended.map((s) => `${s.from}..${s.to}`).join('|'), b.noemie ? 'Y' : 'N', b.iban ?? '', b.bic ?? '', b.name,
  ];
  await writeFile(reference.beneficiariesFile, `${[BENEFICIARY_COLUMNS.join(';'), ...rows.map((b) => cell(b).join(';'))].join('\n')}\n`);
}
