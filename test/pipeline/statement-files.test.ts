import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatementFiles } from '../../src/pipeline/statement-files.js';

describe('statement files (src/pipeline/statement-files.ts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'statement-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes new and changed files, and leaves a file holding the same bytes untouched', async () => {
    const same = join(dir, 'A1.txt');
    const changed = join(dir, 'A2.txt');
    writeFileSync(same, 'Émis le 05/12/2026\n');
    writeFileSync(changed, 'old\n');
    // an old modification time: a rewrite of `same` would move it to now
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(same, old, old);
    const files = new StatementFiles(2);
    await files.add([[same, 'Émis le 05/12/2026\n'], [changed, 'new\n']]);
    await files.add([[join(dir, 'A3.txt'), 'first\n']]);
    await files.flush();
    expect(statSync(same).mtimeMs).toBe(old.getTime());
    expect(readFileSync(changed, 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'A3.txt'), 'utf8')).toBe('first\n');
    expect(files.counts).toEqual({ written: 2, unchanged: 1 });
  });

  it('a file of another size is rewritten whole, shorter or longer; durable: flush syncs what was written and what was left', async () => {
    const longer = join(dir, 'A1.html');
    const shorter = join(dir, 'A2.html');
    writeFileSync(longer, 'x'.repeat(10_000));
    writeFileSync(shorter, 'y');
    const files = new StatementFiles(2, { durable: true });
    await files.add([[longer, 'short\n'], [shorter, 'z'.repeat(5_000)]]);
    await files.add([[join(dir, 'A3.html'), 'same'], [join(dir, 'A3.txt'), '']]);
    await files.flush();
    await files.add([[join(dir, 'A3.html'), 'same']]);
    await files.flush();
    expect(readFileSync(longer, 'utf8')).toBe('short\n');
    expect(readFileSync(shorter, 'utf8')).toBe('z'.repeat(5_000));
    expect(readFileSync(join(dir, 'A3.txt'), 'utf8')).toBe('');
    expect(files.counts).toEqual({ written: 4, unchanged: 1 });
  });

  it('a failed write is reported, by the next statement queued or by flush', async () => {
    const files = new StatementFiles(4);
    // a folder that does not exist: the write fails with ENOENT
    await files.add([[join(dir, 'missing', 'A1.txt'), 'x']]);
    await expect(files.flush()).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.add([[join(dir, 'A2.txt'), 'y']])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
