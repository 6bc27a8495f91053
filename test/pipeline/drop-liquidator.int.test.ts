import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LiquidationKernel, emptyState, liquidateAllDecimal, stateKeyOf, type Ledgers } from '../../src/engine/index.js';
import { DEFAULT_WINDOW, buildPopulation, defaultFamilies, generateActLines, readNomenclature } from '../../src/generate/index.js';
import type { Beneficiary } from '../../src/model/reference.js';
import { DropLiquidator } from '../../src/pipeline/drop-liquidator.js';
import { DropShard, type ShardRequest } from '../../src/pipeline/drop-shard.js';
import { LEDGER_SPILL_PREFIX } from '../../src/pipeline/ledger-spill.js';
import { assembleLedgers, piecesOf, type LedgerPiece } from '../../src/pipeline/drop-ledger-pieces.js';
import { GRIDS, NOMENCLATURE, PMSS } from '../engine/helpers.js';

/**
 * `noemie liquidate`'s shards (src/pipeline/drop-liquidator.ts): families spread over worker
 * threads that keep their ledgers for the run. Whatever the number of threads and batches, the
 * settlements and ledgers must be the decimal engine's over the same lines in input order.
 */
const ROOT = join(import.meta.dirname, '../..');
const REFERENCE = { grids: GRIDS, nomenclature: NOMENCLATURE, pmss: PMSS };
const AS_OF = DEFAULT_WINDOW.to;

