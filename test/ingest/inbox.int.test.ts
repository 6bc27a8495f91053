import { mkdtemp, readFile, readdir, rename, rm, writeFile, appendFile, utimes } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { InboxScanner, processInboxOnce, watchInbox, inboxLayout, ensureLayout, type InboxOutcome } from '../../src/ingest/inbox/index.js';
import { NdjsonSink } from '../../src/ingest/sink.js';
import { QuarantineReportSchema } from '../../src/ingest/inbox/report.js';
import { ingestDrop } from '../../src/ingest/ingest-drop.js';
import { IngestError } from '../../src/ingest/types.js';
import { fakeReader, lineEv, rejectEv, type ScriptedPart } from './ingest-drop.fakes.js';

const logger = createLogger({ level: 'silent' });
const NOW = new Date('2025-03-14T10:15:02.123Z'); // stamp 20250314T101502Z
const now = () => NOW;

let home: string;
let inbox: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-inbox-'));
  inbox = join(home, 'inbox');
  await ensureLayout(inboxLayout(home));
});
afterEach(async () => { await rm(home, { recursive: true, force: true }); });

/** One good part per file: its name tells the fake reader what to yield. */
function scripted(name: string): ScriptedPart[] | Error {
  if (name.startsWith('bad')) {
    return [{ file: name, format: 'noemie', events: [new IngestError('INGEST_CONTROL_TOTALS', '999 trailer expects 3 records, found 2', { file: name, record: 9, field: 'record_count' })] }];
  }
  if (name.startsWith('mixed')) {
    return [
      { file: name, entry: 'a.csv', format: 'csv', events: [lineEv(name, 2, {}, 'a.csv'), rejectEv(name, 3, 'nir', '1850375123456', 'NIR key 42 does not match the NIR', 'a.csv')] },
      { file: name, entry: 'b.csv', format: 'csv', events: [new IngestError('INGEST_CSV_HEADER', 'header lacks column expense', { file: name, entry: 'b.csv', record: 1 })] },
    ];
  }
  if (name.startsWith('garbage')) return new IngestError('INGEST_UNKNOWN_FORMAT', 'not a drop', { file: name });
  return [{ file: name, format: 'csv', events: [lineEv(name, 2), lineEv(name, 3, { lineNo: 2 })] }];
}
const reader = fakeReader((_path, name) => scripted(name));
// the files hold arbitrary bytes for the fake reader: the "ends like a complete file" wait is tested on its own
const options = { reader, logger, now, stableMs: 20, incompleteGraceMs: 0 };

const files = async (dir: string) => (await readdir(join(home, dir))).sort();
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('inbox completeness', () => {
  it('never picks a file being written under a temporary name; picks it once renamed', async () => {
    await writeFile(join(inbox, 'drop1.csv.part'), 'half');
    await writeFile(join(inbox, '.drop2.csv'), 'half');
    await writeFile(join(inbox, 'drop3.csv.tmp'), 'half');
    expect(await processInboxOnce(home, options)).toEqual([]);
    expect(await files('inbox')).toEqual(['.drop2.csv', 'drop1.csv.part', 'drop3.csv.tmp']);

    await rename(join(inbox, 'drop1.csv.part'), join(inbox, 'drop1.csv'));
    const outcomes = await processInboxOnce(home, options);
    expect(outcomes.map((o) => [o.file, o.action])).toEqual([['drop1.csv', 'archived']]);
    expect(await files('archive')).toEqual(['20250314T101502Z-drop1.csv']);
  });

  it('in ok-marker mode picks a file only when <name>.ok exists, and removes the marker', async () => {
    await writeFile(join(inbox, 'drop.csv'), 'content');
    const ok = { ...options, completeWhen: 'ok' as const };
    expect(await processInboxOnce(home, ok)).toEqual([]);
    await writeFile(join(inbox, 'drop.csv.ok'), '');
    await writeFile(join(inbox, 'orphan.csv.ok'), '');
    const outcomes = await processInboxOnce(home, ok);
    expect(outcomes.map((o) => o.action)).toEqual(['archived']);
    expect(await files('inbox')).toEqual(['orphan.csv.ok']);
  });

  it('waits until size and mtime are unchanged across two looks stableMs apart', async () => {
    let t = 1000;
    const scanner = new InboxScanner(inbox, 'rename', 500, () => t);
    const path = join(inbox, 'slow.csv');
    await writeFile(path, 'abc');
    expect(await scanner.scan()).toEqual([]); // first look
    t += 600;
    await appendFile(path, 'def'); // still being written in place
    expect(await scanner.scan()).toEqual([]); // size changed: the clock restarts
    t += 400;
    expect(await scanner.scan()).toEqual([]); // unchanged, but only 400 ms
    t += 100;
    expect((await scanner.scan()).map((c) => [c.name, c.size])).toEqual([['slow.csv', 6]]);
  });

  it('handles files oldest first', async () => {
    await writeFile(join(inbox, 'b.csv'), 'b');
    await writeFile(join(inbox, 'a.csv'), 'a');
    await utimes(join(inbox, 'b.csv'), new Date('2025-01-01'), new Date('2025-01-01'));
    await utimes(join(inbox, 'a.csv'), new Date('2025-01-02'), new Date('2025-01-02'));
    expect((await processInboxOnce(home, options)).map((o) => o.file)).toEqual(['b.csv', 'a.csv']);
  });
});

