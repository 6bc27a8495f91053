import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Bus } from '../../src/bus/bus.js';
import { loadBeneficiaries } from '../../src/ingest/reference/beneficiaries.js';
import { nirKey, type ActLine } from '../../src/model/act-line.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { HAND_FAMILY, HAND_NIR, ROOT, readTopic } from './liquidation-support.js';
import { runNoemie } from '../support/cli.js';

/** Shared by the hot-reload tests (embedded bus in-process, service process on the test broker). */

export const cli = runNoemie;

export async function handMembers(dir: string) {
  const file = join(dir, 'beneficiaries.csv');
  await writeFile(file, [
    'adherent_id;nir;nir_key;rang;birth_date;role;contracts;start;end;suspended;noemie;iban;bic;name',
    `${HAND_FAMILY};${HAND_NIR};${nirKey(HAND_NIR)};1;1985-03-12;A;CCN-HLA-BASE;2024-01-01;;;Y;;;Jean Dupont`,
  ].join('\n') + '\n');
  return (await loadBeneficiaries(file)).index;
}

/** One line as its own ingested part (what a drop of one record publishes). */
export async function publishLine(bus: Bus, line: ActLine): Promise<void> {
  const sink = new BusIngestSink(bus, { batch: 8 });
  try {
    await sink.beginPart({ file: `${line.decompteId}.csv`, format: 'csv' });
    await sink.line({ kind: 'line', line, origin: { file: `${line.decompteId}.csv`, record: 2 } });
    await sink.commitPart({ file: `${line.decompteId}.csv`, format: 'csv', records: 1, accepted: 1, rejected: 0, decomptes: 1, expense: line.expense, roAmount: line.roAmount });
  } finally {
    await sink.close();
  }
}

/** A copy of the sample grids with CCN-HLA-BASE soins.generalistes at `pct` % BR. */
export async function correctedGrids(dir: string, pct: string): Promise<string> {
  const grids = join(dir, 'grids');
  await cp(join(ROOT, 'fixtures', 'grids'), grids, { recursive: true });
  const file = join(grids, 'CCN-HLA-BASE.json');
  const grid = JSON.parse(await readFile(file, 'utf8')) as { rules: { id: string; formula: { kind: string; pct?: string }[] }[] };
  const term = grid.rules.find((r) => r.id === 'soins.generalistes')!.formula.find((t) => t.kind === 'pct_br')!;
  expect(term.pct).toBe('100');
  term.pct = pct;
  await writeFile(file, JSON.stringify(grid, null, 2));
  return grids;
}

export const amcOf = async (bus: Bus, decompteId: string) => (await readTopic(bus, 'settlements')).filter((r) => r.value.lineKey.includes(`:${decompteId}:`)).map((r) => r.value.amcAmount);

