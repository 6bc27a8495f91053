import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { encodeCsv } from '../../src/ingest/csv/index.js';
import { ensureLayout, inboxLayout, processInboxOnce } from '../../src/ingest/inbox/index.js';
import { QuarantineReportSchema } from '../../src/ingest/inbox/report.js';
import { createLogger } from '../../src/log.js';
import { consultation } from './codec-support.js';

/**
 * Entries of the inbox that are not regular files: a symbolic link is never followed (it could
 * point anywhere, or change under us), a FIFO never opened (opening one for reading blocks until a
 * writer comes). Each is refused with a quarantine report instead of staying there forever unsaid.
 */
const logger = createLogger({ level: 'silent' });

let home: string;
let inbox: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-special-'));
  inbox = join(home, 'inbox');
  await ensureLayout(inboxLayout(home));
});
afterEach(async () => { await rm(home, { recursive: true, force: true }); });

describe('inbox entries that are not regular files', () => {
  it('a symlink and a FIFO are refused to quarantine with a report naming the entry and why; never followed nor opened', async () => {
    const outside = join(home, 'outside.csv');
    await writeFile(outside, [...encodeCsv([consultation()])].join(''));
    await symlink(outside, join(inbox, 'link.csv'));
    execFileSync('mkfifo', [join(inbox, 'pipe.csv')]);

    // if the FIFO were opened this would block: the test would time out
    const outcomes = await processInboxOnce(home, { logger, stableMs: 20 });
    expect(outcomes.map((o) => [o.file, o.action, o.result?.error?.code]).sort()).toEqual([
      ['link.csv', 'quarantined', 'INGEST_NOT_A_FILE'],
      ['pipe.csv', 'quarantined', 'INGEST_NOT_A_FILE'],
    ]);
    const byName = Object.fromEntries(outcomes.map((o) => [o.file, o]));
    expect(byName['link.csv']!.message).toBe(`link.csv is a symbolic link (to ${outside}): refused, never followed; moved to ${byName['link.csv']!.storedAs}`);
    expect(byName['pipe.csv']!.message).toMatch(/^pipe\.csv is a FIFO \(named pipe\): refused, never opened; moved to quarantine\/\d{8}T\d{6}Z-pipe\.csv$/);

    expect(await readdir(inbox)).toEqual([]);
    const quarantined = (await readdir(join(home, 'quarantine'))).sort();
    expect(quarantined.filter((n) => !n.endsWith('.errors.json'))).toHaveLength(2);
    // moved as they are: still a link (to the same target) and a FIFO
    const link = join(home, byName['link.csv']!.storedAs!);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(outside);
    expect((await lstat(join(home, byName['pipe.csv']!.storedAs!))).isFIFO()).toBe(true);

    const report = QuarantineReportSchema.parse(JSON.parse(await readFile(byName['link.csv']!.report!, 'utf8')));
    expect(report.entries).toEqual([{ file: 'link.csv', entry: null, record: null, field: null, value: null, reason: byName['link.csv']!.result!.error!.message, code: 'INGEST_NOT_A_FILE' }]);
    // nothing was read through the link
    expect(await readdir(join(home, 'ingested'))).toEqual([]);
  });

  it('noemie ingest --home refuses them (exit 1, the reason printed); ingest <dir> reads neither', async () => {
    execFileSync('mkfifo', [join(inbox, 'pipe.csv')]);
    const r = await cli(['ingest', '--home', home, '--stable-ms', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/pipe\.csv → quarantined as quarantine\/\d{8}T\d{6}Z-pipe\.csv/);
    expect(r.out).toContain('REFUSED [INGEST_NOT_A_FILE] pipe.csv is a FIFO (named pipe): refused, never opened');

    const dir = join(home, 'by-hand');
    await mkdir(dir);
    execFileSync('mkfifo', [join(dir, 'other.csv')]);
    const d = await cli(['ingest', dir, '--json', '--dry-run']);
    expect(d.code).toBe(1);
    expect(JSON.parse(d.out).drops).toMatchObject([{ file: 'other.csv', action: 'failed', error: { code: 'INGEST_NOT_A_FILE' } }]);
  });
});

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.resume();
  const code = await main(argv, { out, err });
  return { code, out: Buffer.concat(chunks).toString('utf8') };
}
