import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Rng } from '../../src/generate/prng.js';
import { TOPIC_NAMES } from '../../src/bus/index.js';
import type { KafkaSettings } from '../../src/config.js';
import { compareHomes, moneyUnsafe, summarize, type Findings, type Summary } from './compare.js';
import { embeddedProbe, kafkaProbe, type LagProbe } from './probe.js';
import { runChild, type ChildResult, type KillPlan } from './runner.js';
import { snapshotHome, type BusAccess } from './snapshot.js';
import { STAGES, stageDurations, type PaymentStep, type Position, type Stage } from './stages.js';
import { publishSample } from '../../src/pipeline/reference-store.js';

/**
 * The chaos test of "Money safety" (bench/README.md, "chaos"): one generated drop, an uninterrupted
 * reference run on one home, and on a second home the same run killed with SIGKILL at `kills`
 * moments spread over every stage, restarted until a run completes; then both homes are compared
 * (compare.ts). Everything the children write stays under `dir` (their TMPDIR too, so a spool left
 * behind is found and cannot be confused with another process's).
 */
export interface ChaosOptions {
  lines: number;
  kills: number;
  seed: number;
  bus: 'embedded' | 'kafka';
  format: 'noemie' | 'csv' | 'xml' | 'zip';
  /** invoice uploads beside the drop (each a drop of its own) */
  invoices: number;
  workers: number;
  /** work directory; default a fresh one under os.tmpdir() */
  dir?: string;
  /** Kafka: partitions of every topic (the test broker keeps ≤ 5 MiB a partition) */
  partitions?: number;
  /** give up on a child after this long (ms) */
  childTimeoutMs?: number;
  /** progress lines (stderr of the harness) */
  log?: (line: string) => void;
}

export interface KillRecord {
  planned: { stage: Stage; step?: PaymentStep; fraction: number };
  landed: { stage: Position; step?: PaymentStep; atMs: number; liquidationLag: number | null; reconcileLag: number | null } | null;
  /** the child ended on its own before the kill */
  outcome: ChildResult['outcome'];
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>;
  dir: string;
  linesIn: number;
  reference: { seconds: number; stages: Record<string, number> };
  chaos: {
    seconds: number; runs: number; restarts: number; kills: KillRecord[]; killsPerStage: Record<string, number>; completed: boolean;
    /** kills that cut the reconcile service with records still to take (it runs beside liquidation) */
    killsWithReconcileWorkLeft: number;
  };
  findings: Findings;
  summary: Summary;
  moneyUnsafe: string[];
}

const root = (() => {
  const here = new URL('.', import.meta.url).pathname;
  for (const up of ['../..', '../../..']) if (existsSync(resolve(here, up, 'package.json'))) return resolve(here, up);
  throw new Error('repository root not found');
})();

const run = promisify(execFile);

/** Kill plan: `kills` spread evenly over the stages (remainders drawn), in stage order, each at a random fraction of its stage. */
export function planKills(kills: number, rng: Rng): { stage: Stage; step?: PaymentStep; fraction: number }[] {
  const per = new Map<Stage, number>(STAGES.map((s) => [s, Math.floor(kills / STAGES.length)]));
  const rest = [...STAGES];
  for (let i = 0; i < kills % STAGES.length; i++) {
    const s = rest.splice(Math.floor(rng.next() * rest.length), 1)[0]!;
    per.set(s, per.get(s)! + 1);
  }
  const plan: { stage: Stage; step?: PaymentStep; fraction: number }[] = [];
  for (const s of STAGES) {
    for (let i = 0; i < per.get(s)!; i++) {
      // payment: in turn while the run's files are written, while the ledger takes the inputs, while the run is decided
      const step: PaymentStep | undefined = s === 'payment' ? (['write', 'consume', 'files'] as const)[i % 3] : undefined;
      plan.push({ stage: s, ...(step ? { step } : {}), fraction: rng.next() });
    }
  }
  return plan;
}

interface Generated {
  dropDir: string;
  beneficiaries: string;
  lines: number;
}

async function generate(o: ChaosOptions, dir: string): Promise<Generated> {
  const dropDir = join(dir, 'drop');
  const beneficiaries = join(dir, 'beneficiaries.csv');
  rmSync(dropDir, { recursive: true, force: true });
  mkdirSync(dropDir, { recursive: true });
  const args = [
    join(root, 'bin', 'noemie.js'), 'fixtures', 'generate', '--lines', String(o.lines), '--seed', String(o.seed), '--format', o.format,
    '--out', `${dropDir}/`, '--beneficiaries', beneficiaries, '--tp-claims', '--json',
    ...(o.invoices > 0 ? ['--invoices', String(o.invoices), '--invoices-dir', dropDir] : []),
  ];
  const { stdout } = await run(process.execPath, args, { cwd: root, maxBuffer: 64 << 20 });
  // --json: stdout holds the one document (schemas/cli/fixtures-generate.schema.json), pretty-printed
  const result = JSON.parse(stdout) as { drop: { lines: number } };
  return { dropDir, beneficiaries, lines: result.drop.lines };
}

