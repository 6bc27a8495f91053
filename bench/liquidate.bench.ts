import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LiquidationKernel, liquidateAllDecimal, type Ledgers, type LiquidationContext, type LiquidationRequest } from '../src/engine/index.js';
import type { Settlement } from '../src/model/settlement.js';
import { DEFAULT_WINDOW, buildPopulation, defaultFamilies, generateActLines, readNomenclature } from '../src/generate/index.js';
import { loadGrids } from '../src/ingest/reference/grids.js';
import { loadNomenclature } from '../src/ingest/reference/nomenclature.js';
import { loadPmss } from '../src/ingest/reference/pmss.js';
import type { Beneficiary } from '../src/model/reference.js';

/**
 * Liquidation kernel benchmark (`npm run bench:liquidate`): lines/s on one thread of the kernel
 * (`liquidateAll`: integer cents, src/engine/kernel/) and, in the same run on the same lines, of
 * the decimal.js engine alone (`liquidateAllDecimal`, the baseline), over a generated mix (the fixture generator's décompte stream: every poste in rotation,
 * annulations and re-issues, unknown and uncovered beneficiaries, all seed contract levels).
 * Lines are generated in chunks outside the timed section, so the figure is the engine alone:
 * counters, renewals, the per-family ledgers carried across chunks (they grow with the history, as
 * in production), the settlement objects. Nothing is written but the summary.
 * The check: every settlement of the kernel must equal the baseline's (JSON text, key order
 * included) and every family ledger at the end too; any difference is printed and the run fails
 * (exit 1). `--baseline false` skips the decimal run and the check (kernel speed only).
 *
 *   node dist/bench/liquidate.bench.js [--lines 1000000] [--chunk 50000] [--seed 1]
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, existsSync(resolve(here, '../package.json')) ? '..' : '../..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: '1000000' },
      chunk: { type: 'string', default: '50000' },
      seed: { type: 'string', default: '1' },
      baseline: { type: 'string', default: 'true' },
    },
  });
  const total = Number.parseInt(values.lines, 10);
  const chunk = Number.parseInt(values.chunk, 10);
  const seed = Number.parseInt(values.seed, 10);
  if (!(total > 0) || !(chunk > 0) || !Number.isInteger(seed)) throw new Error('--lines, --chunk and --seed are positive integers');

  const fixtures = join(root, 'fixtures');
  const context: LiquidationContext = {
    grids: await loadGrids(join(fixtures, 'grids')),
    nomenclature: await loadNomenclature(join(fixtures, 'nomenclature.csv')),
    pmss: await loadPmss(join(fixtures, 'pmss.csv')),
    asOf: DEFAULT_WINDOW.to,
  };
  const families = defaultFamilies(total);
  const population = buildPopulation(seed, families, DEFAULT_WINDOW);
  const byPerson = new Map<string, Beneficiary>(population.people.map((p) => [`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary]));
  const stream = generateActLines({ seed, lines: total, population, nomenclature: readNomenclature(join(fixtures, 'nomenclature.csv')) });

  const withBaseline = values.baseline !== 'false';
  const kernel = new LiquidationKernel(context);
  let ledgers: Ledgers = {};
  let baseLedgers: Ledgers = {};
  let baselineNs = 0n;
  let baselineCpuUs = 0;
  let kernelCpuUs = 0;
  const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
  let differences = 0;
  const report = (what: string) => {
    differences += 1;
    if (differences <= 5) process.stderr.write(`\nDIFFERENCE ${what}\n`);
  };
  let kernelNs = 0n;
  let generateNs = 0n;
  let done = 0;
  const statuses: Record<string, number> = {};
  const chapters: Record<string, number> = {};
  while (done < total) {
    const g0 = process.hrtime.bigint();
    const requests: LiquidationRequest[] = [];
    for (let i = 0; i < chunk; i += 1) {
      const next = stream.next();
      if (next.done) break;
      requests.push({ line: next.value, beneficiary: byPerson.get(`${next.value.nir}-${next.value.rang}`) });
    }
    generateNs += process.hrtime.bigint() - g0;
    if (requests.length === 0) break;

    let baseline: Settlement[] = [];
    if (withBaseline) {
      const b0 = process.hrtime.bigint();
      const c0 = cpu();
      const base = liquidateAllDecimal(requests, context, baseLedgers);
      baselineCpuUs += cpu() - c0;
      baselineNs += process.hrtime.bigint() - b0;
      baseLedgers = base.ledgers;
      baseline = base.settlements;
    }

    const t0 = process.hrtime.bigint();
    const k0 = cpu();
    const out = kernel.liquidateAll(requests, context.asOf, ledgers);
    kernelCpuUs += cpu() - k0;
    kernelNs += process.hrtime.bigint() - t0;

    if (withBaseline) {
      for (let i = 0; i < requests.length; i += 1) {
        const a = JSON.stringify(baseline[i]);
        const b = JSON.stringify(out.settlements[i]);
        if (a !== b) report(`line ${done + i}:\n decimal ${a}\n kernel  ${b}`);
      }
    }

    ledgers = out.ledgers;
    done += requests.length;
    for (const s of out.settlements) {
      statuses[s.status] = (statuses[s.status] ?? 0) + 1;
      const chapter = s.poste?.split('.')[0] ?? '(none)';
      chapters[chapter] = (chapters[chapter] ?? 0) + 1;
    }
    process.stderr.write(`\r${done} / ${total} lines`);
  }
  process.stderr.write('\n');
  if (withBaseline) {
    for (const key of new Set([...Object.keys(ledgers), ...Object.keys(baseLedgers)])) {
      const a = JSON.stringify(baseLedgers[key]);
      const b = JSON.stringify(ledgers[key]);
      if (a !== b) report(`ledger ${key}:\n decimal ${a?.slice(0, 2000)}\n kernel  ${b?.slice(0, 2000)}`);
    }
  }
  const baselineSeconds = Number(baselineNs) / 1e9;

  const seconds = Number(kernelNs) / 1e9;
  const result = {
    bench: 'liquidate',
    lines: done,
    kernelSeconds: Number(seconds.toFixed(3)),
    linesPerSecond: Math.round(done / seconds),
    kernelCpuSeconds: Number((kernelCpuUs / 1e6).toFixed(3)),
    linesPerCpuSecond: Math.round(done / (kernelCpuUs / 1e6)),
    baseline: withBaseline
      ? {
          seconds: Number(baselineSeconds.toFixed(3)), linesPerSecond: Math.round(done / baselineSeconds), speedup: Number((baselineSeconds / seconds).toFixed(2)),
          cpuSeconds: Number((baselineCpuUs / 1e6).toFixed(3)), linesPerCpuSecond: Math.round(done / (baselineCpuUs / 1e6)), cpuSpeedup: Number((baselineCpuUs / kernelCpuUs).toFixed(2)),
        }
      : null,
    kernelPaths: { ...kernel.stats },
    differences: withBaseline ? differences : null,
    microsecondsPerLine: Number(((seconds * 1e6) / done).toFixed(2)),
    generateSeconds: Number((Number(generateNs) / 1e9).toFixed(3)),
    families,
    beneficiaries: population.people.length,
    ledgers: Object.keys(ledgers).length,
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
    statuses,
    chapters,
    seed,
    chunk,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
  };
  process.stdout.write(`liquidation kernel, one thread: ${result.linesPerSecond} lines/s (${done} lines in ${result.kernelSeconds} s, ${result.microsecondsPerLine} µs/line; generation ${result.generateSeconds} s not counted)\n`);
  process.stdout.write(`  per CPU second of the process (user + system, GC threads included; the figure on a shared machine): ${result.linesPerCpuSecond} lines/s (${result.kernelCpuSeconds} s CPU)\n`);
  process.stdout.write(`kernel paths: ${kernel.stats.fast} lines in integer cents, ${kernel.stats.fallback} by decimal.js\n`);
  if (result.baseline) {
    process.stdout.write(`baseline (decimal.js engine, same run, same lines): ${result.baseline.linesPerSecond} lines/s (${result.baseline.seconds} s): kernel ×${result.baseline.speedup}; per CPU second ${result.baseline.linesPerCpuSecond} lines/s (${result.baseline.cpuSeconds} s CPU): kernel ×${result.baseline.cpuSpeedup}\n`);
    process.stdout.write(differences === 0 ? `check: ${done} settlements and ${Object.keys(ledgers).length} ledgers identical to the decimal engine's\n` : `check FAILED: ${differences} differences\n`);
  }
  process.stdout.write(`statuses ${JSON.stringify(statuses)}\nchapters ${JSON.stringify(chapters)}\n`);
  const outDir = join(root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'liquidate.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`written ${join(outDir, 'liquidate.json')}\n`);
  if (differences > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
