import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus } from '../../src/bus/index.js';
import { generateFixtures } from '../../src/generate/index.js';
import type { Settlement } from '../../src/model/settlement.js';
import { copyReference, readTopic, ROOT } from './liquidation-support.js';

/**
 * `kill -9` of `noemie run --once` while a multi-part drop (a ZIP of a NOEMIE, a CSV and an XML
 * entry, with annulations of earlier lines) is being ingested, several times, then a run to the
 * end: the settlements and reconciliation outcomes must be those of one uninterrupted run — no
 * extra settlement version (an annulled line reopened by its own `I` published again), no
 * duplicate annulation-indu notice. And no staging file left behind with lines in clear: nothing
 * of ours under the OS temp folder, and the home's spool emptied by the restart.
 */
describe('noemie run --once killed (kill -9) during ingestion, then restarted', () => {
  let dir: string;
  let refDir: string;
  let beneficiaries: string;
  let drop: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noemie-ingest-crash-'));
    const reference = await copyReference(dir);
    refDir = join(dir, 'reference');
    beneficiaries = reference.beneficiariesFile;
    drop = join(dir, 'lot.zip');
    await generateFixtures({ seed: 23, lines: 9_000, format: 'zip', out: drop, nomenclaturePath: reference.nomenclatureFile, beneficiaries });
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh home with the drop in its inbox, and a private temp folder for the child (its os.tmpdir()). */
  async function home(name: string): Promise<{ home: string; tmp: string }> {
    const h = join(dir, name);
    await mkdir(join(h, 'inbox'), { recursive: true });
    await mkdir(join(h, 'tmp'), { recursive: true });
    await copyFile(drop, join(h, 'inbox', 'lot.zip'));
    return { home: h, tmp: join(h, 'tmp') };
  }

  function runOnce(h: { home: string; tmp: string }) {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'noemie.js'), 'run', '--once', '--home', h.home, '--stable-ms', '0', '--workers', '1', '--no-payments', '--reference', refDir, '--beneficiaries', beneficiaries],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: h.tmp, NOEMIE_LOG_LEVEL: 'warn' } },
    );
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  }

  /** Bytes of the line topics' logs: grows as the ingest sink publishes. */
  async function lineBytes(h: string): Promise<number> {
    let total = 0;
    for (const topic of ['decompte-lines', 'invoice-lines']) {
      const files = await readdir(join(h, 'bus', topic)).catch(() => [] as string[]);
      for (const f of files) if (f.endsWith('.log')) total += (await stat(join(h, 'bus', topic, f))).size;
    }
    return total;
  }

  /** Settlements, and reconciliation outcomes by outcomeId (what downstream dedupes on), without their event time. */
  async function results(h: string): Promise<{ settlements: Settlement[]; outcomes: Map<string, string> }> {
    const bus = await openBus({ home: h });
    try {
      const settlements = (await readTopic(bus, 'settlements')).map((r) => r.value);
      const outcomes = new Map((await readTopic(bus, 'reconciliation')).map((r) => [r.value.outcomeId, JSON.stringify({ ...r.value, at: undefined })]));
      return { settlements, outcomes };
    } finally {
      await bus.close();
    }
  }

  it('publishes the same settlements and reconciliation outcomes as an uninterrupted run, and leaves no spool behind', async () => {
    const ref = await home('reference-run');
    const uninterrupted = runOnce(ref);
    expect(await uninterrupted.exited, uninterrupted.output()).toBe(0);
    const want = await results(ref.home);

    const h = await home('killed-run');
    let midIngest = 0;
    let spoolsLeft = 0;
    const tmpLeft: string[] = [];
    for (let kill = 1; kill <= 6; kill++) {
      const before = await lineBytes(h.home);
      const run = runOnce(h);
      // Let it publish some lines of this attempt (a part or more), then kill it.
      const end = Date.now() + 60_000;
      while ((await lineBytes(h.home)) < before + 40_000 * kill && run.child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      run.child.kill('SIGKILL');
      await run.exited;
      const inInbox = (await readdir(join(h.home, 'inbox'))).includes('lot.zip');
      if (inInbox) midIngest += 1;
      spoolsLeft += (await readdir(join(h.home, 'spool')).catch(() => [] as string[])).length;
      tmpLeft.push(...(await readdir(h.tmp)));
    }
    // The kills landed while the drop was being ingested (it was still in the inbox).
    expect(midIngest).toBeGreaterThanOrEqual(3);

    const last = runOnce(h);
    expect(await last.exited, last.output()).toBe(0);
    expect(last.output()).toMatch(/lot\.zip: archived/);
    const got = await results(h.home);
    // What the kills did, for the record (README figures): kills mid-ingest, spools they left, the last run's summary.
    console.info(`kills mid-ingest ${midIngest}/6, spool files left ${spoolsLeft}; ${/liquidation: .*/.exec(last.output())?.[0] ?? ''}`);

    // Settlements deduped on (lineKey, version), as downstream does: same set, same content.
    const key = (s: Settlement) => `${s.lineKey}#${s.version}`;
    const wantMap = new Map(want.settlements.map((s) => [key(s), JSON.stringify(s)]));
    const gotMap = new Map(got.settlements.map((s) => [key(s), JSON.stringify(s)]));
    const extra = [...gotMap.keys()].filter((k) => !wantMap.has(k));
    const missing = [...wantMap.keys()].filter((k) => !gotMap.has(k));
    expect({ extra: extra.length, missing: missing.length, sample: extra.slice(0, 5) }).toEqual({ extra: 0, missing: 0, sample: [] });
    for (const [k, s] of wantMap) expect(gotMap.get(k), k).toBe(s);
    // Reconciliation: no extra notice (an annulation-indu for a reopened then re-annulled line has a new id).
    const kinds = (m: Map<string, string>) => [...m.values()].reduce((c, v) => ({ ...c, [(JSON.parse(v) as { kind: string }).kind]: (c[(JSON.parse(v) as { kind: string }).kind] ?? 0) + 1 }), {} as Record<string, number>);
    expect(kinds(got.outcomes)).toEqual(kinds(want.outcomes));
    expect([...got.outcomes.keys()].sort()).toEqual([...want.outcomes.keys()].sort());

    // Nothing of ours in the OS temp folder, even after kill -9.
    expect(tmpLeft).toEqual([]);
    // Staging files: the restart removed what the kills left; the completed run leaves none.
    expect(await readdir(join(h.home, 'spool')).catch(() => [] as string[])).toEqual([]);
    expect(await readdir(h.tmp)).toEqual([]);
    // The drop is recorded: its publication marks are gone too.
    expect(await readdir(join(h.home, 'state', 'ingest'))).toEqual([]);
    // …and there was something to remove: the kills left spooled lines in the home.
    expect(spoolsLeft).toBeGreaterThan(0);
  }, 600_000);
});