function generated(lines: number, seed: number): ShardRequest[] {
  const population = buildPopulation(seed, defaultFamilies(lines), DEFAULT_WINDOW);
  const byPerson = new Map<string, Beneficiary>(population.people.map((p) => [`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary]));
  return [...generateActLines({ seed, lines, population, nomenclature: readNomenclature(join(ROOT, 'fixtures/nomenclature.csv')) })].map((line) => ({ line, beneficiary: byPerson.get(`${line.nir}-${line.rang}`) ?? null }));
}

const decimal = (requests: readonly ShardRequest[], ledgers: Ledgers = {}) =>
  liquidateAllDecimal(requests.map((r) => ({ line: r.line, beneficiary: r.beneficiary ?? undefined })), { ...REFERENCE, asOf: AS_OF }, ledgers);

const ndjson = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The ledgers a dump's pieces make, checking that no piece comes twice. */
async function collect(chunks: AsyncIterable<LedgerPiece[]>): Promise<Record<string, Ledgers[string]>> {
  const all: LedgerPiece[] = [];
  const seen = new Set<string>();
  for await (const chunk of chunks) {
    for (const piece of chunk) {
      const id = 'head' in piece ? `${piece.family} head` : `${piece.family} ${piece.line}`;
      expect(seen.has(id), `${id} dumped twice`).toBe(false);
      seen.add(id);
    }
    all.push(...chunk);
  }
  return assembleLedgers(all);
}

const piecesOfLedgers = (ledgers: Ledgers) => Object.entries(ledgers).flatMap(([family, state]) => [...piecesOf(family, state)]);

describe('noemie liquidate shards', () => {
  it('two worker threads, batches in flight: settlements in input order and ledgers equal the decimal engine over the same lines', async () => {
    const requests = generated(6_000, 11);
    const expected = decimal(requests);
    const liquidator = DropLiquidator.open({ workers: 2, reference: REFERENCE });
    try {
      expect(liquidator.width).toBe(2);
      // Three batches submitted before the first is awaited: a family's lines still go in input order.
      const batches = [requests.slice(0, 2_500), requests.slice(2_500, 2_501), requests.slice(2_501)];
      const results = await Promise.all(batches.map((b) => liquidator.liquidate(b, AS_OF)));
      const text = results.map((r) => ndjson(r.bytes)).join('');
      expect(text).toBe(expected.settlements.map((s) => `${JSON.stringify(s)}\n`).join(''));
      expect(results.flatMap((r) => [...r.ends].map((e, i) => e - (i === 0 ? 0 : r.ends[i - 1]!)))).toEqual(expected.settlements.map((s) => Buffer.byteLength(`${JSON.stringify(s)}\n`)));
      // Statuses and the AMC total, summed by hand from the engine's settlements.
      const statuses: Record<string, number> = {};
      let cents = 0;
      for (const s of expected.settlements) {
        statuses[s.status] = (statuses[s.status] ?? 0) + 1;
        cents += Math.round(Number(s.amcAmount.replace('.', '')));
      }
      const merged: Record<string, number> = {};
      for (const r of results) for (const [k, n] of Object.entries(r.statuses)) merged[k] = (merged[k] ?? 0) + n;
      expect(merged).toEqual(statuses);
      const total = results.reduce((c, r) => c + Math.round(Number(r.amcTotal.replace('.', ''))), 0);
      expect(total).toBe(cents);
      // Every family is on exactly one thread, and the ledgers come back whole.
      const dumped = await collect(liquidator.dump(100));
      expect(Object.keys(dumped).sort()).toEqual(Object.keys(expected.ledgers).sort());
      // (a ledger's line records come back in lineKey order: maps, compared as maps)
      for (const [family, ledger] of Object.entries(expected.ledgers)) expect(dumped[family], family).toEqual(ledger);
    } finally {
      await liquidator.close();
    }
  }, 120_000);

  it('ledgers loaded from a previous run (--state) are routed to the thread of their family: forfaits consumed before are not consumed again', async () => {
    const requests = generated(4_000, 12);
    const [first, second] = [requests.slice(0, 2_000), requests.slice(2_000)];
    const before = decimal(first);
    const expected = decimal(second, before.ledgers);
    const liquidator = DropLiquidator.open({ workers: 2, reference: REFERENCE });
    try {
      await liquidator.load(piecesOfLedgers(before.ledgers));
      const result = await liquidator.liquidate(second, AS_OF);
      expect(ndjson(result.bytes)).toBe(expected.settlements.map((s) => `${JSON.stringify(s)}\n`).join(''));
      // A wrong routing would liquidate a family against an empty ledger: its counters would start again.
      const fresh = decimal(second);
      expect(ndjson(result.bytes)).not.toBe(fresh.settlements.map((s) => `${JSON.stringify(s)}\n`).join(''));
    } finally {
      await liquidator.close();
    }
  }, 120_000);

  it("the kernel's exclusive mode writes a family's ledger in place and decides as `liquidate` does", () => {
    const requests = generated(3_000, 13).map((r) => ({ line: r.line, beneficiary: r.beneficiary ?? undefined }));
    const kernel = new LiquidationKernel(REFERENCE);
    const exclusive = kernel.exclusive();
    const ledgers = new Map<string, ReturnType<typeof exclusive>['state']>();
    let inPlace = 0;
    const settlements = requests.map((request) => {
      const key = stateKeyOf(request);
      const before = ledgers.get(key);
      const { settlement, state } = exclusive(request, AS_OF, before ?? emptyState());
      if (before !== undefined && state === before) inPlace += 1;
      ledgers.set(key, state);
      return JSON.stringify(settlement);
    });
    expect(settlements).toEqual(decimal(requests.map((r) => ({ line: r.line, beneficiary: r.beneficiary ?? null }))).settlements.map((s) => JSON.stringify(s)));
    expect(inPlace).toBeGreaterThan(requests.length / 2);
  }, 120_000);

  it('in-thread shard (--workers 0) gives the same bytes as the threads', async () => {
    const requests = generated(2_000, 14);
    const shard = new DropShard(REFERENCE);
    const liquidator = DropLiquidator.open({ workers: 2, reference: REFERENCE });
    try {
      expect(ndjson((await liquidator.liquidate(requests, AS_OF)).bytes)).toBe(ndjson(shard.liquidate({ requests, asOf: AS_OF }).bytes));
    } finally {
      await liquidator.close();
    }
  }, 120_000);

  it('line records past the memory budget go to an encrypted scratch store and come back for an annulation: same settlements and ledgers, the store removed at close', async () => {
    const generatedLines = generated(6_000, 15);
    // Annulations of early lines at the end: their records were spilled long before
    const annulled = generatedLines.filter((r) => r.line.operation === 'I').slice(0, 40);
    const requests = [...generatedLines, ...annulled.map((r) => ({ ...r, line: { ...r.line, operation: 'A' as const } }))];
    const expected = decimal(requests);
    // 300 line records in memory at most between batches
    const shard = new DropShard(REFERENCE, { residentLines: 300 });
    let text = '';
    for (let i = 0; i < requests.length; i += 500) {
      text += ndjson(shard.liquidate({ requests: requests.slice(i, i + 500), asOf: AS_OF }).bytes);
      expect(shard.ledgers.residentLines).toBeLessThanOrEqual(300);
    }
    expect(text).toBe(expected.settlements.map((s) => `${JSON.stringify(s)}\n`).join(''));
    // the annulations gave back what their lines had paid: they found the spilled records
    const annulments = expected.settlements.slice(generatedLines.length);
    expect(annulments.some((s) => s.amcAmount.startsWith('-'))).toBe(true);
    expect(shard.ledgers.stats.spilled).toBeGreaterThan(5_000);
    expect(shard.ledgers.stats.reloaded).toBeGreaterThanOrEqual(annulled.length);
    const spillDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`${LEDGER_SPILL_PREFIX}${process.pid}-`));
    const [dir] = spillDirs();
    expect(dir).toBeDefined();
    // the ledgers' counter keys hold NIRs: none may be readable in the spill file
    const stored = readFileSync(join(tmpdir(), dir!, 'lines.mdb'));
    const nirs = [...new Set(requests.map((r) => r.line.nir))];
    expect(nirs.filter((nir) => stored.includes(nir))).toEqual([]);
    const dumped = await collect((async function* () {
      for (let chunk = shard.dump(64); chunk !== null; chunk = shard.dump(64)) yield chunk;
    })());
    // a shard that starts from those pieces (--state) liquidates the next lines as the decimal engine does after them
    const more = generated(1_000, 17);
    const reloaded = new DropShard(REFERENCE, { residentLines: 300 });
    reloaded.load(piecesOfLedgers(dumped));
    expect(ndjson(reloaded.liquidate({ requests: more, asOf: AS_OF }).bytes)).toBe(decimal(more, expected.ledgers).settlements.map((s) => `${JSON.stringify(s)}\n`).join(''));
    reloaded.close();
    expect(Object.keys(dumped).sort()).toEqual(Object.keys(expected.ledgers).sort());
    for (const [family, ledger] of Object.entries(expected.ledgers)) expect(dumped[family], family).toEqual(ledger);
    shard.close();
    expect(spillDirs()).toEqual([]);
  }, 120_000);

  it('threads with a small budget give the same bytes as a shard that keeps everything', async () => {
    const requests = generated(3_000, 16);
    const whole = new DropShard(REFERENCE);
    const liquidator = DropLiquidator.open({ workers: 2, reference: REFERENCE, residentLines: 100 });
    try {
      const batches = [requests.slice(0, 1_000), requests.slice(1_000, 2_000), requests.slice(2_000)];
      const results = await Promise.all(batches.map((b) => liquidator.liquidate(b, AS_OF)));
      expect(results.map((r) => ndjson(r.bytes)).join('')).toBe(ndjson(whole.liquidate({ requests, asOf: AS_OF }).bytes));
    } finally {
      await liquidator.close();
      whole.close();
    }
  }, 120_000);
});