describe('inbox outcomes', () => {
  it('archives a clean drop without report, writes its lines and a ledger line', async () => {
    await writeFile(join(inbox, 'clean.csv'), 'clean bytes');
    const [o] = await processInboxOnce(home, options);
    expect(o).toMatchObject({ action: 'archived', storedAs: join('archive', '20250314T101502Z-clean.csv'), sha256: sha('clean bytes') });
    expect(o!.report).toBeUndefined();
    expect(await files('quarantine')).toEqual([]);
    const lines = (await readFile(join(home, 'ingested', sha('clean bytes').slice(0, 16), 'lines.ndjson'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).lineNo)).toEqual([1, 2]);
    const ledger = (await readFile(join(home, 'ledger.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(ledger).toEqual([{
      sha256: sha('clean bytes'), file: 'clean.csv', action: 'archived', storedAs: join('archive', '20250314T101502Z-clean.csv'),
      at: NOW.toISOString(), records: 2, accepted: 2, rejected: 0, refusedParts: 0,
    }]);
  });

  it('skips a drop whose SHA-256 is in the ledger, whatever its name, and archives it as .duplicate', async () => {
    await writeFile(join(inbox, 'first.csv'), 'same bytes');
    await processInboxOnce(home, options);
    await writeFile(join(inbox, 'again.csv'), 'same bytes');
    const [o] = await processInboxOnce(home, options);
    expect(o!.action).toBe('duplicate');
    expect(o!.message).toBe(`again.csv: already ingested on ${NOW.toISOString()} as ${join('archive', '20250314T101502Z-first.csv')}, skipped`);
    expect(o!.result).toBeUndefined(); // not read again
    expect(await files('archive')).toEqual(['20250314T101502Z-again.csv.duplicate', '20250314T101502Z-first.csv']);
    // a third copy is still a duplicate of the first (the duplicate line does not replace it)
    await writeFile(join(inbox, 'third.csv'), 'same bytes');
    const [o3] = await processInboxOnce(home, options);
    expect(o3!.duplicateOf?.file).toBe('first.csv');
  });

  it('survives a ledger whose last line was cut by a crash', async () => {
    await writeFile(join(inbox, 'first.csv'), 'same bytes');
    await processInboxOnce(home, options);
    await appendFile(join(home, 'ledger.ndjson'), '{"sha256":"ab');
    await writeFile(join(inbox, 'again.csv'), 'same bytes');
    expect((await processInboxOnce(home, options))[0]!.action).toBe('duplicate');
    // the duplicate's own line was not glued to the cut one
    const last = (await readFile(join(home, 'ledger.ndjson'), 'utf8')).trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ file: 'again.csv', action: 'duplicate' });
  });

  it('does not clobber an archived file of the same name in the same second', async () => {
    await writeFile(join(inbox, 'drop.csv'), 'one');
    await processInboxOnce(home, options);
    await writeFile(join(inbox, 'drop.csv'), 'two');
    await processInboxOnce(home, options);
    expect(await files('archive')).toEqual(['20250314T101502Z-drop.csv', '20250314T101502Z-drop.csv-2']);
  });

  it('archives a drop with some part read and reports its rejects and refused parts in quarantine/', async () => {
    await writeFile(join(inbox, 'mixed.zip'), 'zip bytes');
    const [o] = await processInboxOnce(home, options);
    expect(o!.action).toBe('archived');
    expect(await files('archive')).toEqual(['20250314T101502Z-mixed.zip']);
    expect(await files('quarantine')).toEqual(['20250314T101502Z-mixed.zip.errors.json']);
    const report = JSON.parse(await readFile(join(home, 'quarantine', '20250314T101502Z-mixed.zip.errors.json'), 'utf8'));
    expect(QuarantineReportSchema.safeParse(report).error).toBeUndefined(); // the published schema
    expect(report.drop).toBe('mixed.zip');
    expect(report.sha256).toBe(sha('zip bytes'));
    expect(report.storedAs).toBe(join('archive', '20250314T101502Z-mixed.zip'));
    expect(report.entries).toEqual([
      // the NIR value is masked: first digit (sex) kept, the rest starred
      { file: 'mixed.zip', entry: 'a.csv', record: 3, field: 'nir', value: '1************', reason: 'NIR key 42 does not match the NIR', code: 'invalid' },
      { file: 'mixed.zip', entry: 'b.csv', record: 1, field: null, value: null, reason: 'header lacks column expense', code: 'INGEST_CSV_HEADER' },
    ]);
    expect(report.parts.map((p: { error?: { code: string } }) => p.error?.code ?? 'ok')).toEqual(['ok', 'INGEST_CSV_HEADER']);
    expect(JSON.stringify(report)).not.toContain('1850375123456');
  });

  it('quarantines a drop of which nothing could be read, with the reason', async () => {
    await writeFile(join(inbox, 'bad.noemie'), 'bad bytes');
    await writeFile(join(inbox, 'garbage.bin'), 'garbage');
    const outcomes = await processInboxOnce(home, options);
    expect(outcomes.map((o) => [o.file, o.action])).toEqual([['bad.noemie', 'quarantined'], ['garbage.bin', 'quarantined']]);
    expect(await files('archive')).toEqual([]);
    expect(await files('quarantine')).toEqual([
      '20250314T101502Z-bad.noemie', '20250314T101502Z-bad.noemie.errors.json',
      '20250314T101502Z-garbage.bin', '20250314T101502Z-garbage.bin.errors.json',
    ]);
    const bad = JSON.parse(await readFile(join(home, 'quarantine', '20250314T101502Z-bad.noemie.errors.json'), 'utf8'));
    expect(bad.entries).toEqual([{ file: 'bad.noemie', entry: null, record: 9, field: 'record_count', value: null, reason: '999 trailer expects 3 records, found 2', code: 'INGEST_CONTROL_TOTALS' }]);
    const garbage = JSON.parse(await readFile(join(home, 'quarantine', '20250314T101502Z-garbage.bin.errors.json'), 'utf8'));
    expect(garbage.entries[0]).toMatchObject({ code: 'INGEST_UNKNOWN_FORMAT', reason: 'not a drop' });
    // nothing of the refused file was published
    expect(await readFile(join(home, 'ingested', sha('bad bytes').slice(0, 16), 'lines.ndjson'), 'utf8')).toBe('');
    // a quarantined drop is not "already ingested": the same bytes are read again
    await writeFile(join(inbox, 'bad-again.noemie'), 'bad bytes');
    expect((await processInboxOnce(home, options))[0]!.action).toBe('quarantined');
  });

  it('in a dry run reads and counts but moves nothing and writes nothing', async () => {
    await writeFile(join(inbox, 'mixed.zip'), 'zip bytes');
    const [o] = await processInboxOnce(home, { ...options, dryRun: true });
    expect(o).toMatchObject({ action: 'archived', dryRun: true, result: { totals: { accepted: 1, rejected: 1, refusedParts: 1 } } });
    expect(await files('inbox')).toEqual(['mixed.zip']);
    expect(await files('quarantine')).toEqual([]);
    expect(await files('ingested')).toEqual([]);
  });

  it('leaves a file in the inbox when the sink fails (not the drop\'s fault)', async () => {
    await writeFile(join(inbox, 'drop.csv'), 'x');
    const failing = { ...options, sinkFor: () => { const s = new NdjsonSink(join(home, 'out')); s.line = () => { throw new Error('disk full'); }; return s; } };
    const [o] = await processInboxOnce(home, failing);
    expect(o).toMatchObject({ action: 'failed', message: expect.stringContaining('disk full') });
    expect(await files('inbox')).toEqual(['drop.csv']);
    expect(await files('quarantine')).toEqual([]);
  });
});

