// The CLI's main thread bundled (dist/src/cli-bundle/main.mjs and its chunks), which bin/noemie.js loads
// when it is newer than dist/src/cli/main.js (bin/noemie.js says why). Run by `npm run build`
// after tsc, from the compiled dist/ (what the bundle holds is what tsc wrote).
//
// Why: Node 20 has no compile cache for ES modules; every start resolved, read, compiled and
// linked ≈ 260 of our modules and ≈ 600 of the packages' files one by one: 0.9–1.0 CPU s before
// the first line of `noemie run` (bench/README.md "Session 24 — restart"). Bundled, ≈ 0.4.
//
// Left outside (imported from node_modules as before): the packages with native code or that
// find their own files by __dirname (classic-level, lmdb, msgpackr, piscina). Worker threads
// still load dist/workers/*.cjs and the modules they import: they start only when work comes.
// esbuild is a dev dependency; without it (an install with --omit=dev) the bundle is not made, and the CLI runs
// from dist/src as before.
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
// beside dist/src/cli, at the same depth: what finds the package root from its own place still does
const outdir = join(root, 'dist', 'src', 'cli-bundle');
rmSync(outdir, { recursive: true, force: true });
if (!existsSync(entry)) throw new Error(`${entry} is missing: tsc first`);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('bundle-cli: esbuild is not installed: the CLI runs from dist/src (slower start)');
  process.exit(0);
}
await esbuild.build({
  entryPoints: { main: entry },
  outdir,
  outExtension: { '.js': '.mjs' },
  // a chunk per command and what commands share: `noemie --version` does not load `run`'s modules
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['classic-level', 'lmdb', 'msgpackr', 'piscina'],
  // the packages bundled are CommonJS: their require() of Node's modules, and their __dirname
  banner: {
    js: [
      "import { createRequire as __bundleRequire } from 'node:module';",
      "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
      "import { dirname as __bundleDirname } from 'node:path';",
      'const require = __bundleRequire(import.meta.url);',
      'const __filename = __bundleFileURLToPath(import.meta.url);',
      'const __dirname = __bundleDirname(__filename);',
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
});
