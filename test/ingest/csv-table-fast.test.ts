import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvTable, readCsvTableBatches, ReferenceDataError, type CsvTableEvent, type CsvTableSpec } from '../../src/ingest/reference/csv-table.js';
import { TP_CLAIMS_TABLE } from '../../src/ingest/reference/tp-claims.js';
import { BENEFICIARIES_TABLE } from '../../src/ingest/reference/beneficiaries.js';
import { fromZodIssues } from '../../src/model/issues.js';
import type { TpClaim } from '../../src/model/tp-claim.js';

/**
 * The plain-file splitter of csv-table.ts against csv-parse: every table below is read by
 * `readCsvTable` (the splitter when the file has no quote and no CR) and by the reader as it was
 * before it (csv-parse with `info` on every file, copied here as the reference), and the events —
 * rows, rejects with their issues, raw text and line numbers, header refusals — must be the same.
 */
async function reference<T>(file: string, spec: CsvTableSpec<T>): Promise<CsvTableEvent<T>[] | { error: string; code: string }> {
  const out: CsvTableEvent<T>[] = [];
  const parser = createReadStream(file).pipe(parse({ delimiter: spec.delimiter ?? ';', bom: true, info: true, relax_column_count: true, skip_empty_lines: true }));
  const toColumn = (path: PropertyKey[]) => {
    const [head, ...rest] = path.map((p) => (typeof p === 'number' ? p : String(p)));
    return head === undefined ? [] : [typeof head === 'string' ? (spec.fieldToColumn?.[head] ?? head) : head, ...rest];
  };
  let header: string[] | undefined;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const cells = record.map((c) => c.trim());
    if (!header) {
      header = cells;
      const missing = spec.columns.filter((c) => !header!.includes(c));
      if (missing.length > 0) return { error: `${file}: header lacks column(s) ${missing.join(', ')} (expected ${spec.columns.join(';')})`, code: 'REFERENCE_HEADER' };
      continue;
    }
    const origin = { file, record: info.lines };
    if (cells.length !== header.length) {
      out.push({ kind: 'reject', rejected: { origin, issues: [{ code: 'column_count', path: [], input: cells.length, message: `expected ${header.length} fields, found ${cells.length}` }], raw: record.join(spec.delimiter ?? ';') } });
      continue;
    }
    const byName: Record<string, string> = {};
    header.forEach((name, i) => (byName[name] = cells[i] ?? ''));
    const parsed = spec.schema.safeParse(spec.toCandidate(byName));
    if (parsed.success) out.push({ kind: 'row', row: parsed.data, record: info.lines });
    else out.push({ kind: 'reject', rejected: { origin, issues: fromZodIssues(parsed.error.issues, toColumn), raw: record.join(spec.delimiter ?? ';') } });
  }
  if (!header) return { error: `${file}: empty file, a header row is required`, code: 'REFERENCE_HEADER' };
  return out;
}

async function branch<T>(file: string, spec: CsvTableSpec<T>): Promise<CsvTableEvent<T>[] | { error: string; code: string }> {
  const out: CsvTableEvent<T>[] = [];
  try {
    for await (const ev of readCsvTable(file, spec)) out.push(ev);
  } catch (e) {
    if (e instanceof ReferenceDataError) return { error: e.message, code: e.code };
    throw e;
  }
  return out;
}

const TP_HEADER = 'tp_claim_id;operator;ps_id;nir;rang;care_date;act_code;invoice_no;amc_amount_claimed;paid_on';

/** A deterministic generator (no Math.random: a failure must be reproducible). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** tp_claims rows, good and bad, with spaces, empty lines, short and long rows, accents, a BOM or not. */
function tpTable(seed: number, rows: number): string {
  const r = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lines: string[] = [];
  if (r() < 0.3) lines.push('');
  lines.push(`${r() < 0.5 ? '\ufeff' : ''}${r() < 0.2 ? ' tp_claim_id ;operator;ps_id;nir;rang;care_date;act_code;invoice_no;amc_amount_claimed;paid_on' : TP_HEADER}`);
  for (let i = 0; i < rows; i++) {
    const cells = [
      `TPC${i}${pick(['', '', ' ', 'é'])}`,
      pick(['SP SANTE', 'ISANTE', ' OPTP ', 'Crédit Santé', '']),
      pick(['922600081', '133700768', '', '12']),
      pick(['2780706179694', '1850575123456', '185057512345', '2A0706179694']),
      pick(['1', '2', '0', 'x', '', ' 3 ']),
      pick(['2024-01-01', '2023-12-28', '2025-02-30', 'hier']),
      pick(['PH2', 'G', '2201001', '']),
      pick(['', 'F-22', 'F671938041']),
      pick(['21.22', '19', '25.2', '12.345', '-3.00', '0', '1000000000000.00', '']),
      pick(['', '2024-01-12', 'tomorrow']),
    ];
    const shape = r();
    if (shape < 0.05) cells.pop();
    else if (shape < 0.1) cells.push('extra');
    lines.push(cells.join(';'));
    if (r() < 0.05) lines.push('');
    if (r() < 0.02) lines.push('   ');
  }
  return lines.join('\n') + (r() < 0.5 ? '\n' : '');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'csv-table-fast-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function both<T>(name: string, text: string | Buffer, spec: CsvTableSpec<T>) {
  const file = join(dir, name);
  await writeFile(file, text);
  return { was: await reference(file, spec), now: await branch(file, spec) };
}

