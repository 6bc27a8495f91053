// The kernel's steps side by side in ONE process (bench/README.md "liquidate"): each step is a commit
// of the branch whose src/engine + src/model were built apart, all run on the same requests,
// interleaved, best CPU time of N rounds. Build a step (from the repository root, after `npm run build`):
//   d=/tmp/kv/<commit>; mkdir -p $d && git archive <commit> src/engine src/model | tar -x -C $d
//   ln -s $PWD/node_modules $d/node_modules; echo '{"type":"module"}' > $d/package.json
//   printf '{"extends":"%s/tsconfig.build.json","compilerOptions":{"outDir":"dist","rootDir":"."},"include":["src/engine/**/*.ts","src/model/**/*.ts"]}' $PWD > $d/tsconfig.json
//   (cd $d && npx tsc -p tsconfig.json)
// then: node --expose-gc bench/kernel-steps.mjs [lines] [rounds] [label=commit:kind ...]   (KERNEL_STEPS_DIR, default /tmp/kv)
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stepsDir = process.env.KERNEL_STEPS_DIR ?? '/tmp/kv';
const { loadGrids } = await import(join(root, 'dist/src/ingest/reference/grids.js'));
const { loadNomenclature } = await import(join(root, 'dist/src/ingest/reference/nomenclature.js'));
const { loadPmss } = await import(join(root, 'dist/src/ingest/reference/pmss.js'));
const { buildPopulation, defaultFamilies, generateActLines, readNomenclature, DEFAULT_WINDOW } = await import(join(root, 'dist/src/generate/index.js'));
const fixtures = join(root, 'fixtures');
const N = Number(process.argv[2] ?? 30000);
const rounds = Number(process.argv[3] ?? 3);
const ctx = { grids: await loadGrids(join(fixtures, 'grids')), nomenclature: await loadNomenclature(join(fixtures, 'nomenclature.csv')), pmss: await loadPmss(join(fixtures, 'pmss.csv')), asOf: DEFAULT_WINDOW.to };
const pop = buildPopulation(1, defaultFamilies(N), DEFAULT_WINDOW);
const by = new Map(pop.people.map((p) => [`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary]));
const reqs = [...generateActLines({ seed: 1, lines: N, population: pop, nomenclature: readNomenclature(join(fixtures, 'nomenclature.csv')) })].map((l) => ({ line: l, beneficiary: by.get(`${l.nir}-${l.rang}`) }));
// Variants: `label=commit:kind` arguments after [lines] [rounds] (kind: kernel | decimal); without
// them, the steps of session 6 (branch s6-kernel) on top of session 5's final kernel (70dce71);
// session 5's steps were e068bae (K5), 115e28e, 3916870, 8a5d55a, 6cc2163.
const given = process.argv.slice(4).map((a) => {
  const [label, spec] = a.split('=');
  const [commit, kind] = spec.split(':');
  return [label, commit, kind ?? 'kernel'];
});
const variants = given.length > 0 ? given : [
  ['decimal engine (baseline)', '70dce71', 'decimal'],
  ['K10 session 5 final', '70dce71', 'kernel'],
  ['K11 texts memo (reverted)', 'b473cdd', 'kernel'],
  ['K12 fewer objects, hashes, no memo', '411e181', 'kernel'],
  ['K13 + ownership per family, own()', '3265c12', 'kernel'],
];
const mods = {};
for (const [, c] of variants) mods[c] ??= await import(join(stepsDir, c, 'dist/src/engine/index.js'));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const best = new Map();
for (let r = 0; r < rounds; r++) {
  for (const [name, c, kind] of variants) {
    const m = mods[c];
    globalThis.gc?.();
    const c0 = cpu();
    if (kind === 'decimal') m.liquidateAllDecimal(reqs, ctx, {}); else new m.LiquidationKernel(ctx).liquidateAll(reqs, ctx.asOf, {});
    const ms = cpu() - c0;
    if (!best.has(name) || ms < best.get(name)) best.set(name, ms);
    process.stderr.write(`round ${r} ${name}: ${ms.toFixed(0)} ms CPU\n`);
  }
}
const base = best.get(variants[0][0]);
console.log(`| step | best CPU s (${N} lines, best of ${rounds}) | lines per CPU s | × before |\n|---|---:|---:|---:|`);
for (const [name] of variants) console.log(`| ${name} | ${(best.get(name) / 1000).toFixed(2)} | ${Math.round((N / best.get(name)) * 1000)} | ${(base / best.get(name)).toFixed(2)} |`);
