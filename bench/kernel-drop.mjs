// The kernel benches' drop (bench/kernel-rounds.mjs, bench/profiles/kernel-alloc.mjs): the reference files of
// fixtures/ and N generated act lines (seed 1, as npm run bench:liquidate), each with its beneficiary, built with
// this repository's dist (the builds compared bring only their dist/src/engine).
import { join } from 'node:path';

export async function kernelDrop(root, lines) {
  const { loadGrids } = await import(join(root, 'dist/src/ingest/reference/grids.js'));
  const { loadNomenclature } = await import(join(root, 'dist/src/ingest/reference/nomenclature.js'));
  const { loadPmss } = await import(join(root, 'dist/src/ingest/reference/pmss.js'));
  const { buildPopulation, defaultFamilies, generateActLines, readNomenclature, DEFAULT_WINDOW } = await import(join(root, 'dist/src/generate/index.js'));
  const fixtures = join(root, 'fixtures');
  const ctx = { grids: await loadGrids(join(fixtures, 'grids')), nomenclature: await loadNomenclature(join(fixtures, 'nomenclature.csv')), pmss: await loadPmss(join(fixtures, 'pmss.csv')), asOf: DEFAULT_WINDOW.to };
  const pop = buildPopulation(1, defaultFamilies(lines), DEFAULT_WINDOW);
  const by = new Map(pop.people.map((p) => [`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary]));
  const all = [...generateActLines({ seed: 1, lines, population: pop, nomenclature: readNomenclature(join(fixtures, 'nomenclature.csv')) })].map((l) => ({ line: l, beneficiary: by.get(`${l.nir}-${l.rang}`) }));
  return { ctx, all };
}