describe('readCsvTable on plain files: the events csv-parse gave', () => {
  it('generated tp_claims tables (good and bad rows, empty lines, BOM, short and long rows, accents)', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { was, now } = await both(`tp-${seed}.csv`, tpTable(seed, 150), TP_CLAIMS_TABLE);
      expect(Array.isArray(was) && was.length).toBeGreaterThan(100);
      expect(now).toEqual(was);
    }
  });

  it('a table larger than one read (lines and multi-byte characters cut by the 1 MiB reads)', async () => {
    const text = tpTable(99, 32_000).replace(/SP SANTE/g, 'SP SANTÉ ÀÉÈ');
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * 1024 * 1024);
    const { was, now } = await both('tp-large.csv', text, TP_CLAIMS_TABLE);
    expect(Array.isArray(was) && was.length).toBeGreaterThan(30_000);
    expect(now).toEqual(was);
  });

  it('header refusals: a missing column, an empty file, only empty lines', async () => {
    for (const [name, text] of [
      ['missing.csv', 'tp_claim_id;operator\nC1;OP\n'],
      ['empty.csv', ''],
      ['blank.csv', '\n\n\n'],
      ['bom-only.csv', '\ufeff'],
    ] as const) {
      const { was, now } = await both(name, text, TP_CLAIMS_TABLE);
      expect(was).toHaveProperty('code', 'REFERENCE_HEADER');
      expect(now).toEqual(was);
    }
  });

  it('the beneficiaries table (its own candidate by name) reads the same', async () => {
    const header = 'adherent_id;nir;nir_key;rang;birth_date;role;contracts;start;end;suspended;noemie;iban;bic;name';
    const good = 'ADH0000001;1940535164677;37;1;1994-05-24;A;CCN-HLA-BASE;2008-10-01;;;Y;FR7630003780556724587790148;SOGEFRPPXXX;MOREL Jérôme';
    const text = [
      header,
      good,
      good.replace(/;[^;]*$/, ';'),
      '',
      good.split(';').map((c, i) => (i === 1 ? c.slice(1) : i === 3 ? 'x' : c)).join(';'),
      'ADH0000001;2991229237159;90;1;1999-12-25;C;CCN-HLA-BASE;2008-10-01;;;Y;FR7630003780556724587790148;SOGEFRPPXXX;MOREL Anaïs',
      'ADH3;too;few',
    ].join('\n');
    const { was, now } = await both('beneficiaries.csv', text, BENEFICIARIES_TABLE);
    expect(Array.isArray(was) && was.map((e) => e.kind)).toContain('row');
    expect(Array.isArray(was) && was.map((e) => e.kind)).toContain('reject');
    expect(now).toEqual(was);
  });
});

describe('readCsvTable on other files: csv-parse as before', () => {
  it('quoted cells, CRLF and lone CR lines read as csv-parse reads them', async () => {
    for (const [name, text] of [
      ['quoted.csv', `${TP_HEADER}\n"C1";OPTP;751234567;1850575123456;1;2025-03-03;G;"F;1";19;\n`],
      ['crlf.csv', `${TP_HEADER}\r\nC1;OPTP;751234567;1850575123456;1;2025-03-03;G;;19;\r\nC2;OPTP;751234567;1850575123456;9;2025-03-03;G;;19;\r\n`],
      ['cr.csv', `${TP_HEADER}\rC1;OPTP;751234567;1850575123456;1;2025-03-03;G;;19;\r`],
    ] as const) {
      const { was, now } = await both(name, text, TP_CLAIMS_TABLE);
      expect(Array.isArray(was) && was.length).toBeGreaterThan(0);
      expect(now).toEqual(was);
    }
  });

  it('a quote inside a cell is csv-parse`s refusal (REFERENCE_IO), as before', async () => {
    const file = join(dir, 'bad-quote.csv');
    await writeFile(file, `${TP_HEADER}\nC1;OP"TP;751234567;1850575123456;1;2025-03-03;G;;19;\n`);
    await expect(branch(file, TP_CLAIMS_TABLE)).resolves.toMatchObject({ code: 'REFERENCE_IO' });
  });
});

describe('TP claims by position', () => {
  it('toCandidateAt gives toCandidate`s candidate, whatever the columns` order and extra columns', async () => {
    const spec: CsvTableSpec<TpClaim> = { ...TP_CLAIMS_TABLE, toCandidateAt: undefined };
    const columns = ['extra', ...TP_HEADER.split(';').reverse()];
    const row = (cells: Record<string, string>) => columns.map((c) => cells[c] ?? '').join(';');
    const text = [
      columns.join(';'),
      row({ tp_claim_id: 'C1', operator: 'OPTP', ps_id: '751234567', nir: '1850575123456', rang: '1', care_date: '2025-03-03', act_code: 'G', amc_amount_claimed: '19', extra: 'x' }),
      row({ tp_claim_id: 'C2', operator: 'OPTP', ps_id: '', nir: '185057512345', rang: '0', care_date: '2025-02-30', act_code: 'G', amc_amount_claimed: '12.345', paid_on: 'tomorrow' }),
    ].join('\n');
    const file = join(dir, 'reordered.csv');
    await writeFile(file, text);
    const byName = await branch(file, spec);
    const byPosition = await branch(file, TP_CLAIMS_TABLE);
    expect(Array.isArray(byName) && byName.map((e) => e.kind)).toEqual(['row', 'reject']);
    expect(byPosition).toEqual(byName);
  });

  it('readCsvTableBatches hands the rows over a read at a time, in order', async () => {
    const file = join(dir, 'batches.csv');
    await writeFile(file, tpTable(7, 300));
    const flat: CsvTableEvent<TpClaim>[] = [];
    let batches = 0;
    for await (const events of readCsvTableBatches(file, TP_CLAIMS_TABLE)) {
      batches += 1;
      flat.push(...events);
    }
    expect(batches).toBe(1);
    expect(flat).toEqual(await reference(file, TP_CLAIMS_TABLE));
  });
});