describe('NdjsonSink', () => {
  it('drops the lines of a refused part, keeps the rejects, and renames the files at close', async () => {
    const out = join(home, 'out');
    const sink = new NdjsonSink(out);
    const r = fakeReader([
      { file: 'z.zip', entry: 'a.csv', format: 'csv', events: [lineEv('z.zip', 2, { lineNo: 1 }, 'a.csv')] },
      { file: 'z.zip', entry: 'b.csv', format: 'csv', events: [
        lineEv('z.zip', 2, { lineNo: 7 }, 'b.csv'), rejectEv('z.zip', 3, 'expense', 'x', 'bad amount', 'b.csv'), new IngestError('INGEST_ZIP_BOMB', 'too big', { file: 'z.zip' }),
      ] },
      { file: 'z.zip', entry: 'c.csv', format: 'csv', events: [lineEv('z.zip', 2, { lineNo: 3 }, 'c.csv')] },
    ]);
    await ingestDrop(join(home, 'inbox'), { sink, reader: r, sha256: 'f'.repeat(64) });
    expect(await readdir(out)).toEqual(['lines.ndjson.tmp', 'rejects.ndjson.tmp']); // not final before close
    await sink.close();
    expect((await readdir(out)).sort()).toEqual(['lines.ndjson', 'rejects.ndjson']);
    const lines = (await readFile(join(out, 'lines.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).lineNo);
    expect(lines).toEqual([1, 3]);
    const rejects = (await readFile(join(out, 'rejects.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects).toEqual([{ origin: { file: 'z.zip', entry: 'b.csv', record: 3 }, issues: [{ code: 'invalid', path: ['expense'], input: 'x', message: 'bad amount' }] }]);
  });
});

describe('watchInbox', () => {
  it('handles a file dropped while watching, then stops on abort', async () => {
    const controller = new AbortController();
    const seen: InboxOutcome[] = [];
    let resolveSeen!: () => void;
    const got = new Promise<void>((r) => (resolveSeen = r));
    const running = watchInbox(home, (o) => { seen.push(o); resolveSeen(); }, { ...options, signal: controller.signal, pollMs: 50 });
    await writeFile(join(inbox, 'live.csv.part'), 'live');
    await rename(join(inbox, 'live.csv.part'), join(inbox, 'live.csv'));
    await got;
    controller.abort();
    await running;
    expect(seen.map((o) => [o.file, o.action])).toEqual([['live.csv', 'archived']]);
    expect(await files('inbox')).toEqual([]);
  });

  it('quarantines a file after repeated unexpected failures', async () => {
    const controller = new AbortController();
    const seen: InboxOutcome[] = [];
    await writeFile(join(inbox, 'poison.csv'), 'p');
    const failing = { ...options, sinkFor: () => { const s = new NdjsonSink(join(home, 'out')); s.line = () => { throw new Error('boom'); }; return s; } };
    await watchInbox(home, (o) => { seen.push(o); if (o.action !== 'failed') controller.abort(); }, { ...failing, signal: controller.signal, pollMs: 30, maxAttempts: 2 });
    // attempt 1 fails (left in the inbox, retried once stable again); attempt 2 fails → quarantined
    expect(seen.map((o) => o.action)).toEqual(['failed', 'quarantined']);
    const report = JSON.parse(await readFile(join(home, 'quarantine', '20250314T101502Z-poison.csv.errors.json'), 'utf8'));
    expect(report.entries[0]).toMatchObject({ code: 'INGEST_UNEXPECTED', reason: 'failed 2 times: boom' });
  });
});
