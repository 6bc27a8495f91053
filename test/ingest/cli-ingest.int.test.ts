import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { printable } from '../../src/cli/command.js';
import { seams } from '../../src/cli/commands/ingest.js';
import { IngestError } from '../../src/ingest/types.js';
import { IngestSummarySchema } from '../../src/ingest/summary.js';
import { QuarantineReportSchema } from '../../src/ingest/inbox/report.js';
import { actLine, fakeReader, lineEv, rejectEv, type ScriptedPart } from './ingest-drop.fakes.js';

/**
 * The command with a scripted reader (the codecs are tested on their own): what it prints, writes,
 * moves and returns. The file names tell the fake reader what to yield.
 */
function capture(isTTY = false) {
  const chunks: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  Object.assign(stream, { isTTY });
  return { stream, text: () => chunks.join('') };
}

async function run(args: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(['ingest', ...args], { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

function scripted(name: string): ScriptedPart[] {
  if (name.startsWith('refused')) {
    return [
      { file: name, entry: 'ok.csv', format: 'csv', events: [lineEv(name, 2, {}, 'ok.csv')] },
      { file: name, entry: 'ko.noemie', format: 'noemie', events: [new IngestError('INGEST_CONTROL_TOTALS', '990 control of décompte D1 expects 2 act lines, found 1', { file: name, entry: 'ko.noemie', record: 7 })] },
    ];
  }
  // 3 lines of 2 décomptes and one reject:
  //   D1/1 expense 30.00 RO 21.00 ; D1/2 expense 25.00 RO 17.50 ; D2/1 expense 100.00 RO 70.00
  //   → expense 155.00, RO 108.50, 2 décomptes
  return [{ file: name, format: 'csv', events: [
    lineEv(name, 2, { decompteId: 'D1', lineNo: 1 }),
    lineEv(name, 3, { decompteId: 'D1', lineNo: 2, expense: '25.00', roAmount: '17.50' }),
    rejectEv(name, 4, 'nir', '2870699123789', 'NIR key 12 does not match the NIR'),
    lineEv(name, 5, { decompteId: 'D2', lineNo: 1, expense: '100.00', roAmount: '70.00' }),
  ] }];
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-cli-ingest-'));
  seams.reader = fakeReader((_p, name) => scripted(name));
});
afterEach(async () => {
  delete seams.reader;
  await rm(dir, { recursive: true, force: true });
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('noemie ingest <file>', () => {
  it('prints the figures as JSON, writes the lines into --out, exits 0 with rejects', async () => {
    const file = join(dir, 'drop.csv');
    await writeFile(file, 'drop bytes');
    const out = join(dir, 'out');
    const r = await run([file, '--json', '--out', out]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({
      dryRun: false, exitCode: 0,
      totals: { drops: 1, parts: 1, refusedParts: 0, records: 4, accepted: 3, rejected: 1, decomptes: 2, expense: '155.00', roAmount: '108.50' },
    });
    expect(summary.drops[0]).toMatchObject({ file: 'drop.csv', sha256: sha('drop bytes'), action: 'ingested', out });
    const lines = (await readFile(join(out, 'lines.ndjson'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect((await readFile(join(out, 'rejects.ndjson'), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('prints a table and the rejects with the NIR masked', async () => {
    const file = join(dir, 'drop.csv');
    await writeFile(file, 'x');
    const r = await run([file, '--out', join(dir, 'out')]);
    expect(r.out).toMatch(/drop\.csv\s+csv\s+4\s+3\s+1\s+2\s+155\.00\s+108\.50/);
    expect(r.out).toContain('total: 1 drop(s), 1 part(s), 4 records, 3 accepted, 1 rejected, 2 décomptes, expense 155.00, RO amount 108.50');
    expect(r.err).toContain('rejected drop.csv#4 nir: NIR key 12 does not match the NIR (value "2************")');
    expect(r.err).not.toContain('2870699123789');
  });

  it('exits 1 when a part is refused, and still writes the parts that were read', async () => {
    const file = join(dir, 'refused.zip');
    await writeFile(file, 'zip');
    const out = join(dir, 'out');
    const r = await run([file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('REFUSED [INGEST_CONTROL_TOTALS] 990 control of décompte D1 expects 2 act lines, found 1');
    expect((await readFile(join(out, 'lines.ndjson'), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('--dry-run reads and counts but writes nothing; the default out is under the home', async () => {
    const file = join(dir, 'drop.csv');
    await writeFile(file, 'x');
    const home = join(dir, 'home');
    const dry = await run([file, '--dry-run', '--json', '--home', home]);
    expect(JSON.parse(dry.out).totals.accepted).toBe(3);
    await expect(readdir(home)).rejects.toThrow();
    const wet = await run([file, '--json', '--home', home]);
    expect(JSON.parse(wet.out).drops[0].out).toBe(join(home, 'ingested', sha('x').slice(0, 16)));
  });

  it('rejects bad usage with exit code 2', async () => {
    expect((await run([join(dir, 'missing.csv')])).code).toBe(2);
    expect((await run([dir, '--complete-when', 'later'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });
});

describe('noemie ingest <directory>', () => {
  it('reads every complete file, each into its own output directory', async () => {
    const d = join(dir, 'drops');
    await mkdir(d);
    await writeFile(join(d, 'a.csv'), 'a');
    await writeFile(join(d, 'b.csv'), 'b');
    await writeFile(join(d, 'c.csv.part'), 'c');
    const out = join(dir, 'out');
    const r = await run([d, '--json', '--out', out]);
    const summary = JSON.parse(r.out);
    expect(summary.drops.map((x: { file: string }) => x.file).sort()).toEqual(['a.csv', 'b.csv']);
    expect((await readdir(out)).sort()).toEqual([sha('a').slice(0, 16), sha('b').slice(0, 16)].sort());
    expect(summary.totals.accepted).toBe(6);
  });

  it('with --home processes it as that home\'s inbox: archive, ledger, duplicate skipped', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'inbox'), { recursive: true });
    // a final newline: a file without one looks still being written (inbox/settled.ts)
    await writeFile(join(home, 'inbox', 'drop.csv'), 'same\n');
    const first = await run(['--home', home, '--stable-ms', '0', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).drops[0]).toMatchObject({ action: 'archived', storedAs: expect.stringMatching(/^archive\/\d{8}T\d{6}Z-drop\.csv$/) });
    expect(await readdir(join(home, 'quarantine'))).toHaveLength(1); // the report of the rejected record
    await writeFile(join(home, 'inbox', 'again.csv'), 'same\n');
    const second = await run([join(home, 'inbox'), '--home', home, '--stable-ms', '0']);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/duplicate: again\.csv: already ingested on .* as archive\/\d{8}T\d{6}Z-drop\.csv, skipped/);
  });

  it('with --home exits 1 when a drop goes to quarantine', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'inbox'), { recursive: true });
    seams.reader = fakeReader(new IngestError('INGEST_UNKNOWN_FORMAT', 'not a drop', { file: 'x' }));
    await writeFile(join(home, 'inbox', 'x.bin'), 'x');
    const r = await run(['--home', home, '--stable-ms', '0', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).drops[0]).toMatchObject({ action: 'quarantined', error: { code: 'INGEST_UNKNOWN_FORMAT' } });
  });
});

describe('progress', () => {
  it('prints records and rate on stderr about once a second with --progress', async () => {
    const file = join(dir, 'long.csv');
    await writeFile(file, 'x');
    // 3000 lines; the reader pauses 1.1 s after line 1500, so the report at record 2048 is due
    const events = Array.from({ length: 3000 }, (_, i) => lineEv('long.csv', i + 2, { lineNo: (i % 999) + 1 }));
    seams.reader = async function* () {
      yield { file: 'long.csv', format: 'csv' as const, events: (async function* () {
        for (const [i, ev] of events.entries()) {
          if (i === 1500) await new Promise((r) => setTimeout(r, 1100));
          yield ev;
        }
      })() };
    };
    const r = await run([file, '--dry-run', '--progress']);
    expect(r.err).toMatch(/^long\.csv: 2048 records, \d+ records\/s$/m);
    seams.reader = fakeReader([{ file: 'long.csv', format: 'csv', events: events.slice(0, 3000) }]);
    const quiet = await run([file, '--dry-run']);
    expect(quiet.err).not.toContain('records/s'); // not a TTY, no --progress
  });
});

describe('on a real drop (readDrop and the codecs)', () => {
  beforeEach(() => { delete seams.reader; });

  /*
   * drop.zip holds three entries:
   *   a.csv     D1/1 expense 30.00 RO 21.00 · D1/2 expense 45.50 RO 31.85 · D2/1 expense "12,30" (rejected)
   *             → records 3, accepted 2, rejected 1, décomptes 1, expense 75.50, RO 52.85
   *   b.noemie  D7/1 expense 100.00 RO 70.00 · D7/2 expense 20.00 RO 14.00
   *             → records 2, accepted 2, décomptes 1, expense 120.00, RO 84.00
   *   c.noemie  b.noemie with its 999 trailer total changed to 0.01 → refused, nothing published
   * totals: accepted 4, rejected 1, décomptes 2, expense 195.50, RO 136.85, 1 part refused → exit 1
   */
  async function realDrop(): Promise<string> {
    const { ZipFile } = await import('yazl');
    const { encodeCsv } = await import('../../src/ingest/csv/encode.js');
    const { encodeNoemie, formatRecord } = await import('../../src/ingest/noemie/index.js');
    const csvText = [...encodeCsv([
      actLine({ decompteId: 'D1', lineNo: 1 }),
      actLine({ decompteId: 'D1', lineNo: 2, expense: '45.50', br: '45.50', roAmount: '31.85' }),
      actLine({ decompteId: 'D2', lineNo: 1 }),
    ])].join('').replace(/;30\.00;30\.00;70;21\.00;(?=[^\n]*\n$)/, ';12,30;30.00;70;21.00;');
    const noemieLines = [
      actLine({ decompteId: 'D7', lineNo: 1, expense: '100.00', br: '100.00', roAmount: '70.00' }),
      actLine({ decompteId: 'D7', lineNo: 2, expense: '20.00', br: '20.00', roAmount: '14.00' }),
    ];
    const meta = { emitter: 'CPAM DE PARIS', amcNumber: '0123456789', fileId: 'F1', createdOn: '2025-03-10' };
    const good = Buffer.concat([...encodeNoemie(noemieLines, meta)]);
    const records = good.toString('latin1').split('\n').filter((r) => r !== '');
    records[records.length - 1] = formatRecord('999', { record_count: String(records.length), decompte_count: '1', ro_total: '1P' });
    const bad = Buffer.from(`${records.join('\n')}\n`, 'latin1');
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from(csvText, 'utf8'), 'a.csv');
    zip.addBuffer(good, 'b.noemie');
    zip.addBuffer(bad, 'c.noemie');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    const path = join(dir, 'drop.zip');
    await writeFile(path, Buffer.concat(chunks));
    return path;
  }

  it('prints per-entry figures and writes only what was read', async () => {
    const path = await realDrop();
    const out = join(dir, 'out');
    const r = await run([path, '--json', '--out', out]);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.out);
    expect(IngestSummarySchema.safeParse(summary).error).toBeUndefined(); // the published schema
    const parts = summary.drops[0].parts;
    expect(parts.map((p: { entry: string }) => p.entry)).toEqual(['a.csv', 'b.noemie', 'c.noemie']);
    expect(parts[0]).toMatchObject({ format: 'csv', records: 3, accepted: 2, rejected: 1, decomptes: 1, expense: '75.50', roAmount: '52.85' });
    expect(parts[1]).toMatchObject({ format: 'noemie', records: 2, accepted: 2, rejected: 0, decomptes: 1, expense: '120.00', roAmount: '84.00' });
    expect(parts[2]).toMatchObject({ format: 'noemie', accepted: 0, error: { code: 'INGEST_CONTROL_TOTALS' } });
    expect(summary.totals).toMatchObject({ parts: 3, refusedParts: 1, accepted: 4, rejected: 1, decomptes: 2, expense: '195.50', roAmount: '136.85' });
    const lines = (await readFile(join(out, 'lines.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l: { decompteId: string; lineNo: number }) => `${l.decompteId}/${l.lineNo}`)).toEqual(['D1/1', 'D1/2', 'D7/1', 'D7/2']);
    const rejects = (await readFile(join(out, 'rejects.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects).toHaveLength(1);
    expect(rejects[0].origin).toMatchObject({ file: 'drop.zip', entry: 'a.csv', record: 4 });
  });

  it('through an inbox: archived, quarantine report naming record, field and reason', async () => {
    const path = await realDrop();
    const home = join(dir, 'home');
    await mkdir(join(home, 'inbox'), { recursive: true });
    await writeFile(join(home, 'inbox', 'drop.zip'), await readFile(path));
    const r = await run(['--home', home, '--stable-ms', '0', '--json']);
    expect(r.code).toBe(1);
    const drop = JSON.parse(r.out).drops[0];
    expect(drop.action).toBe('archived');
    expect(IngestSummarySchema.safeParse(JSON.parse(r.out)).error).toBeUndefined();
    const report = JSON.parse(await readFile(drop.report, 'utf8'));
    expect(QuarantineReportSchema.safeParse(report).error).toBeUndefined();
    expect(report.entries).toEqual([
      expect.objectContaining({ file: 'drop.zip', entry: 'a.csv', record: 4, field: 'expense', value: '12,30' }),
      expect.objectContaining({ file: 'drop.zip', entry: 'c.noemie', code: 'INGEST_CONTROL_TOTALS' }),
    ]);
  });
});

describe('noemie ingest --home and TP claims files', () => {
  it('leaves tp_claims*.csv in the inbox for noemie run (which publishes them) instead of quarantining them', async () => {
    delete seams.reader; // the real reader: the quarantine came from the CSV header sniff
    const home = join(dir, 'home');
    await mkdir(join(home, 'inbox'), { recursive: true });
    const claims = await readFile('fixtures/sample/tp_claims.csv');
    await writeFile(join(home, 'inbox', 'tp_claims_2024.csv'), claims);
    const r = await run(['--home', home, '--stable-ms', '0']);
    expect(r.code).toBe(0);
    expect(await readdir(join(home, 'inbox'))).toEqual(['tp_claims_2024.csv']);
    expect(await readdir(join(home, 'quarantine'))).toEqual([]);
    expect(r.out).toContain('tp_claims_2024.csv: TP claims, not a drop: left in the inbox for noemie run');
  });
});

describe('file names with control characters', () => {
  it('printable escapes them so a name stays on one line', () => {
    expect(printable('a\nb\r\tc\x1b[31m\x7f\u0085\u2028.csv')).toBe('a\\nb\\r\\tc\\x1b[31m\\x7f\\x85\\u2028.csv');
    expect(printable('décompte €.csv')).toBe('décompte €.csv'); // printable text untouched
  });

  it('a newline in a drop name does not break the human output; JSON keeps the name as it is', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'inbox'), { recursive: true });
    const name = 'evil\nFAKE: 0 refused\x1b[2J.csv';
    await writeFile(join(home, 'inbox', name), 'x\n');
    const r = await run(['--home', home, '--stable-ms', '0']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    // no line starts with what followed the newline: the name is one escaped token
    expect(lines.some((l) => l.startsWith('FAKE'))).toBe(false);
    expect(r.out).not.toContain('\x1b');
    expect(lines[0]).toMatch(/^evil\\nFAKE: 0 refused\\x1b\[2J\.csv {2}sha256 /);

    await writeFile(join(home, 'inbox', `again-${name}`), 'y\n');
    const j = await run(['--home', home, '--stable-ms', '0', '--json']);
    expect(JSON.parse(j.out).drops[0].file).toBe(`again-${name}`);
  });
});
