import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { createLogger } from '../../src/log.js';
import { readAll } from './bus-suite.js';
import { drainUntilSigterm, lineMessage, NIRS } from './fixtures.js';

/** What only the embedded bus has to prove: its files survive crashes and one process owns them. */
let dir = '';
const opened: EmbeddedBus[] = [];
const open = async (options: { readOnly?: boolean; logs?: string[] } = {}) => {
  const logger = options.logs ? createLogger({ level: 'warn', destination: sink(options.logs) }) : undefined;
  const bus = await openEmbeddedBus({ dir, readOnly: options.readOnly ?? false, ...(logger ? { logger } : {}) });
  opened.push(bus);
  return bus;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noemie-bus-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

const nir = NIRS[0];
const p = partitionFor(`${nir}-1`);
const logFile = () => join(dir, 'decompte-lines', `${p}.log`);
const idxFile = () => join(dir, 'decompte-lines', `${p}.idx`);
const lineNos = async (bus: EmbeddedBus) => (await readAll(bus.readRange('decompte-lines', p, { from: 0 }))).flat().map((r) => r.value.line.lineNo);

async function threeLinesThenClose(): Promise<void> {
  const bus = await open();
  await bus.produce('decompte-lines', [1, 2, 3].map((n) => ({ value: lineMessage(nir, 1, n) })));
  await bus.close();
}

describe('embedded bus: recovery on open', () => {
  it('cuts a torn last record (a write cut short by a crash) and appends after the last whole one', async () => {
    await threeLinesThenClose();
    const sizeBefore = (await stat(logFile())).size;
    const torn = '{"o":3,"t":1,"k":"1850375123456-1","h":{},"v":{"line":{"sou';
    await appendFile(logFile(), torn);

    const logs: string[] = [];
    const bus = await open({ logs });
    expect((await bus.endOffsets('decompte-lines')).find((e) => e.partition === p)?.high).toBe(3);
    expect(await lineNos(bus)).toEqual([1, 2, 3]);
    // The warning names how much was cut: exactly the torn fragment.
    expect(logs.join('')).toContain(`"truncatedBytes":${Buffer.byteLength(torn)}`);
    expect((await stat(logFile())).size).toBe(sizeBefore);

    await bus.produce('decompte-lines', [{ value: lineMessage(nir, 1, 4) }]);
    expect(await lineNos(bus)).toEqual([1, 2, 3, 4]);
  });

  it('completes an index left behind the log (crash between the log write and the index write)', async () => {
    await threeLinesThenClose();
    await truncate(idxFile(), 8); // keep the position of record 0 only
    const logs: string[] = [];
    const bus = await open({ logs });
    expect(await lineNos(bus)).toEqual([1, 2, 3]);
    expect(logs.join('')).toBe(''); // nothing was lost: no warning
    expect((await stat(idxFile())).size).toBe(3 * 8);
  });

  it('rebuilds a missing or garbage index by scanning the log', async () => {
    await threeLinesThenClose();
    await rm(idxFile());
    let bus = await open();
    expect(await lineNos(bus)).toEqual([1, 2, 3]);
    await bus.close();

    await writeFile(idxFile(), Buffer.alloc(3 * 8, 0xff));
    const logs: string[] = [];
    bus = await open({ logs });
    expect(await lineNos(bus)).toEqual([1, 2, 3]);
    expect(logs.join('')).toContain('"fullRebuild":true');
  });

  it('refuses damage in the middle of a log rather than truncating the valid records after it', async () => {
    await threeLinesThenClose();
    const text = await readFile(logFile(), 'utf8');
    const second = text.indexOf('\n') + 1;
    await writeFile(logFile(), `${text.slice(0, second)}X${text.slice(second + 1)}`);

    // Index intact: open works, the read of the damaged record fails loudly.
    let bus = await open();
    await expect(readAll(bus.readRange('decompte-lines', p, { from: 0 }))).rejects.toMatchObject({ code: 'BUS_CORRUPT_LOG' });
    await bus.close();
    // Index gone: the rebuild scan meets the damage with valid data after it.
    await rm(idxFile());
    bus = await open();
    await expect(bus.endOffsets('decompte-lines')).rejects.toMatchObject({ code: 'BUS_CORRUPT_LOG' });
    expect(await readFile(logFile(), 'utf8')).toHaveLength(text.length);
  });

  it('removes the temp files a kill left between a write and its rename (offsets, topic.json), keeping the committed state', async () => {
    const bus = await open();
    await bus.produce('decompte-lines', [1, 2, 3].map((n) => ({ value: lineMessage(nir, 1, n) })));
    await bus.offsets.commit('g one', 'decompte-lines', p, 2);
    await bus.close();
    // What writeAtomically leaves when killed before its rename: `<file>.tmp-<pid of the dead process>`,
    // holding a newer state that was never committed.
    const groupDir = join(dir, 'groups', encodeURIComponent('g one'));
    const planted = [
      join(groupDir, 'decompte-lines.json.tmp-999999'),
      join(groupDir, 'settlements.json.tmp-4242'),
      join(dir, 'decompte-lines', 'topic.json.tmp-31337'),
    ];
    for (const f of planted) await writeFile(f, '{"0":99');
    // Not ours: a file that merely looks alike must stay.
    await writeFile(join(groupDir, 'notes.txt'), 'keep');

    const reader = await open({ readOnly: true }); // a reader owns nothing and removes nothing
    for (const f of planted) expect((await stat(f)).isFile()).toBe(true);
    await reader.close();

    const again = await open();
    for (const f of planted) await expect(stat(f)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(groupDir, 'notes.txt'), 'utf8')).toBe('keep');
    expect((await again.committedOffsets('g one', 'decompte-lines')).find((c) => c.partition === p)?.offset).toBe(2);
    expect(await lineNos(again)).toEqual([1, 2, 3]);
  });

  it('keeps every acknowledged message after kill -9 of the writing process', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'bus-child.ts'), 'write', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        for (const m of chunk.matchAll(/acked (\d+)/g)) acked = Number(m[1]);
        if (acked >= 400) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', (code) => (acked >= 400 ? resolve() : reject(new Error(`writer exited with ${code}: ${stderr}`))));
    });
    await new Promise((r) => child.once('close', r));

    const bus = await open(); // the dead writer's LOCK is stale and taken over
    const seen: number[] = [];
    for (let partition = 0; partition < 4; partition++) {
      const records = (await readAll(bus.readRange('decompte-lines', partition, { from: 0 }))).flat();
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
      // Each beneficiary's lines in increasing order: line n goes to NIRS[(n − 1) mod 4].
      for (const b of NIRS) {
        const mine = records.filter((r) => r.value.line.nir === b).map((r) => r.value.line.lineNo);
        expect(mine).toEqual([...mine].sort((x, y) => x - y));
      }
      seen.push(...records.map((r) => r.value.line.lineNo));
    }
    const sorted = [...seen].sort((x, y) => x - y);
    expect(new Set(sorted).size).toBe(sorted.length); // no line twice
    // Every acknowledged line is there; beyond, at most the one batch of 40 in flight.
    for (let n = 1; n <= acked; n++) expect(sorted[n - 1]).toBe(n);
    expect(sorted.length).toBeLessThanOrEqual(acked + 40);
  }, 30_000);
});

