import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LiquidationKernel, digestOf, emptyState, fnv1a64, hashInputs, lineHashOf, lineRecord, liquidate, liquidateAllDecimal, type EngineState, type Ledgers, type LineRecord, type LiquidationRequest } from '../../src/engine/index.js';
import { LineHasher } from '../../src/engine/hash.js';
import { divHalfUp, money, pctOfCents, ratio } from '../../src/engine/kernel/cents.js';
import { bucketOf } from '../../src/engine/kernel/kernel.js';
import { lineBucket } from '../../src/engine/state.js';

const HEX_DIGITS = '0123456789abcdef';
import { DEFAULT_WINDOW, buildPopulation, defaultFamilies, generateActLines, readNomenclature } from '../../src/generate/index.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { Settlement } from '../../src/model/settlement.js';
import { liquidateLines } from '../../src/pipeline/liquidate-lines.js';
import { BASE, GRIDS, NOMENCLATURE, OPT2, PMSS, RELAXEO, context, line, person } from './helpers.js';

/**
 * The kernel (src/engine/kernel: integer cents, compiled grids, copy-on-write ledgers) against the
 * decimal.js engine (`liquidateAllDecimal`, the per-line `liquidate`): same settlements, key order
 * and texts included, and same ledgers, on 100 000 generated lines of every poste.
 */

const ROOT = join(import.meta.dirname, '../..');
const REFERENCE = { grids: GRIDS, nomenclature: NOMENCLATURE, pmss: PMSS };

