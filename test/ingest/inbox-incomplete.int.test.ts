import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCsv } from '../../src/ingest/csv/index.js';
import { readDrop } from '../../src/ingest/drop.js';
import type { DropReader } from '../../src/ingest/ingest-drop.js';
import { ensureLayout, inboxLayout, incompleteTail, processInboxOnce, watchInbox, type InboxOutcome } from '../../src/ingest/inbox/index.js';
import type { IngestEvent } from '../../src/ingest/types.js';
import { createLogger } from '../../src/log.js';
import { consultation } from './codec-support.js';

/**
 * A sender writing in place under the final name that pauses longer than stableMs: nothing of
 * what it wrote so far may be archived as the complete drop, nor published twice once complete.
 */
const logger = createLogger({ level: 'silent' });

let home: string;
let inbox: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-incomplete-'));
  inbox = join(home, 'inbox');
  await ensureLayout(inboxLayout(home));
});
afterEach(async () => { await rm(home, { recursive: true, force: true }); });

/** 20 rows of décompte CSV (header + one row per line, each ending in \n). */
function twentyRows(): string {
  return [...encodeCsv(Array.from({ length: 20 }, (_, i) => consultation({ decompteId: `D${String(i + 1).padStart(3, '0')}` })))].join('');
}

const ledgerLines = async () => (await readFile(join(home, 'ledger.ndjson'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

async function publishedDecomptes(): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(home, 'ingested'))) {
    const text = await readFile(join(home, 'ingested', d, 'lines.ndjson'), 'utf8').catch(() => '');
    for (const l of text.split('\n').filter(Boolean)) out.push((JSON.parse(l) as { decompteId: string }).decompteId);
  }
  return out.sort();
}

