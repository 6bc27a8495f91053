import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDrop, type IngestEvent } from '../../src/ingest/index.js';
import { loadBeneficiaries } from '../../src/ingest/reference/beneficiaries.js';
import { TpClaimCsvRowSchema } from '../../src/model/tp-claim.js';
import { generateActLines, generateFixtures, type DropFormatOption, type FixtureOptions } from '../../src/generate/index.js';
import { NOMENCLATURE_PATH, nomenclature, population } from './support.js';

/** Drops written to disk and read back through readDrop (ZIP included), with their companions. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-generate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(name: string, format: DropFormatOption, extra: Partial<FixtureOptions> = {}): FixtureOptions {
  return { seed: 41, lines: 700, format, out: join(dir, name, `drop.${format}`), nomenclaturePath: NOMENCLATURE_PATH, families: 25, ...extra };
}

async function readAll(path: string): Promise<{ entry?: string; format: string; events: IngestEvent[] }[]> {
  const parts = [];
  for await (const part of readDrop(path)) {
    const events: IngestEvent[] = [];
    for await (const ev of part.events) events.push(ev);
    parts.push({ ...(part.entry !== undefined ? { entry: part.entry } : {}), format: part.format, events });
  }
  return parts;
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe.each(['noemie', 'csv', 'xml', 'zip'] as const)('a %s drop', (format) => {
  it('is the same bytes for the same seed and other bytes for another seed', async () => {
    const a = await generateFixtures(options(`same-a-${format}`, format));
    const b = await generateFixtures(options(`same-b-${format}`, format));
    const c = await generateFixtures(options(`other-${format}`, format, { seed: 42 }));
    expect(await sha(a.drop.path)).toBe(await sha(b.drop.path));
    expect(await sha(a.drop.path)).not.toBe(await sha(c.drop.path));
  });

  it('reads back with no reject, the lines of the generator in order', async () => {
    const r = await generateFixtures(options(`clean-${format}`, format));
    const parts = await readAll(r.drop.path);
    const events = parts.flatMap((p) => p.events);
    expect(events.filter((e) => e.kind === 'reject')).toEqual([]);
    const expected = [...generateActLines({ seed: 41, lines: 700, population: population(41, 25), nomenclature: nomenclature() })];
    expect(events.map((e) => (e.kind === 'line' ? e.line : null))).toEqual(expected);
    if (format === 'zip') {
      expect(parts.map((p) => [p.entry, p.format])).toEqual([['drop-1.noemie', 'noemie'], ['drop-2.csv', 'csv'], ['drop-3.xml', 'xml']]);
      expect(parts.map((p) => p.events.length)).toEqual(r.drop.parts.map((p) => p.lines));
    }
  });

  it('has exactly K rejects with --bad K, at the reported entries and records', async () => {
    const r = await generateFixtures(options(`bad-${format}`, format, { bad: 6 }));
    const parts = await readAll(r.drop.path);
    const rejects = parts.flatMap((p) => p.events.flatMap((e) => (e.kind === 'reject' ? [e.rejected.origin] : [])));
    expect(r.drop.bad).toHaveLength(6);
    expect(rejects.map((o) => `${o.entry ?? ''}#${o.record}`)).toEqual(r.drop.bad.map((b) => `${b.entry ?? ''}#${b.record}`));
    expect(parts.flatMap((p) => p.events).filter((e) => e.kind === 'line')).toHaveLength(700 - 6);
  });
});

describe('companions of a drop', () => {
  let result: Awaited<ReturnType<typeof generateFixtures>>;
  beforeAll(async () => {
    result = await generateFixtures(
      options('companions', 'csv', { beneficiaries: join(dir, 'companions', 'beneficiaries.csv'), invoices: 9, tpClaims: join(dir, 'companions', 'tp_claims.csv') }),
    );
  });

  it('writes a beneficiaries.csv the pipeline loads strictly, naming everyone the lines name (but the unknown)', async () => {
    const { index } = await loadBeneficiaries(join(dir, 'companions', 'beneficiaries.csv'));
    expect(index.size).toBe(result.people);
    const lines = [...generateActLines({ seed: 41, lines: 700, population: population(41, 25), nomenclature: nomenclature() })];
    const unknown = lines.filter((l) => !index.byNirRang(l.nir, l.rang));
    // the stream names a few people the AMC does not know, and only those carry a 9xxxxxx member number
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.every((l) => l.amcMemberId.startsWith('ADH9'))).toBe(true);
    expect(lines.filter((l) => index.byNirRang(l.nir, l.rang)).every((l) => index.byNirRang(l.nir, l.rang)?.adherentId === l.amcMemberId)).toBe(true);
  });

  it('writes invoice uploads the invoice codec reads without reject', async () => {
    const files = (await readdir(join(dir, 'companions'))).filter((f) => f.startsWith('invoice-') && f.endsWith('.json'));
    expect(files).toHaveLength(9);
    for (const f of files) {
      const parts = await readAll(join(dir, 'companions', f));
      expect(parts.map((p) => p.format)).toEqual(['invoice-json']);
      expect(parts[0]?.events.every((e) => e.kind === 'line')).toBe(true);
    }
  });

  it('writes tp_claims.csv rows of the published layout, most matching a tiers-payant line', async () => {
    const [header, ...rows] = (await readFile(join(dir, 'companions', 'tp_claims.csv'), 'utf8')).trimEnd().split('\n');
    expect(header).toBe('tp_claim_id;operator;ps_id;nir;rang;care_date;act_code;invoice_no;amc_amount_claimed;paid_on');
    expect(rows).toHaveLength(result.tpClaims?.rows ?? -1);
    const cols = (header ?? '').split(';');
    const tpLines = [...generateActLines({ seed: 41, lines: 700, population: population(41, 25), nomenclature: nomenclature() })].filter((l) => l.tp === '15' || l.tp === '25');
    const keys = new Set(tpLines.map((l) => `${l.psId}|${l.nir}|${l.rang}|${l.careStart}|${l.actCode}`));
    let matched = 0;
    for (const row of rows) {
      const c = Object.fromEntries(row.split(';').map((v, i) => [cols[i], v]));
      expect(TpClaimCsvRowSchema.safeParse(c).success).toBe(true);
      if (keys.has(`${c.ps_id}|${c.nir}|${c.rang}|${c.care_date}|${c.act_code}`)) matched += 1;
    }
    expect(matched).toBeGreaterThan(rows.length * 0.9);
    expect(matched).toBeLessThan(rows.length); // and a few that match nothing
  });
});

describe('--finess: hospital lines carry the establishment FINESS', () => {
  const base = { seed: 41, lines: 700, population: population(41, 25), nomenclature: nomenclature() };

  it('given the option, the stay lines carry the FINESS, clinic fees are billed by the practitioner with the clinic FINESS; nothing else changes', () => {
    const plain = [...generateActLines(base)];
    const withFiness = [...generateActLines({ ...base, finess: true })];
    expect(plain.some((l) => 'finess' in l)).toBe(false);
    expect(withFiness).toHaveLength(plain.length);
    const carrying = withFiness.filter((l) => l.finess !== undefined);
    expect(carrying.length).toBeGreaterThan(0);
    // the same stream (no random draw depends on the option): only hospital lines differ
    withFiness.forEach((l, i) => {
      const p = plain[i]!;
      if (l.finess === undefined) expect(l).toEqual(p);
      else if (p.psSpecialty === null && l.psSpecialty === null) expect(l).toEqual({ ...p, finess: p.psId }); // the establishment's own décompte
      else {
        // a surgeon's or anaesthetist's fee: his own number and specialty, the clinic's FINESS
        expect(['ADC', 'ADA']).toContain(l.actCode);
        expect({ finess: l.finess, psSpecialty: p.psSpecialty }).toEqual({ finess: p.psId, psSpecialty: null });
        expect(l.psSpecialty).toMatch(/^(04|41|02)$/);
      }
    });
    expect(carrying.some((l) => l.actCode === 'ADC' && l.psSpecialty !== null)).toBe(true);
  });

  it('a CSV drop with --finess has the finess column and reads back to the same lines', async () => {
    const r = await generateFixtures(options('finess-csv', 'csv', { finess: true }));
    expect((await readFile(r.drop.path, 'utf8')).split('\n')[0]!.endsWith(';accident;finess')).toBe(true);
    const events = (await readAll(r.drop.path)).flatMap((p) => p.events);
    expect(events.filter((e) => e.kind === 'reject')).toEqual([]);
    expect(events.map((e) => (e.kind === 'line' ? e.line : null))).toEqual([...generateActLines({ ...base, finess: true })]);
  });
});