function generated(lines: number, seed: number): LiquidationRequest[] {
  const population = buildPopulation(seed, defaultFamilies(lines), DEFAULT_WINDOW);
  const byPerson = new Map<string, Beneficiary>(population.people.map((p) => [`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary]));
  const requests: LiquidationRequest[] = [];
  for (const l of generateActLines({ seed, lines, population, nomenclature: readNomenclature(join(ROOT, 'fixtures/nomenclature.csv')) })) {
    requests.push({ line: l, beneficiary: byPerson.get(`${l.nir}-${l.rang}`) });
  }
  return requests;
}

describe('kernel = decimal.js engine', () => {
  it('100 000 generated lines (every poste, annulations, re-issues, unknown people): identical settlements and ledgers, most on the integer path', () => {
    const requests = generated(100_000, 7);
    const ctx = context({ asOf: DEFAULT_WINDOW.to });
    const kernel = new LiquidationKernel(ctx);
    let kernelLedgers: Ledgers = {};
    let decimalLedgers: Ledgers = {};
    const differences: string[] = [];
    const chapters = new Set<string>();
    let layered = 0;
    let counted = 0;
    const chunk = 25_000;
    for (let from = 0; from < requests.length; from += chunk) {
      const batch = requests.slice(from, from + chunk);
      const d = liquidateAllDecimal(batch, ctx, decimalLedgers);
      const fast = kernel.stats.fast;
      const k = kernel.liquidateAll(batch, ctx.asOf, kernelLedgers);
      expect(kernel.stats.fast).toBeGreaterThan(fast);
      decimalLedgers = d.ledgers;
      kernelLedgers = k.ledgers;
      batch.forEach((_, i) => {
        const a = JSON.stringify(d.settlements[i]);
        const b = JSON.stringify(k.settlements[i]);
        if (a !== b && differences.length < 3) differences.push(`line ${from + i}\n decimal ${a}\n kernel  ${b}`);
        const s = k.settlements[i]!;
        if (s.poste) chapters.add(s.poste.split('.')[0]!);
        if (s.parts.length > 1 && s.status === 'paid') layered += 1;
        if (s.counters.length > 0) counted += 1;
      });
    }
    expect(differences).toEqual([]);
    expect(Object.keys(kernelLedgers).sort()).toEqual(Object.keys(decimalLedgers).sort());
    for (const key of Object.keys(decimalLedgers)) {
      if (JSON.stringify(kernelLedgers[key]) !== JSON.stringify(decimalLedgers[key])) differences.push(`ledger ${key}`);
    }
    expect(differences).toEqual([]);
    // The drop exercises what the kernel computes, and the kernel did compute it.
    expect([...chapters].sort()).toEqual(expect.arrayContaining(['audio', 'dentaire', 'hospi', 'optique', 'soins']));
    expect(layered).toBeGreaterThan(1_000);
    expect(counted).toBeGreaterThan(1_000);
    expect(kernel.stats.fast + kernel.stats.fallback).toBe(100_000);
    // Annulations are on the integer path too: what is left for decimal.js is stays across a period
    // boundary and annulations of annulled lines (≈ 0.2 % of this drop).
    expect(kernel.stats.fallback / 100_000).toBeLessThan(0.005);
  }, 600_000);

  it('never changes the ledgers it is given (copy-on-write), and two batches equal one', () => {
    const requests = generated(6_000, 3);
    const ctx = context({ asOf: DEFAULT_WINDOW.to });
    const first = new LiquidationKernel(ctx).liquidateAll(requests.slice(0, 3_000), ctx.asOf);
    const frozen = JSON.stringify(first.ledgers);
    const second = new LiquidationKernel(ctx).liquidateAll(requests.slice(3_000), ctx.asOf, first.ledgers);
    expect(JSON.stringify(first.ledgers)).toBe(frozen);
    const whole = new LiquidationKernel(ctx).liquidateAll(requests, ctx.asOf);
    expect(JSON.stringify(second.ledgers)).toBe(JSON.stringify(whole.ledgers));
    expect(JSON.stringify([...first.settlements, ...second.settlements])).toBe(JSON.stringify(whole.settlements));
  });
});

describe('kernel = decimal.js engine on the edges of its guards and of annulations', () => {
  // Each sequence runs through the kernel and through the decimal engine alone; settlements (JSON
  // text) and ledgers must be the same. `fast` counts the lines the kernel decided in cents: the
  // eligibility guard and the annulation port are only worth testing if they are reached.
  function both(requests: LiquidationRequest[]): { kernel: Settlement[]; fast: number } {
    const ctx = context({ asOf: '2026-06-30' });
    const k = new LiquidationKernel(ctx);
    const kernel = k.liquidateAll(requests, ctx.asOf);
    const decimal = liquidateAllDecimal(requests, ctx);
    expect(kernel.settlements.map((s) => JSON.stringify(s))).toEqual(decimal.settlements.map((s) => JSON.stringify(s)));
    expect(JSON.stringify(kernel.ledgers)).toBe(JSON.stringify(decimal.ledgers));
    return { kernel: kernel.settlements, fast: k.stats.fast };
  }
  const at = (careStart: string, extra: Partial<Parameters<typeof line>[0]> = {}) => line({ careStart, decompteId: `E${careStart}${extra.lineNo ?? ''}`, ...extra });

  it('eligibility: every refusal and doubt of checkEligibility, and the days just inside them', () => {
    const { kernel, fast } = both([
      { line: at('2023-12-31'), beneficiary: person() }, // before the start 2024-01-01: rejected
      { line: at('2025-06-02'), beneficiary: person({ end: '2025-06-01' }) }, // after the end: rejected
      { line: at('2025-06-01'), beneficiary: person({ end: '2025-06-01' }) }, // the end day is covered
      { line: at('2025-05-10'), beneficiary: person({ suspended: [{ from: '2025-05-01', to: '2025-05-31' }] }) }, // suspended: rejected
      // care + 24 months = 2026-03-10: paid on that day, still due; the day after, time-barred.
      { line: at('2024-03-10', { roPaymentDate: '2026-03-10' }), beneficiary: person() },
      { line: at('2024-03-10', { roPaymentDate: '2026-03-11', lineNo: 2 }), beneficiary: person() },
      // 29 February + 24 months = 28 February 2026 (end of month): paid on 1 March, time-barred.
      { line: at('2024-02-29', { roPaymentDate: '2026-03-01' }), beneficiary: person() },
      { line: at('2025-03-10', { rang: 3 }), beneficiary: person({ rang: 3, role: 'E', birthDate: '1998-01-01' }) }, // child aged 27 (CCN): review
      { line: at('2025-03-11', { rang: 3 }), beneficiary: person({ rang: 3, role: 'E', birthDate: '2005-01-01' }) }, // aged 20, proof assumed: paid
      { line: at('2025-03-12', { rang: 3 }), beneficiary: person({ rang: 3, role: 'E', birthDate: '2005-01-01', proofs: [] }) }, // aged 20, no proof: rejected
      { line: at('2025-03-13', { rang: 3 }), beneficiary: person({ rang: 3, role: 'E', birthDate: '2005-01-01', proofs: [{ kind: 'studies', from: '2024-09-01', to: null }] }) }, // proof: paid
      { line: at('2025-03-14'), beneficiary: person({ contracts: [RELAXEO], birthDate: '1930-01-01' }) }, // joined RELAXEO at 94 > 90: review
    ]);
    expect(kernel.map((s) => s.status)).toEqual(['rejected', 'rejected', 'paid', 'rejected', 'paid', 'rejected', 'rejected', 'review', 'paid', 'rejected', 'paid', 'review']);
    expect(fast).toBe(12);
  });

  it('annulations: of a paid line, of a line that consumed a count and a renewal, twice, before the initial, and an initial after it', () => {
    const b = person({ contracts: [BASE, OPT2] });
    const g = at('2025-03-10');
    const frame = at('2025-04-01', { actCode: '2201001', psSpecialty: '28', expense: '30.00', br: '0.09', roRate: '60', roAmount: '0.05' });
    const osteo = at('2025-04-02', { actCode: 'OSTEO', psSpecialty: '01', expense: '60.00', br: '0.00', roRate: '0', roAmount: '0.00' });
    const early = at('2025-05-01', { operation: 'A' });
    const { kernel, fast } = both([
      { line: g, beneficiary: b },
      { line: frame, beneficiary: b },
      { line: osteo, beneficiary: b },
      { line: { ...g, operation: 'A' }, beneficiary: b },
      { line: { ...frame, operation: 'A' }, beneficiary: b },
      { line: { ...osteo, operation: 'A' }, beneficiary: b },
      { line: { ...osteo, operation: 'A' }, beneficiary: b }, // the same annulation again: nothing new (decimal path)
      { line: early, beneficiary: b }, // nothing to reverse: review (decimal path)
      { line: { ...early, operation: 'I' }, beneficiary: b }, // initial after its annulation: review (decimal path)
    ]);
    // G: FR = BR = 30.00, MRn 21.00 → Base 100 % BR: min(30 − 21, 30 − 21) = 9.00; Option 2 is held to
    // FR − MRn = 9.00 too, less the 9.00 below = 0.00. Reversed: −9.00 and 0.00 (not −0.00).
    expect(kernel[3]!.amcAmount).toBe('-9.00');
    expect(kernel[3]!.parts.map((p) => p.amount)).toEqual(['-9.00', '0.00']);
    // The frame's renewal and the osteopathy session's count are given back.
    expect(kernel[4]!.counters.some((m) => m.key.startsWith('renewal|') && m.after === 'released')).toBe(true);
    expect(kernel[5]!.counters.some((m) => m.key.includes('|count|') && m.after === '0')).toBe(true);
    expect(fast).toBe(6);
  });
});

describe('kernel, line by line', () => {
  it('kernel.liquidate gives liquidate\'s settlement and state for each line, and leaves the given state as it was', () => {
    const requests = generated(4_000, 5);
    const ctx = context({ asOf: DEFAULT_WINDOW.to });
    const kernel = new LiquidationKernel(ctx);
    const kStates = new Map<string, ReturnType<typeof emptyState>>();
    const dStates = new Map<string, ReturnType<typeof emptyState>>();
    const key = (r: LiquidationRequest) => r.beneficiary?.adherentId ?? r.line.amcMemberId;
    for (const r of requests) {
      const kBefore = kStates.get(key(r)) ?? emptyState();
      const frozen = JSON.stringify(kBefore);
      const k = kernel.liquidate(r, ctx.asOf, kBefore);
      const d = liquidate(r, ctx, dStates.get(key(r)) ?? emptyState());
      expect(JSON.stringify(kBefore)).toBe(frozen);
      expect(JSON.stringify(k.settlement)).toBe(JSON.stringify(d.settlement));
      expect(JSON.stringify(k.state)).toBe(JSON.stringify(d.state));
      kStates.set(key(r), k.state);
      dStates.set(key(r), d.state);
    }
    expect(kernel.stats.fast).toBeGreaterThan(3_500);
  }, 120_000);
});

describe('kernel worked examples (computed by hand, on the integer path)', () => {
  function one(request: LiquidationRequest): { kernel: Settlement; decimal: Settlement; fast: number } {
    const k = new LiquidationKernel(context());
    const kernel = k.liquidateAll([request], context().asOf).settlements[0]!;
    const decimal = liquidate(request, context(), emptyState()).settlement;
    return { kernel, decimal, fast: k.stats.fast };
  }

  it('domain.md example 1, GP G in OPTAM with Option 2: Base 100 % BR, Option 2 layered', () => {
    // BR 30.00, FR 40.00, RO 70 % → MRn 21.00; Base G = 100 % × 30.00 = 30.00, AMC = min(30 − 21, 40 − 21) = 9.00.
    // Option 2's own G (its rule for generalists) is above the expense, so AMC(OPT2) = 40 − 21 = 19.00;
    // layered: the surco pays 19.00 − 9.00 = 10.00. Rest = 40 − 21 − 19 = 0.
    const r = { line: line({ expense: '40.00', roAmount: '21.00' }), beneficiary: person({ contracts: [BASE, OPT2] }) };
    const { kernel, decimal, fast } = one(r);
    expect(fast).toBe(1);
    expect(kernel.amcAmount).toBe('19.00');
    expect(kernel.parts.map((p) => `${p.contract}=${p.amount}`)).toEqual([`${BASE}=9.00`, `${OPT2}=10.00`]);
    expect(kernel.restToPay).toBe('0.00');
    expect(JSON.stringify(kernel)).toBe(JSON.stringify(decimal));
  });

  it('RELAXEO € term on top of the RO part, rounding half up of a % PMSS per unit', () => {
    // 1.46 % × PMSS 3 925.00 = 57.305 → 57.31 (half up), the domain.md rounding example.
    expect(pctOfCents(ratio('1.46')!, 392_500)).toBe(5731);
    const r = { line: line({ actCode: 'CS', br: '30.00', expense: '30.00' }), beneficiary: person({ contracts: [RELAXEO], start: '2024-01-01' }) };
    const { kernel, decimal, fast } = one(r);
    expect(fast).toBe(1);
    expect(JSON.stringify(kernel)).toBe(JSON.stringify(decimal));
  });
});

describe('cents', () => {
  it('rounds half up, away from zero, as decimal.js ROUND_HALF_UP', () => {
    expect(divHalfUp(5, 10)).toBe(1); // 0.5 → 1
    expect(divHalfUp(4, 10)).toBe(0); // 0.4 → 0
    expect(divHalfUp(-5, 10)).toBe(-1); // −0.5 → −1 (away from zero)
    expect(divHalfUp(15, 10)).toBe(2); // 1.5 → 2
    // 220 % of 30.00 = 66.00; 33.33 % of 10.00 = 3.333 → 3.33; 12.5 % of 0.04 = 0.005 → 0.01
    expect(pctOfCents(ratio('220')!, 3000)).toBe(6600);
    expect(pctOfCents(ratio('33.33')!, 1000)).toBe(333);
    expect(pctOfCents(ratio('12.5')!, 4)).toBe(1);
    expect(pctOfCents(ratio('100')!, Number.MAX_SAFE_INTEGER)).toBeNaN(); // past 2^53: the decimal path decides
  });

  it('prints cents as decimal.js toFixed(2) does', () => {
    expect([money(0), money(5), money(1230), money(-1230), money(-5), money(123456789012345)]).toEqual(['0.00', '0.05', '12.30', '-12.30', '-0.05', '1234567890123.45']);
  });
});

describe('input hash v2 (nested objects by digest)', () => {
  it('a flat object hashes its tokens as before, so lineHash did not change; a nested one enters as # and its digest', () => {
    // v1 and v2 agree on one level: {k:"v",n:1,} (sorted keys, each followed by a comma)
    expect(hashInputs({ n: 1, k: 'v' })).toBe(`fnv1a64:${fnv1a64('{k:"v",n:1,}')}`);
    expect(hashInputs({ o: { a: 1 }, l: [1, { b: null }] })).toBe(`fnv1a64:${fnv1a64(`{l:#${fnv1a64(`[1,#${fnv1a64('{b:n,}')},]`)},o:#${fnv1a64('{a:1,}')},}`)}`);
    expect(digestOf({ a: 1 })).toBe(fnv1a64('{a:1,}'));
    // An act line is flat: its hash is the v1 token stream of its fields.
    const l = line();
    const v1 = `{${Object.keys(l).sort().map((k) => `${k}:${typeof (l as Record<string, unknown>)[k] === 'string' ? `"${(l as Record<string, unknown>)[k] as string}"` : String((l as Record<string, unknown>)[k] ?? 'n')}`).join(',')},}`;
    expect(hashInputs(l)).toBe(`fnv1a64:${fnv1a64(v1)}`);
  });

  it('hashInputs of an act line is still the fnv1a64 token stream of its fields (the lineHash of ledgers written before line2)', () => {
    const l = line({ finess: '750100018', side: 'R', operation: 'A' });
    const legacy = `{${Object.keys(l).sort().map((k) => `${k}:${typeof (l as Record<string, unknown>)[k] === 'string' ? `"${(l as Record<string, unknown>)[k] as string}"` : String((l as Record<string, unknown>)[k] ?? 'n')}`).join(',')},}`;
    expect(hashInputs(l)).toBe(`fnv1a64:${fnv1a64(legacy)}`);
  });

  it('the kernel picks a line\'s bucket from the first hash lane alone: the same bucket as state.ts lineBucket', () => {
    // Given lineKeys of every source and length, odd characters included (the lane reads UTF-16 code units)
    const keys = ['invoice:R1:1', 'noemie-unknown::9999', 'noemie-é€:x:1'];
    for (let i = 0; i < 5_000; i++) keys.push(`noemie-0116910${i % 97}:${101000000000 + i * 7919}:${1 + (i % 12)}`);
    // When the kernel picks the bucket, then it is lineBucket's hex digit, and every bucket is used
    const buckets = new Set<number>();
    for (const k of keys) {
      expect(HEX_DIGITS[bucketOf(k)]).toBe(lineBucket(k));
      buckets.add(bucketOf(k));
    }
    expect(buckets.size).toBe(16);
  });

  it('a line recorded under an older input hash, replayed unchanged, is not published again (nothing paid twice)', () => {
    const request = { line: line({ expense: '40.00' }), beneficiary: person() };
    const first = liquidate(request, context(), emptyState());
    // Rewrite the recorded hash as a ledger written before the change would hold it.
    const bucket = Object.entries(first.state.lines)[0]!;
    const old = { ...first.state, lines: { [bucket[0]]: Object.fromEntries(Object.entries(bucket[1]).map(([k, r]) => [k, { ...r, inputHash: 'fnv1a64:0123456789abcdef' }])) } };
    const { outcomes, ledgers } = liquidateLines([{ line: request.line, beneficiary: request.beneficiary, asOf: '2025-12-31' }], REFERENCE, { A001: old });
    expect(outcomes[0]!.changed).toBe(false);
    expect(outcomes[0]!.settlement.version).toBe(1);
    expect(ledgers).toEqual({});
  });
});

describe('lineHash line2 (session 22)', () => {
  // Given a line with every kind of value: strings of odd and even length, null, a boolean, small integers
  const given = () => line({ finess: '750100018', side: 'R' }) as unknown as Record<string, unknown>;

  it('names the same line whatever its key order, in the kernel and in the decimal path', () => {
    const l = given();
    const h = lineHashOf(l);
    expect(h).toMatch(/^line2:[0-9a-f]{16}$/);
    expect(lineHashOf(Object.fromEntries(Object.entries(l).reverse()))).toBe(h);
    expect(new LineHasher().hash({ ...l })).toBe(h);
    // an undefined field is an absent one (as hashInputs)
    expect(lineHashOf({ ...l, extra: undefined })).toBe(h);
  });

  it('any one field changed, emptied, swapped within a pair, nulled or removed gives another hash', () => {
    const l = given();
    const hashes = new Set([lineHashOf(l)]);
    let variants = 1;
    const add = (v: Record<string, unknown>) => {
      hashes.add(lineHashOf(v));
      variants += 1;
    };
    for (const [k, v] of Object.entries(l)) {
      const { [k]: _gone, ...without } = l;
      add(without);
      if (typeof v === 'string') {
        add({ ...l, [k]: `${v}0` });
        add({ ...l, [k]: '' === v ? 'x' : '' });
        if (v.length >= 2 && v[0] !== v[1]) add({ ...l, [k]: `${v[1]}${v[0]}${v.slice(2)}` }); // the two units of a step
        if (v.length >= 2) add({ ...l, [k]: `${v.slice(0, -1)}${v.at(-1) === '9' ? '8' : '9'}` }); // the last (odd) unit
      }
      if (typeof v === 'number') {
        add({ ...l, [k]: v + 1 });
        add({ ...l, [k]: String(v) });
      }
      if (typeof v === 'boolean') add({ ...l, [k]: !v });
      add({ ...l, [k]: v === null ? '' : null });
    }
    // a value moved from one field to the next is another line
    add({ ...l, nir: l.nirKey, nirKey: l.nir });
    expect(hashes.size).toBe(variants);
  });
});

describe('ledgers written before line2 (lineHash fnv1a64:)', () => {
  // An annulled line, recorded by an older build: its A record names the initial and itself by hashInputs(line).
  const initial = line({ expense: '40.00' });
  const annulment = { ...initial, operation: 'A' as const };
  const olderBuild = (state: EngineState): EngineState => {
    const key = Object.keys(state.lines)[0]!;
    const bucket = state.lines[key]!;
    const records = Object.fromEntries(Object.entries(bucket).map(([k, r]): [string, LineRecord] => [k, { ...r, reversed: hashInputs(initial), seen: [hashInputs(annulment)] }]));
    return { ...state, lines: { [key]: records } };
  };
  const annulled = () => {
    const first = liquidate({ line: initial, beneficiary: person() }, context(), emptyState());
    const second = liquidate({ line: annulment, beneficiary: person() }, context(), first.state);
    return olderBuild(second.state);
  };

  it('the initial seen again after its annulation changes nothing, as it did before line2', () => {
    const state = annulled();
    const lineKey = Object.keys(Object.values(state.lines)[0]!)[0]!;
    const again = liquidate({ line: initial, beneficiary: person() }, context(), state);
    expect(again.settlement.version).toBe(2);
    expect(again.settlement.reason).toContain('this record was already settled; seen again, it changes nothing');
    expect(again.state).toBe(state);
    expect(lineRecord(again.state, lineKey)!.reversed).toBe(hashInputs(initial));
    // and through the kernel (an initial after an annulation is the decimal path's)
    expect(new LiquidationKernel(REFERENCE).liquidate({ line: initial, beneficiary: person() }, '2025-12-31', state).settlement.reason).toBe(again.settlement.reason);
  });

  it('the annulation seen again changes nothing; another initial under the lineKey is still review', () => {
    const state = annulled();
    const again = liquidate({ line: annulment, beneficiary: person() }, context(), state);
    expect(again.settlement.reason).toContain('annulation already settled (version 2)');
    expect(again.state).toBe(state);
    const other = liquidate({ line: { ...initial, expense: '41.00' }, beneficiary: person() }, context(), state);
    expect(other.settlement.status).toBe('review');
    expect(other.settlement.reason).toContain('this initial record differs from the one annulled');
    // the new record adds the line2 hash of what it saw to the older ones
    const seen = Object.values(other.state.lines).flatMap((b) => Object.values(b))[0]!.seen!;
    expect(seen).toEqual([hashInputs(annulment), lineHashOf({ ...initial, expense: '41.00' })]);
  });
});

describe('kernel purity', () => {
  it('src/engine/kernel imports only the engine, src/model and decimal.js; no clock, no randomness', async () => {
    const dir = join(ROOT, 'src/engine/kernel');
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ts'))) {
      const text = await readFile(join(dir, name), 'utf8');
      for (const [, spec] of text.matchAll(/from '([^']+)'/g)) {
        expect(spec === 'decimal.js' || spec!.startsWith('./') || (spec!.startsWith('../') && !spec!.startsWith('../../')) || spec!.startsWith('../../model/'), `${name} imports ${spec}`).toBe(true);
      }
      expect(text, name).not.toMatch(/\b(Date\.now|new Date\(\)|Math\.random|process\.|globalThis)/);
    }
  });
});

describe('cents parsing', () => {
  it('reads Money exactly and refuses anything else (NaN: the decimal path decides)', async () => {
    const { cents } = await import('../../src/engine/kernel/cents.js');
    expect([cents('0.00'), cents('12.30'), cents('-12.30'), cents('999999999999.99')]).toEqual([0, 1230, -1230, 99999999999999]);
    for (const bad of ['12.3', '12', '.30', '-.30', '1a.00', '12.3x', '1e3.00', '', '-', '1234567890123.00']) expect(cents(bad), bad).toBeNaN();
  });
});
