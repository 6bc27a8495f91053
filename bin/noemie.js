#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build`.
//
// CommonJS on purpose (bin/package.json): libuv reads UV_THREADPOOL_SIZE once, when its pool
// first runs work, and an ESM entry is read through that pool before its first line runs. A
// CommonJS entry is read synchronously, so the default set here is the one the pool starts with.
// Two pool threads instead of libuv's four: each thread that runs LevelDB's batch writes fills
// the memtable from its own glibc malloc arena and keeps about a memtable's worth of it (≈ 55 MB
// each at 1 M lines), so the arenas' share of the peak grows with the drop up to 4 memtables;
// with two threads, up to two (bench/README.md "Session 15 — memory", "Session 17 — memory").
// An operator's UV_THREADPOOL_SIZE wins.
'use strict';
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '2';
// The CLI as one file (scripts/bundle-cli.mjs, made by `npm run build`): ≈ 0.5 CPU s less at every
// start than resolving and compiling dist/src's modules one by one (bench/README.md "Session 24 —
// restart"). Used only when newer than what tsc last wrote, so a tsc run alone is never shadowed.
const { statSync } = require('node:fs');
const { join } = require('node:path');
const mtime = (f) => { try { return statSync(f).mtimeMs; } catch { return -1; } };
const src = join(__dirname, '..', 'dist', 'src');
const entry = process.env.NOEMIE_NO_BUNDLE === undefined && mtime(join(src, 'cli-bundle', 'main.mjs')) >= mtime(join(src, 'cli', 'main.js')) ? '../dist/src/cli-bundle/main.mjs' : '../dist/src/cli/main.js';
import(entry).then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
);