describe('embedded bus: one owner', () => {
  it('refuses a second writer, lets a read-only bus look, and frees the directory on close', async () => {
    const bus = await open();
    await bus.produce('decompte-lines', [1, 2].map((n) => ({ value: lineMessage(nir, 1, n) })));
    await expect(openEmbeddedBus({ dir })).rejects.toMatchObject({ code: 'BUS_LOCKED' });

    const reader = await open({ readOnly: true });
    expect((await reader.endOffsets('decompte-lines')).find((e) => e.partition === p)?.high).toBe(2);
    expect(await lineNos(reader)).toEqual([1, 2]);
    await expect(reader.produce('decompte-lines', [{ value: lineMessage(nir, 1, 3) }])).rejects.toMatchObject({ code: 'BUS_READ_ONLY' });

    await bus.close();
    await expect(stat(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await open();
    expect(await lineNos(again)).toEqual([1, 2]);
  });

  it('serves one member per consumer group', async () => {
    const bus = await open();
    const sub = await bus.consume({ groupId: 'g', topics: ['rejects'], handler: async () => undefined });
    await expect(bus.consume({ groupId: 'g', topics: ['rejects'], handler: async () => undefined })).rejects.toMatchObject({ code: 'BUS_GROUP_BUSY' });
    await sub.stop();
    const next = await bus.consume({ groupId: 'g', topics: ['rejects'], handler: async () => undefined });
    await next.stop();
  });

  it('refuses a topic directory made with another partition count', async () => {
    await threeLinesThenClose();
    await writeFile(join(dir, 'decompte-lines', 'topic.json'), '{"partitions":3}');
    const bus = await open();
    await expect(bus.produce('decompte-lines', [{ value: lineMessage(nir, 1, 4) }])).rejects.toMatchObject({
      code: 'BUS_PARTITION_MISMATCH',
      message: expect.stringMatching(/says 3 partitions, the pipeline expects 4 \(NOEMIE_PARTITIONS=4\).*set NOEMIE_PARTITIONS=3/),
    });
  });

  it('on SIGTERM finishes the batch in flight, commits it and exits cleanly', async () => {
    const bus = await open();
    await bus.produce('decompte-lines', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ value: lineMessage(nir, 1, n) })));
    await bus.close();

    const { code, handled } = await drainUntilSigterm(dir);
    expect(code).toBe(0);
    expect(handled.length).toBeGreaterThanOrEqual(2); // the batch in flight at SIGTERM completed
    expect(handled.length).toBeLessThan(5); // and the consumer stopped there
    await expect(stat(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });

    const reopened = await open();
    // Committed = last handled offset + 1.
    expect((await reopened.committedOffsets('g-drain', 'decompte-lines')).find((c) => c.partition === p)?.offset).toBe(handled[handled.length - 1]! + 1);
  }, 30_000);
});

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
}