interface Home {
  name: string;
  home: string;
  tmp: string;
  env: NodeJS.ProcessEnv;
  access: BusAccess;
  probe: LagProbe;
  logFile: string;
}

async function prepareHome(name: string, dir: string, gen: Generated, kafka: { brokers: string[]; partitions: number } | undefined): Promise<Home> {
  const home = join(dir, name);
  const tmp = join(dir, `tmp-${name}`);
  rmSync(home, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(home, 'inbox'), { recursive: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of readdirSync(gen.dropDir)) cpSync(join(gen.dropDir, f), join(home, 'inbox', f));
  // The home's reference data: the sample's grids, nomenclature, PMSS and professionals' accounts
  // (what the generator writes drops for); noemie run reads nothing from fixtures/ by itself.
  await publishSample(home);
  const prefix = `chaos-${name}-`;
  // The per-run payment ceiling is lifted on both homes: it makes what one run pays depend on how
  // many runs there were (each restart's run has its own budget), which is its purpose, but then an
  // interrupted series of runs cannot be compared with one run. The per-order ceiling stays.
  const env: NodeJS.ProcessEnv = { ...process.env, NOEMIE_HOME: home, TMPDIR: tmp, NOEMIE_LOG_LEVEL: 'info', NOEMIE_PAYMENT_MAX_RUN: '999999999.99' };
  delete env.KAFKA_BROKERS;
  let access: BusAccess = { kind: 'embedded', home };
  let probe: LagProbe = embeddedProbe(home);
  if (kafka) {
    Object.assign(env, { KAFKA_TOPIC_PREFIX: prefix, NOEMIE_PARTITIONS: String(kafka.partitions), KAFKA_COMPRESSION: 'gzip', KAFKA_SESSION_TIMEOUT_MS: '3000' });
    const settings: KafkaSettings = { brokers: kafka.brokers, clientId: `noemie-chaos-${name}`, ssl: false, sessionTimeout: 3000, topicPrefix: prefix, compression: 'gzip' };
    access = { kind: 'kafka', settings };
    probe = await kafkaProbe(settings);
  }
  return { name, home, tmp, env, access, probe, logFile: join(dir, `${name}.log`) };
}

function runArgs(h: Home, gen: Generated, o: ChaosOptions, kafka: { brokers: string[] } | undefined): string[] {
  return [
    process.execPath, join(root, 'bin', 'noemie.js'), 'run', '--once', '--home', h.home, '--beneficiaries', gen.beneficiaries,
    '--stable-ms', '0', '--workers', String(o.workers), ...(kafka ? ['--kafka', kafka.brokers.join(',')] : []),
  ];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const dir = resolve(o.dir ?? join(tmpdir(), `noemie-chaos-${o.bus}-${o.lines}-${o.seed}`));
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(o.seed ^ 0x5eed);
  const timeout = o.childTimeoutMs ?? 60 * 60_000;

  log(`generating ${o.lines} lines (${o.format}, seed ${o.seed}) into ${dir}/drop`);
  const gen = await generate(o, dir);

  let broker: { stop(): Promise<void>; brokers(): string[] } | undefined;
  let kafka: { brokers: string[]; partitions: number } | undefined;
  if (o.bus === 'kafka') {
    const partitions = o.partitions ?? Math.max(4, Math.ceil(o.lines / 2500));
    // the harness reads the topics too: its own partition count must be the children's
    process.env.NOEMIE_PARTITIONS = String(partitions);
    const { startTestBroker } = await import('../../test/support/kafka-mock.js');
    const topics = ['reference', 'chaos'].flatMap((n) => TOPIC_NAMES.map((t) => `chaos-${n}-${t}`));
    broker = await startTestBroker({ partitions, topics });
    kafka = { brokers: broker.brokers(), partitions };
    log(`test broker on ${kafka.brokers.join(',')}, ${partitions} partitions per topic`);
  }

  const homes: Home[] = [];
  try {
    const ref = await prepareHome('reference', dir, gen, kafka);
    homes.push(ref);
    log('reference run (uninterrupted)…');
    const refRun = await runChild({ timeoutMs: timeout, cmd: runArgs(ref, gen, o, kafka), cwd: root, env: ref.env, probe: ref.probe, paymentsDir: join(ref.home, 'payments'), logFile: ref.logFile, label: 'reference' });
    if (refRun.outcome !== 'completed') throw new Error(`the reference run did not complete (exit ${refRun.code}); see ${ref.logFile}:\n${refRun.stdoutTail.join('\n')}`);
    const durations = stageDurations(refRun.entered, refRun.elapsedMs);
    log(`reference: ${(refRun.elapsedMs / 1000).toFixed(1)} s — ${Object.entries(durations).map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    const refLag = gen.lines;

    const chaos = await prepareHome('chaos', dir, gen, kafka);
    homes.push(chaos);
    const plan = planKills(o.kills, rng);
    const kills: KillRecord[] = [];
    const chaosStart = performance.now();
    let runs = 0;
    let completed = false;
    for (const p of plan) {
      const base = p.stage === 'payment' ? durations[`payment-${p.step ?? 'consume'}`] : durations[p.stage];
      const killPlan: KillPlan = {
        stage: p.stage,
        ...(p.step ? { step: p.step } : {}),
        delayMs: ({ liquidationLag }) => {
          // what is left to liquidate after earlier kills is shorter than the reference's whole stage
          const scale = p.stage === 'liquidation' && liquidationLag !== null ? Math.min(1, liquidationLag / Math.max(1, refLag)) : 1;
          return p.fraction * base * scale;
        },
      };
      runs += 1;
      const r = await runChild({ timeoutMs: timeout, cmd: runArgs(chaos, gen, o, kafka), cwd: root, env: chaos.env, probe: chaos.probe, paymentsDir: join(chaos.home, 'payments'), kill: killPlan, logFile: chaos.logFile, label: `chaos run ${runs}: kill planned in ${p.stage}${p.step ? `/${p.step}` : ''} at ${(p.fraction * 100).toFixed(0)} %` });
      kills.push({ planned: p, landed: r.killedIn ?? null, outcome: r.outcome });
      log(`  run ${runs}: planned ${p.stage}${p.step ? `/${p.step}` : ''} @${(p.fraction * 100).toFixed(0)} % → ${r.outcome}${r.killedIn ? ` in ${r.killedIn.stage}${r.killedIn.step ? `/${r.killedIn.step}` : ''} at ${(r.killedIn.atMs / 1000).toFixed(2)} s (left: ${r.killedIn.liquidationLag ?? '?'} lines to liquidate, ${r.killedIn.reconcileLag ?? '?'} records to reconcile)` : ` (exit ${r.code})`}`);
      if (r.outcome === 'failed') log(`    the run failed on its own: ${r.stdoutTail.slice(-3).join(' | ')}`);
    }
    // restart until a run completes (a failed run is retried too: a restart is what ops would do)
    for (let attempt = 0; attempt < 5 && !completed; attempt++) {
      runs += 1;
      const r = await runChild({ timeoutMs: timeout, cmd: runArgs(chaos, gen, o, kafka), cwd: root, env: chaos.env, probe: chaos.probe, paymentsDir: join(chaos.home, 'payments'), logFile: chaos.logFile, label: `chaos run ${runs}: to completion` });
      completed = r.outcome === 'completed';
      log(`  run ${runs}: to completion → ${r.outcome} (exit ${r.code}) in ${(r.elapsedMs / 1000).toFixed(1)} s`);
    }
    const chaosSeconds = (performance.now() - chaosStart) / 1000;

    log('comparing…');
    const [refSnap, chaosSnap] = [await snapshotHome(ref.home, ref.access, ref.tmp), await snapshotHome(chaos.home, chaos.access, chaos.tmp)];
    const findings = compareHomes(refSnap, chaosSnap);
    const summary = summarize(findings);
    const killsPerStage: Record<string, number> = Object.fromEntries([...STAGES, 'done'].map((s) => [s, 0]));
    for (const k of kills) if (k.landed) killsPerStage[k.landed.stage] = (killsPerStage[k.landed.stage] ?? 0) + 1;
    const { log: _log, ...options } = o;
    return {
      options,
      dir,
      linesIn: gen.lines,
      reference: { seconds: refRun.elapsedMs / 1000, stages: Object.fromEntries(Object.entries(durations).map(([s, ms]) => [s, Math.round(ms) / 1000])) },
      chaos: { seconds: chaosSeconds, runs, restarts: runs - 1, kills, killsPerStage, completed, killsWithReconcileWorkLeft: kills.filter((k) => (k.landed?.reconcileLag ?? 0) > 0).length },
      findings,
      summary,
      moneyUnsafe: [...(completed ? [] : ['no run completed after the kills']), ...moneyUnsafe(summary)],
    };
  } finally {
    for (const h of homes) await h.probe.close().catch(() => undefined);
    await broker?.stop();
  }
}
