// LevelStore.commit with and without read-your-writes (session 10, bench/README.md "Session 10 — payments"):
//   node bench/level-overlay.mjs <dist of a build> [write|read]   — 60 commits of 4 096 puts (sync: false), CPU µs per put
// commit cost with and without the overlay: N commits of P puts (no reads back), then the same with one get per put
const [dist, mode] = [resolve(process.argv[2] ?? 'dist'), process.argv[3] ?? 'write'];
const { LevelStore } = await import(`${dist}/src/state/level-store.js`);
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'noemie-level-overlay-'));
const store = await LevelStore.open(dir, { sync: false });
const s = store.sub('payments.line', 'text');
const v = 'x'.repeat(180);
const P = 4096, N = 60;
let k = 0; let inWrite = 0;
const t0 = process.cpuUsage(); const w0 = performance.now();
for (let c = 0; c < N; c++) {
  await store.commit(() => { const a = process.hrtime.bigint();
    for (let i = 0; i < P; i++) { const key = `n:D${(k * 7919) % 1000003}:${i}`; k++; s.put(key, v); if (mode === "read") s.get(key); } inWrite += Number(process.hrtime.bigint() - a);
  });
}
const cpu = process.cpuUsage(t0); const wall = performance.now() - w0;
console.log(JSON.stringify({ dist, mode, ops: P * N, cpuUsPerOp: +((cpu.user + cpu.system) / (P * N)).toFixed(3), wallUsPerOp: +((wall * 1000) / (P * N)).toFixed(3), writeCbUsPerOp: +(inWrite / 1000 / (P * N)).toFixed(3) }));
await store.close(); rmSync(dir, { recursive: true, force: true });
