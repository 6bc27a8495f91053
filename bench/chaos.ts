import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosOptions } from './chaos/harness.js';
import { renderReport } from './chaos/report.js';
import { root } from './support.js';

/**
 * `npm run chaos -- [--lines 50000] [--kills 20] [--seed 1] [--kafka] [--format zip] [--invoices n]
 *   [--workers 2] [--partitions n] [--dir d] [--json]`
 * The chaos test of "Money safety": an uninterrupted reference run beside a run killed -9 at
 * `--kills` moments over every stage, restarted until it completes; then both homes are compared.
 * Exit 1 when money is unsafe (a line lost or paid twice, an EndToEndId in two files, a broken
 * pain.001, a line settled differently), 2 on a usage error. See bench/README.md, "chaos".
 */
const { values } = parseArgs({
  options: {
    lines: { type: 'string' }, kills: { type: 'string' }, seed: { type: 'string' }, kafka: { type: 'boolean' },
    format: { type: 'string' }, invoices: { type: 'string' }, workers: { type: 'string' }, partitions: { type: 'string' },
    dir: { type: 'string' }, json: { type: 'boolean' }, 'timeout-min': { type: 'string' },
  },
});

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    process.stderr.write(`chaos: --${name} must be a whole number ≥ ${min}, got "${text}"\n`);
    process.exit(2);
  }
  return Number(text);
}

const format = (values.format ?? 'zip') as ChaosOptions['format'];
if (!['noemie', 'csv', 'xml', 'zip'].includes(format)) {
  process.stderr.write(`chaos: --format is noemie, csv, xml or zip, got "${values.format}"\n`);
  process.exit(2);
}
const lines = int('lines', values.lines, 50_000, 10);
const options: ChaosOptions = {
  lines,
  kills: int('kills', values.kills, 20, 0),
  seed: int('seed', values.seed, 1, 0),
  bus: values.kafka ? 'kafka' : 'embedded',
  format,
  invoices: int('invoices', values.invoices, Math.round(lines / 2000), 0),
  workers: int('workers', values.workers, 2, 1),
  ...(values.partitions !== undefined ? { partitions: int('partitions', values.partitions, 4, 1) } : {}),
  ...(values.dir !== undefined ? { dir: values.dir } : {}),
  childTimeoutMs: int('timeout-min', values['timeout-min'], 60, 1) * 60_000,
  log: (l) => process.stderr.write(`${l}\n`),
};

const report = await runChaos(options);
mkdirSync(join(root, 'bench', 'out'), { recursive: true });
const out = join(root, 'bench', 'out', `chaos-${options.bus}-${options.lines}-${options.kills}-${options.seed}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...report }, null, 2)}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else process.stdout.write(`${renderReport(report)}\n(report written to ${out})\n`);
process.exitCode = report.moneyUnsafe.length > 0 ? 1 : 0;
