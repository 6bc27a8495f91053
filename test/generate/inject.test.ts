import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvCodec, encodeCsv, encodeNoemie, encodeXml, noemieCodec, xmlCodec, type Codec, type IngestEvent } from '../../src/ingest/index.js';
import { BAD_KINDS, BadPlan, batched, flattenLines, injectCsv, injectNoemie, injectXml, type GeneratedDecompte } from '../../src/generate/index.js';
import type { ActLine } from '../../src/model/act-line.js';
import { stream } from './support.js';

/**
 * Generated lines go through the real codecs (in memory): with no bad record every line comes back
 * identical and nothing is rejected; with K bad records exactly K records are rejected, at the
 * place and on the field the plan reports.
 */
const META = { emitter: 'CPAM TEST', amcNumber: '075000123', fileId: 'T1', createdOn: '2026-03-01' };

type Format = 'noemie' | 'csv' | 'xml';
const CODECS: Record<Format, Codec> = { noemie: noemieCodec, csv: csvCodec, xml: xmlCodec };

function encode(format: Format, decomptes: Iterable<GeneratedDecompte>, plan: BadPlan | null): Buffer {
  const lines: Iterable<ActLine> = flattenLines(decomptes);
  const where = { file: `drop.${format}` };
  if (format === 'noemie') return Buffer.concat([...(plan ? injectNoemie(encodeNoemie(lines, META), plan, where) : encodeNoemie(lines, META))]);
  const text = format === 'csv' ? encodeCsv(lines) : encodeXml(lines);
  const injected = plan ? (format === 'csv' ? injectCsv(text, plan, where) : injectXml(text, plan, where)) : text;
  return Buffer.from([...batched(injected)].join(''), 'utf8');
}

async function decode(format: Format, bytes: Buffer): Promise<IngestEvent[]> {
  const events: IngestEvent[] = [];
  for await (const ev of CODECS[format].decode({ file: `drop.${format}`, open: async () => Readable.from([bytes]) })) events.push(ev);
  return events;
}

const FIELD_PATH: Record<Format, Record<string, string>> = {
  noemie: { nir_key: 'nir_key', care_start: 'care_start', expense: 'expense', pathway: 'pathway', record: '' },
  csv: { nir_key: 'nir_key', care_start: 'care_start', expense: 'expense', pathway: 'pathway', act_code: 'act_code' },
  xml: { nir_key: 'beneficiary.nirKey', care_start: 'line.careStart', expense: 'line.expense', pathway: 'line.pathway', act_code: 'line.actCode' },
};

describe.each(['noemie', 'csv', 'xml'] as const)('%s', (format) => {
  const { decomptes, lines } = stream(31, 900);

  it('decodes every generated line back, identical, with no reject', async () => {
    const events = await decode(format, encode(format, decomptes, null));
    expect(events.filter((e) => e.kind === 'reject')).toEqual([]);
    expect(events.map((e) => (e.kind === 'line' ? e.line : null))).toEqual(lines);
  });

  it('rejects exactly the K bad records injected, where the plan says, and reads every other line', async () => {
    const k = 2 * BAD_KINDS.length;
    const plan = new BadPlan(lines.length, k);
    const bytes = encode(format, plan.mark(decomptes), plan);
    const events = await decode(format, bytes);
    const rejects = events.flatMap((e) => (e.kind === 'reject' ? [e.rejected] : []));

    expect(plan.placed).toHaveLength(k);
    expect(new Set(plan.placed.map((b) => b.kind))).toEqual(new Set(BAD_KINDS));
    expect(rejects.map((r) => r.origin.record)).toEqual(plan.placed.map((b) => b.record));
    rejects.forEach((r, i) => {
      const bad = plan.placed[i]!;
      expect(r.issues.map((issue) => issue.path.join('.'))).toContain(FIELD_PATH[format][bad.field ?? '']);
    });
    expect(events.filter((e) => e.kind === 'line')).toHaveLength(lines.length - k);
  });
});

describe('the bad-record plan', () => {
  const { decomptes, lines } = stream(32, 1500);
  const plan = new BadPlan(lines.length, 9);
  const marked = [...plan.mark(decomptes)];

  it('spreads its targets over the stream and keeps off annulled lines and annulations', () => {
    expect(marked).toEqual(decomptes);
    expect(plan.placed).toHaveLength(9);
    const kinds = new Map(decomptes.flatMap((d) => d.lines.map((l) => [`${l.decompteId}:${l.lineNo}:${l.operation}`, d] as const)));
    const positions = plan.placed.map((b) => {
      const d = kinds.get(`${b.decompteId}:${b.lineNo}:I`)!;
      expect(d.kind).toBe('initial');
      expect(d.annulledLater).toBe(false);
      if (b.kind === 'nir_key') expect(d.lines).toHaveLength(1);
      return lines.findIndex((l) => l.decompteId === b.decompteId && l.lineNo === b.lineNo && l.operation === 'I');
    });
    // the j-th target is due at line (j + ½) × 1500 / 9 ≈ 83, 250, 416…; it lands there or a few décomptes later
    positions.forEach((p, j) => {
      expect(p).toBeGreaterThanOrEqual(Math.floor(((j + 0.5) * 1500) / 9) - 5);
      expect(p).toBeLessThan(Math.floor(((j + 1.5) * 1500) / 9));
    });
  });
});
