import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { Bus, BusRecord } from '../../src/bus/bus.js';
import type { TopicName } from '../../src/bus/topics.js';
import { generateFixtures } from '../../src/generate/index.js';
import { ingestDrop, type DropResult } from '../../src/ingest/ingest-drop.js';
import { nirKey, type ActLine } from '../../src/model/act-line.js';
import type { Settlement } from '../../src/model/settlement.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { LIQUIDATION_GROUP, LIQUIDATION_TOPICS } from '../../src/pipeline/keys.js';
import { referencePaths, type ReferencePaths } from '../../src/pipeline/reference.js';
import type { BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';

/**
 * Shared set-up of the pipeline tests: a reference directory (the fixture grids, nomenclature and
 * PMSS, and a generated member file plus one hand-made member), a small generated CSV drop with a
 * few bad records, and helpers to read a topic and wait for the service to catch up.
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The hand-made member (fixtures of test/engine/helpers.ts): adhérent A001, CCN-HLA-BASE since 2024. */
export const HAND_NIR = '1850375123456';
export const HAND_FAMILY = 'A001';

export interface World {
  dir: string;
  reference: ReferencePaths;
  drop: string;
  dropLines: number;
  dropBad: number;
}

/** `<dir>/reference` with the fixture grids, nomenclature and PMSS (the member file is the test's). */
export async function copyReference(dir: string): Promise<ReferencePaths> {
  const refDir = join(dir, 'reference');
  await mkdir(refDir, { recursive: true });
  await cp(join(ROOT, 'fixtures', 'grids'), join(refDir, 'grids'), { recursive: true });
  await cp(join(ROOT, 'fixtures', 'nomenclature.csv'), join(refDir, 'nomenclature.csv'));
  await cp(join(ROOT, 'fixtures', 'pmss.csv'), join(refDir, 'pmss.csv'));
  return referencePaths(refDir);
}

export async function makeWorld(lines = 240, bad = 3): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'noemie-pipeline-'));
  const reference = await copyReference(dir);
  const drop = join(dir, 'drop.csv');
  const generated = await generateFixtures({ seed: 11, lines, format: 'csv', out: drop, nomenclaturePath: reference.nomenclatureFile, beneficiaries: reference.beneficiariesFile, bad });
  await appendFile(reference.beneficiariesFile, `${HAND_FAMILY};${HAND_NIR};${nirKey(HAND_NIR)};1;1985-03-12;A;CCN-HLA-BASE;2024-01-01;;;Y;;;Jean Dupont\n`);
  return { dir, reference, drop, dropLines: generated.drop.lines, dropBad: generated.drop.bad.length };
}

/**
 * The hand line: a GP consultation G on 2025-03-10, BR 30.00, RO 70 % = 21.00, billed 50.00.
 * CCN-HLA-BASE "soins.generalistes" 100 % BR: G = 30.00; AMC = min(30.00 − 21.00, 50.00 − 21.00) = 9.00.
 * With the rule at 150 % BR: G = 45.00; AMC = min(45.00 − 21.00, 50.00 − 21.00) = 24.00.
 */
export function handLine(): ActLine {
  return {
    source: 'noemie', decompteId: 'HAND0001', lineNo: 1, operation: 'I', caisse: '011751001', roPaymentDate: '2025-03-12',
    nir: HAND_NIR, nirKey: nirKey(HAND_NIR), rang: 1, birthDate: '1985-03-12', amcMemberId: HAND_FAMILY, psId: '751234567',
    psSpecialty: '01', psDptm: true, actCode: 'G', side: null, careStart: '2025-03-10', careEnd: '2025-03-10', quantity: 1,
    coefficient: '1', expense: '50.00', br: '30.00', roRate: '70', roAmount: '21.00', pf: '0.00', franchise: '0.00',
    pathway: 'I', tp: '00', accident: false,
  };
}
export const HAND_LINE_KEY = 'noemie-011751001:HAND0001:1';

/** Ingests the drop through the bus sink, then the hand line as a part of its own. */
export async function ingestWorld(bus: Bus, world: World): Promise<DropResult> {
  const sink = new BusIngestSink(bus, { batch: 64 });
  try {
    const result = await ingestDrop(world.drop, { sink });
    await sink.beginPart({ file: 'hand.csv', format: 'csv' });
    await sink.line({ kind: 'line', line: handLine(), origin: { file: 'hand.csv', record: 2 } });
    await sink.commitPart({ file: 'hand.csv', format: 'csv', records: 1, accepted: 1, rejected: 0, decomptes: 1, expense: '50.00', roAmount: '21.00' });
    return result;
  } finally {
    await sink.close();
  }
}

