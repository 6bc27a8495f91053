import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import StreamZip from 'node-stream-zip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDrop } from '../../src/ingest/index.js';
import { runCli } from './cli-support.js';
import { ROOT } from './support.js';

/**
 * The committed sample is generated, never edited: the commands of fixtures/sample/README.md,
 * run again into a temporary directory, must give the committed files byte for byte.
 */
const SAMPLE = join(ROOT, 'fixtures', 'sample');
let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'noemie-sample-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name !== 'README.md').map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** A ZIP compared by its entries (names and inflated bytes): deflate output may differ between zlib builds. */
async function unzipped(path: string): Promise<Buffer> {
  const zip = new StreamZip.async({ file: path });
  try {
    const parts: Buffer[] = [];
    for (const entry of Object.values(await zip.entries())) parts.push(Buffer.from(`${entry.name}\n`), await zip.entryData(entry.name));
    return Buffer.concat(parts);
  } finally {
    await zip.close();
  }
}

describe('fixtures/sample', () => {
  it('is what the README commands generate, byte for byte', async () => {
    const readme = await readFile(join(SAMPLE, 'README.md'), 'utf8');
    const committed = new Set(await files(SAMPLE));
    const commands = readme.split('\n').filter((l) => l.startsWith('npx noemie fixtures generate '));
    expect(commands).toHaveLength(2);
    for (const command of commands) {
      const args = command.replace('npx noemie ', '').replaceAll('fixtures/sample/', `${out}/`).split(' ');
      const r = await runCli(args);
      expect(r.code).toBe(0);
    }
    // every generated file is committed (files written by hand beside them, e.g. professionals.csv, are not checked here)
    const generated = await files(out);
    expect(generated.filter((f) => !committed.has(f))).toEqual([]);
    expect(generated.length).toBeGreaterThanOrEqual(6);
    for (const f of generated) {
      const [fresh, kept] = f.endsWith('.zip') ? [await unzipped(join(out, f)), await unzipped(join(SAMPLE, f))] : [await readFile(join(out, f)), await readFile(join(SAMPLE, f))];
      expect(fresh.equals(kept), `${f} differs: regenerate the sample with the commands of fixtures/sample/README.md`).toBe(true);
    }
    // and fixtures/beneficiaries.csv is the sample's
    expect(readme).toContain('cp fixtures/sample/beneficiaries.csv fixtures/beneficiaries.csv');
    expect((await readFile(join(ROOT, 'fixtures', 'beneficiaries.csv'))).equals(await readFile(join(SAMPLE, 'beneficiaries.csv')))).toBe(true);
  });

  it('reads with exactly the three rejects its README lists', async () => {
    const rejects: string[] = [];
    let lines = 0;
    for (const name of await readdir(join(SAMPLE, 'inbox'))) {
      for await (const part of readDrop(join(SAMPLE, 'inbox', name))) {
        for await (const ev of part.events) {
          if (ev.kind === 'line') lines += 1;
          else rejects.push(`${ev.rejected.origin.entry ?? ev.rejected.origin.file} record ${ev.rejected.origin.record}`);
        }
      }
    }
    const readme = await readFile(join(SAMPLE, 'README.md'), 'utf8');
    expect(rejects).toHaveLength(3);
    for (const r of rejects) expect(readme).toContain(`\`${r.replace(' record', '` record')}:`);
    expect(readme).toContain(`${lines} lines in all`);
  });
});
