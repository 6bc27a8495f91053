import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_WINDOW, buildPopulation, defaultFamilies, generateDecomptes, readNomenclature, type GeneratedDecompte, type Nomenclature, type Population,
} from '../../src/generate/index.js';
import type { ActLine } from '../../src/model/act-line.js';

/** Shared set-up of the generator tests: the committed nomenclature and small generated streams. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NOMENCLATURE_PATH = join(ROOT, 'fixtures', 'nomenclature.csv');

let nom: Nomenclature | undefined;
export function nomenclature(): Nomenclature {
  nom ??= readNomenclature(NOMENCLATURE_PATH);
  return nom;
}

export function population(seed: number, families: number): Population {
  return buildPopulation(seed, families, DEFAULT_WINDOW);
}

export function stream(seed: number, lines: number, families = defaultFamilies(lines)): { population: Population; decomptes: GeneratedDecompte[]; lines: ActLine[] } {
  const pop = population(seed, families);
  const decomptes = [...generateDecomptes({ seed, lines, population: pop, nomenclature: nomenclature() })];
  return { population: pop, decomptes, lines: decomptes.flatMap((d) => d.lines) };
}