export async function readTopic<T extends TopicName>(bus: Bus, topic: T): Promise<BusRecord<T>[]> {
  const out: BusRecord<T>[] = [];
  for (const { partition, low, high } of await bus.endOffsets(topic)) {
    if (high <= low) continue;
    for await (const batch of bus.readRange(topic, partition, { from: low, to: high })) out.push(...batch);
  }
  return out;
}

export async function waitIdle(bus: Bus, timeoutMs = 60_000, groupId = LIQUIDATION_GROUP): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const lag = await bus.lag(groupId, LIQUIDATION_TOPICS);
    if (lag.every((l) => l.lag === 0)) return;
    if (Date.now() > until) throw new Error(`service still lagging after ${timeoutMs} ms: ${JSON.stringify(lag)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Settlements per partition, in offset order: what must not depend on workers or batch sizes. */
export function byPartition(records: readonly BusRecord<'settlements'>[]): Record<number, Settlement[]> {
  const out: Record<number, Settlement[]> = {};
  for (const r of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) (out[r.partition] ??= []).push(r.value);
  return out;
}

/**
 * Dedupes on (lineKey, version), what downstream does; fails if two copies of one version differ
 * (a redelivery must republish the SAME settlement).
 */
export function dedupe(records: readonly BusRecord<'settlements'>[]): Map<string, Settlement> {
  const out = new Map<string, Settlement>();
  for (const r of records) {
    const k = `${r.value.lineKey}#${r.value.version}`;
    const seen = out.get(k);
    if (seen && JSON.stringify(seen) !== JSON.stringify(r.value)) throw new Error(`two different settlements for ${k}`);
    out.set(k, r.value);
  }
  return out;
}

/** Changes one rule's percentage in the grids of the world (a grid correction). */
export async function setRulePct(world: World, gridId: string, ruleId: string, pct: string): Promise<void> {
  const file = join(world.reference.gridsDir, `${gridId}.json`);
  const grid = JSON.parse(await readFile(file, 'utf8')) as { rules: { id: string; formula: { kind: string; pct?: string }[] }[] };
  const rule = grid.rules.find((r) => r.id === ruleId);
  const term = rule?.formula.find((t) => t.kind === 'pct_br');
  if (!term) throw new Error(`${gridId} has no pct_br rule ${ruleId}`);
  term.pct = pct;
  await writeFile(file, JSON.stringify(grid, null, 2));
}

/** The service alone in a child process (src/pipeline/service-main.ts, compiled). */
export function spawnService(args: string[]): { child: ChildProcess; batches: () => number; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'pipeline', 'service-main.js'), ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn' },
  });
  let out = '';
  let batches = 0;
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    batches += (c.match(/"batch"/g) ?? []).length;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, batches: () => batches, exited, output: () => out };
}

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The members of a beneficiaries.csv as the pipeline reads them: imported as events into a
 * membership store in `home` (what `service-main.js --beneficiaries` does), read through its live index.
 */
/** The world's members as a service reads them (its beneficiaries file imported into a membership store in the world's folder). */
export const worldMembers = (world: World) => membershipIndexOf(world.reference.beneficiariesFile, join(world.dir, 'members-home'));

export async function membershipIndexOf(file: string, home: string): Promise<{ index: BeneficiaryIndex; close: () => Promise<void> }> {
  const { loadBeneficiaries } = await import('../../src/ingest/reference/beneficiaries.js');
  const { eventsOfPopulation } = await import('../../src/pipeline/members-import.js');
  const { MembershipStore } = await import('../../src/pipeline/membership-store.js');
  const store = MembershipStore.open(home);
  await store.apply(eventsOfPopulation([...(await loadBeneficiaries(file)).index.all()]));
  return { index: store.index(), close: () => store.close() };
}

/**
 * A world and its members for the describe block that calls this (made before its tests, removed
 * after them): read `.world` and `.beneficiaries` inside the tests.
 */
export function useWorld(lines?: number, bad?: number): { readonly world: World; readonly beneficiaries: BeneficiaryIndex } {
  let world: World | undefined;
  let members: { index: BeneficiaryIndex; close: () => Promise<void> } | undefined;
  beforeAll(async () => {
    world = await makeWorld(lines, bad);
    members = await worldMembers(world);
  }, 60_000);
  afterAll(async () => {
    await members?.close();
    if (world) await rm(world.dir, { recursive: true, force: true });
  });
  return {
    get world() { return world!; },
    get beneficiaries() { return members!.index; },
  };
}
