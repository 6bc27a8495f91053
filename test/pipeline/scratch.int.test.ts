import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerStore } from '../../src/pipeline/ledger-store.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';

/**
 * Without a folder of their own (tests, bench), the ledger store and the ingest spool use a
 * per-process folder under the OS temp dir; it holds personal data, so one left by a killed
 * process is removed by the next process that makes one (src/pipeline/scratch.ts).
 */
describe('scratch folders under the OS temp dir', () => {
  let tmp: string;
  let saved: string | undefined;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'noemie-scratch-test-'));
    saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // os.tmpdir() reads it at each call
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await rm(tmp, { recursive: true, force: true });
  });

  /** The pid of a process that has exited. */
  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.once('exit', r));
    return child.pid!;
  }

  it('a folder left by a dead process is removed; a live process\'s folder is kept', async () => {
    const dead = await deadPid();
    for (const prefix of ['noemie-ledgers-', 'noemie-spool-']) {
      await mkdir(join(tmp, `${prefix}${dead}-abc123`));
      await writeFile(join(tmp, `${prefix}${dead}-abc123`, 'part-1.ndjson'), '{"line":{"nir":"1850375123456"}}\n');
    }
    await mkdir(join(tmp, `noemie-ledgers-${process.ppid}-alive1`)); // our parent (vitest) is alive

    const store = await LedgerStore.open({});
    const bus = await openEmbeddedBus({ dir: join(tmp, 'bus'), fsync: false });
    const sink = new BusIngestSink(bus);
    await sink.beginPart({ file: 'd.csv', format: 'csv' });
    const during = (await readdir(tmp)).sort();
    expect(during.filter((n) => n.includes(`-${dead}-`))).toEqual([]);
    expect(during).toContain(`noemie-ledgers-${process.ppid}-alive1`);
    expect(during.filter((n) => n.startsWith(`noemie-ledgers-${process.pid}-`))).toHaveLength(1);
    expect(during.filter((n) => n.startsWith(`noemie-spool-${process.pid}-`))).toHaveLength(1);

    await sink.abortPart({ file: 'd.csv', format: 'csv', records: 0, accepted: 0, rejected: 0, decomptes: 0, expense: '0.00', roAmount: '0.00' });
    await sink.close();
    await store.close();
    await bus.close();
    expect((await readdir(tmp)).filter((n) => n.startsWith('noemie-') && n.includes(`-${process.pid}-`))).toEqual([]);
  });
});
