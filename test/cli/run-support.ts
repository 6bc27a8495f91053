import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { encodeCsv } from '../../src/ingest/csv/encode.js';
import { nirKey, type ActLine } from '../../src/model/act-line.js';
import { MEMBERSHIP_COLUMNS } from '../../src/model/membership.js';
import type { Settlement } from '../../src/model/settlement.js';
import { readAll } from '../pipeline/stages-given.js';
import { runNoemie, type CliResult } from '../support/cli.js';

/**
 * Given / when / then for `noemie run --once` on a home of the test's own: a members feed and a
 * décompte CSV dropped in the inbox as a user would, then what the run published and paid.
 */
export const FEED_IBAN = 'FR7630004000031234567890143';

/** A home of the test's own (a temporary directory), removed when the test ends. */
export async function tempHome(prefix: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(home, { recursive: true, force: true }));
  return home;
}

/** A home of the test's own with the sample's reference data imported and an empty inbox, as before a first run. */
export async function homeWithReference(prefix: string): Promise<{ home: string; inbox: string }> {
  const home = await tempHome(prefix);
  const inbox = join(home, 'inbox');
  await mkdir(inbox, { recursive: true });
  const imported = await runNoemie(['reference', 'import', '--home', home, '--sample']);
  expect(imported.code, imported.err).toBe(0);
  return { home, inbox };
}

/** `noemie run --once` on `home` (no wait for files to settle, one worker), in this process. */
export const runOnce = (home: string, ...args: string[]): Promise<CliResult> =>
  runNoemie(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1', ...args]);

/** The same, which must exit 0 (what it printed is the failure's message). */
export async function runOnceOk(home: string, ...args: string[]): Promise<CliResult> {
  const r = await runOnce(home, ...args);
  expect(r.code, r.out + r.err).toBe(0);
  return r;
}

/** What a run that has nothing new to do prints: no settlement, no order. */
export function expectNothingNew(out: string): void {
  expect(out).toMatch(/liquidation: 0 lines, 0 settlements published/);
  expect(out).toMatch(/payment run \S+: 0 orders/);
}

export async function settlementsOf(home: string): Promise<Settlement[]> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
  try {
    return await readAll(bus, 'settlements');
  } finally {
    await bus.close();
  }
}

/** The last version of each line. */
export function latest(settlements: readonly Settlement[]): Map<string, Settlement> {
  const m = new Map<string, Settlement>();
  for (const s of settlements) if ((m.get(s.lineKey)?.version ?? 0) < s.version) m.set(s.lineKey, s);
  return m;
}

/**
 * The versions of the line of décompte `decompteId`, oldest first, deduped on (lineKey, version)
 * as downstream does (a re-liquidation's outbox can be published again: README "Re-liquidation");
 * copies of one version must be identical.
 */
export function versionsOf(settlements: readonly Settlement[], decompteId: string): Settlement[] {
  const byVersion = new Map<number, Settlement>();
  for (const s of settlements.filter((x) => x.lineKey.includes(`:${decompteId}:`))) {
    const seen = byVersion.get(s.version);
    if (seen && JSON.stringify(seen) !== JSON.stringify(s)) throw new Error(`two contents for ${s.lineKey} version ${s.version}`);
    byVersion.set(s.version, s);
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

export interface Order { payee: string; kind: string; amount: string; iban: string | null; debtAfter: string; lines: { lineKey: string; version: number; amount: string }[] }
export async function ordersOf(out: string): Promise<Order[]> {
  const file = /orders: +(.+\.ndjson)/.exec(out)?.[1];
  if (!file) return [];
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Order);
}

/** A 13-digit NIR of a man born in March 1985, numbered `i`. */
export const nirOf = (i: number) => `18503751${String(i).padStart(5, '0')}`;

/** One members feed row: the columns of formats.md, the others left empty. */
export function feedRow(cells: Partial<Record<(typeof MEMBERSHIP_COLUMNS)[number], string>>): string {
  return MEMBERSHIP_COLUMNS.map((k) => cells[k] ?? '').join(';');
}

/** A family of one (the holder), created on `start` under `contracts`, paid to FEED_IBAN. */
export function holderCreated(adherentId: string, nir: string, contracts: string, start = '2024-01-01'): string {
  return feedRow({
    event_id: `ev-created-${adherentId}`, event_type: 'family_created', effective_date: start, adherent_id: adherentId, nir, nir_key: nirKey(nir), rang: '1',
    birth_date: '1985-03-12', role: 'A', contracts, noemie: 'Y', iban: FEED_IBAN, bic: 'BNPAFRPPXXX', name: `Member ${adherentId}`,
  });
}

export async function writeFeed(inbox: string, name: string, rows: readonly string[]): Promise<void> {
  await writeFile(join(inbox, name), `${[MEMBERSHIP_COLUMNS.join(';'), ...rows].join('\n')}\n`);
}

/**
 * A GP consultation G paid to the member (no tiers payant), by an OPTAM doctor: BR 30.00, RO 70 %
 * = 21.00, billed 50.00 — the hand line of test/pipeline/liquidation-support.ts, for another person.
 */
export function gpLine(decompteId: string, nir: string, adherentId: string, careDate: string, over: Partial<ActLine> = {}): ActLine {
  return {
    source: 'noemie', decompteId, lineNo: 1, operation: 'I', caisse: '011751001', roPaymentDate: careDate,
    nir, nirKey: nirKey(nir), rang: 1, birthDate: '1985-03-12', amcMemberId: adherentId, psId: '751234567',
    psSpecialty: '01', psDptm: true, actCode: 'G', side: null, careStart: careDate, careEnd: careDate, quantity: 1,
    coefficient: '1', expense: '50.00', br: '30.00', roRate: '70', roAmount: '21.00', pf: '0.00', franchise: '0.00',
    pathway: 'I', tp: '00', accident: false, ...over,
  };
}

export async function writeDrop(inbox: string, name: string, lines: readonly ActLine[]): Promise<void> {
  await writeFile(join(inbox, name), [...encodeCsv(lines)].join(''));
}