async function waitForSize(path: string, size: number): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if ((await stat(path).catch(() => undefined))?.size === size) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} never reached ${size} bytes`);
}

describe('a drop written in place that stalls', () => {
  it('a child writer stalling 3 s mid-row: left in the inbox, then the complete file is ingested once, 20 rows, no duplicate', async () => {
    const csv = twentyRows();
    const rows = csv.split('\n');
    // header + 10 rows + the first half of row 11: the pause falls mid-record, no final newline
    const cut = rows.slice(0, 11).join('\n').length + 1 + Math.floor(rows[11]!.length / 2);
    const target = join(inbox, 'drop.csv');
    await writeFile(join(home, 'part1'), csv.slice(0, cut));
    await writeFile(join(home, 'part2'), csv.slice(cut));
    const script = `
      const fs = require('node:fs');
      const [target, p1, p2] = process.argv.slice(1);
      const fd = fs.openSync(target, 'w');
      fs.writeSync(fd, fs.readFileSync(p1));
      setTimeout(() => { fs.writeSync(fd, fs.readFileSync(p2)); fs.closeSync(fd); }, 3000);`;
    const child = spawn(process.execPath, ['-e', script, target, join(home, 'part1'), join(home, 'part2')], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

    await waitForSize(target, cut);
    // stableMs 300 < the 3 s pause: the scanner alone would take the half file as complete
    const first = await processInboxOnce(home, { logger, stableMs: 300 });
    expect(first.map((o) => [o.file, o.action, o.incomplete])).toEqual([['drop.csv', 'failed', true]]);
    expect(first[0]!.message).toContain('its last record has no final newline');
    expect(await readdir(inbox)).toEqual(['drop.csv']);
    expect(await readdir(join(home, 'archive'))).toEqual([]);
    expect(await ledgerLines()).toEqual([]);
    expect(await publishedDecomptes()).toEqual([]);

    expect(await exited).toBe(0);
    const second = await processInboxOnce(home, { logger, stableMs: 50 });
    expect(second.map((o) => [o.file, o.action])).toEqual([['drop.csv', 'archived']]);
    expect(second[0]!.result!.totals).toMatchObject({ records: 20, accepted: 20, rejected: 0 });
    // every row once: D001 … D020
    expect(await publishedDecomptes()).toEqual(Array.from({ length: 20 }, (_, i) => `D${String(i + 1).padStart(3, '0')}`));
    expect(await ledgerLines()).toHaveLength(1);
  }, 20_000);

  it('a file that grows while it is read: nothing published, not archived, read whole at the next pickup', async () => {
    const csv = twentyRows();
    const rows = csv.split('\n');
    const half = `${rows.slice(0, 11).join('\n')}\n`; // header + 10 complete rows: ends like a complete file
    await writeFile(join(inbox, 'drop.csv'), half);
    // the sender resumes while the drop is being read (after its first record)
    let resumed = false;
    const reader: DropReader = async function* (path, o) {
      for await (const part of readDrop(path, o)) {
        const events = part.events;
        yield {
          ...part,
          events: (async function* (): AsyncGenerator<IngestEvent> {
            for await (const ev of events) {
              yield ev;
              if (!resumed) {
                resumed = true;
                await appendFile(path, csv.slice(half.length));
              }
            }
          })(),
        };
      }
    };
    const first = await processInboxOnce(home, { logger, stableMs: 20, reader });
    expect(resumed).toBe(true);
    expect(first.map((o) => [o.action, o.incomplete])).toEqual([['failed', true]]);
    expect(first[0]!.message).toMatch(/^drop\.csv changed while it was read \(its size went from \d+ to \d+ bytes\)/);
    expect(await readdir(inbox)).toEqual(['drop.csv']);
    expect(await ledgerLines()).toEqual([]);
    expect(await publishedDecomptes()).toEqual([]);

    const second = await processInboxOnce(home, { logger, stableMs: 20 });
    expect(second.map((o) => o.action)).toEqual(['archived']);
    expect(await publishedDecomptes()).toHaveLength(20);
  });

  it('an unchanged file that never ends like a complete one is read as it is after the grace period', async () => {
    const csv = twentyRows().slice(0, -1); // no final newline, otherwise complete
    await writeFile(join(inbox, 'drop.csv'), csv);
    expect((await processInboxOnce(home, { logger, stableMs: 20 })).map((o) => o.action)).toEqual(['failed']);
    const outcomes = await processInboxOnce(home, { logger, stableMs: 20, incompleteGraceMs: 0 });
    expect(outcomes.map((o) => [o.action, o.result?.totals.accepted])).toEqual([['archived', 20]]);
  });
});

describe('watch mode', () => {
  it('a file still being written is neither counted as a failure toward quarantine nor looked at again until it changes', async () => {
    await writeFile(join(inbox, 'drop.csv'), twentyRows().slice(0, 100)); // cut mid-row
    const outcomes: InboxOutcome[] = [];
    const controller = new AbortController();
    const watching = watchInbox(home, (o) => void outcomes.push(o), { logger, stableMs: 20, pollMs: 30, maxAttempts: 1, signal: controller.signal });
    for (let i = 0; i < 250 && outcomes.length < 1; i += 1) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500)); // ~15 more scans
    expect(outcomes.map((o) => [o.action, o.incomplete])).toEqual([['failed', true]]); // once, though scanned again and again
    expect(await readdir(join(home, 'quarantine'))).toEqual([]);

    await writeFile(join(inbox, 'drop.csv'), twentyRows()); // the sender finishes
    for (let i = 0; i < 250 && outcomes.length < 2; i += 1) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await watching;
    expect(outcomes.map((o) => o.action)).toEqual(['failed', 'archived']);
    expect(await publishedDecomptes()).toHaveLength(20);
  });
});

describe('incompleteTail', () => {
  const check = async (name: string, data: string | Buffer) => {
    const p = join(home, name);
    await writeFile(p, data);
    return incompleteTail(p, name);
  };

  it('says why a file does not end like a complete one of its kind', async () => {
    expect(await check('a.csv', 'h\nrow\n')).toBeNull();
    expect(await check('b.csv', 'h\nro')).toMatch(/no final newline/);
    expect(await check('c.noemie', `000${' '.repeat(10)}\n255 cut`)).toMatch(/no final newline/);
    expect(await check('d.xml', '<?xml version="1.0"?>\n<decomptes>\n</decomptes>\n<!-- end -->\n')).toBeNull();
    expect(await check('e.xml', '<?xml version="1.0"?>\n<decomptes>\n<decompte id="1">')).toMatch(/closing <\/decomptes>/);
    expect(await check('f.json', '{"a": 1}\n')).toBeNull();
    expect(await check('g.json', '{"a": ')).toMatch(/closing "}"/);
    expect(await check('h.zip', Buffer.from('PK\x03\x04 cut', 'latin1'))).toMatch(/end-of-central-directory/);
    expect(await check('i.csv', '')).toBe('it is empty');
  });
});
