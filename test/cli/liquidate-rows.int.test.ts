import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadReference } from '../../src/cli/reference.js';
import { generateFixtures } from '../../src/generate/index.js';
import { readDrop } from '../../src/ingest/index.js';
import { maskPersonalData } from '../../src/log.js';
import { describeOrigin } from '../../src/model/issues.js';
import { DropShard, type ShardRequest } from '../../src/pipeline/drop-shard.js';
import { runNoemie } from '../support/cli.js';
import { zipBuffer } from '../ingest/zip-support.js';

/**
 * `noemie liquidate` reads a CSV's rows raw and validates them in its shards (src/pipeline/drop-rows.ts,
 * DropShard.liquidateRows). What it writes must be what the codec's own path gives: the drop read
 * through `readDrop`'s events (validated in this thread), each act line liquidated in input order by
 * one in-thread shard, each reject said as `rejected <file>#<line>: <path> <message>` in read order.
 */
const ROOT = join(import.meta.dirname, '../..');
const REF = ['--grids', join(ROOT, 'fixtures/grids'), '--nomenclature', join(ROOT, 'fixtures/nomenclature.csv'), '--pmss', join(ROOT, 'fixtures/pmss.csv')];
const AS_OF = '2026-01-01';

/** Settlements and reject messages as the codec's events path gives them for `path` (refusals as the command says them). */
async function expected(path: string, name: string, beneficiaries: string): Promise<{ out: string; said: string[] }> {
  const reference = await loadReference({ beneficiaries, grids: REF[1], nomenclature: REF[3], pmss: REF[5] });
  const requests: ShardRequest[] = [];
  const said: string[] = [];
  for await (const part of readDrop(path, { name })) {
    try {
      for await (const ev of part.events) {
        if (ev.kind === 'line') requests.push({ line: ev.line, beneficiary: reference.beneficiaries.byNirRang(ev.line.nir, ev.line.rang) ?? null });
        else said.push(maskPersonalData(`rejected ${describeOrigin(ev.rejected.origin)}: ${ev.rejected.issues[0]?.path.join('.')} ${ev.rejected.issues[0]?.message}`));
      }
    } catch (e) {
      const err = e as { code: string; message: string };
      said.push(maskPersonalData(`refused ${part.file}${part.entry ? `!${part.entry}` : ''} [${err.code}]: ${err.message}`));
    }
  }
  const shard = new DropShard({ grids: reference.grids, nomenclature: reference.nomenclature, pmss: reference.pmss });
  try {
    return { out: new TextDecoder().decode(shard.liquidate({ requests, asOf: AS_OF }).bytes), said };
  } finally {
    shard.close();
  }
}

/** A generated drop (with the generator's own bad lines), then rows each codec check refuses, a quoted row and a blank line. */
async function dropWithBadRows(dir: string, lines: number): Promise<{ csv: Buffer; beneficiaries: string }> {
  const beneficiaries = join(dir, 'ben.csv');
  const path = join(dir, 'gen.csv');
  await generateFixtures({ seed: 5, lines, bad: 25, format: 'csv', out: path, nomenclaturePath: join(ROOT, 'fixtures/nomenclature.csv'), beneficiaries });
  const rows = (await readFile(path, 'utf8')).split('\n');
  const at = (i: number) => rows[i]!.split(';');
  const set = (i: number, col: number, value: string) => {
    const f = at(i);
    f[col] = value;
    rows[i] = f.join(';');
  };
  set(10, 5, '1234'); // nir: not 13 digits
  set(20, 7, 'x'); // rang: not an integer (and routed by a text that names nobody)
  rows[30] = `${rows[30]};extra`; // column count
  set(40, 9, `"${at(40)[9]}"`); // a quoted amc_member_id: read by csv-parse, valid
  set(50, 2, '"I'); // an unclosed quote
  set(60, 19, '-12.00'); // a negative expense
  rows[70] = '';
  set(80, 7, ' 01 '); // rang with spaces and a leading zero: valid, same family
  const csv = Buffer.from(rows.join('\n'));
  // a Latin-1 byte in row 90 (not UTF-8)
  const row90 = csv.indexOf(Buffer.from(rows[90]!));
  csv[row90 + 1] = 0xe9;
  return { csv, beneficiaries };
}

describe('noemie liquidate reads CSV rows raw and validates them in the shards', () => {
  it('settlements and the quarantine report equal the codec path, with 2 threads and in one, on a drop with bad rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-liq-rows-'));
    const { csv, beneficiaries } = await dropWithBadRows(dir, 9_000);
    const drop = join(dir, 'drop.csv');
    await writeFile(drop, csv);
    const want = await expected(drop, 'drop.csv', beneficiaries);
    expect(want.said.length).toBeGreaterThan(25);
    for (const workers of ['2', '0']) {
      const got = await runNoemie(['liquidate', '--in', drop, '--beneficiaries', beneficiaries, '--as-of', AS_OF, '--workers', workers, ...REF]);
      expect(got.code).toBe(0);
      expect(got.out).toBe(want.out);
      const said = got.err.split('\n').filter((l) => l.startsWith('rejected ') || l.startsWith('refused '));
      expect(said).toEqual(want.said);
      expect(got.err).toContain(`${want.said.length} records rejected`);
    }
  });

  it('in a ZIP: rejects, a refused part and the next part are said in the order read, whatever the batches in flight', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-liq-rows-'));
    const { csv, beneficiaries } = await dropWithBadRows(dir, 6_000);
    const text = csv.toString('latin1');
    const header = text.slice(0, text.indexOf('\n'));
    const zip = await zipBuffer([
      { name: 'a.csv', data: csv },
      { name: 'b.csv', data: `not;a;header\n1;2;3\n` },
      // the same rows again: the ledgers carry over from a.csv (annulations and counters)
      { name: 'c.csv', data: Buffer.concat([Buffer.from(`${header}\n`), csv.subarray(text.indexOf('\n') + 1, text.indexOf('\n') + 1 + 200_000)]) },
    ]);
    const drop = join(dir, 'drop.zip');
    await writeFile(drop, zip);
    const want = await expected(drop, 'drop.zip', beneficiaries);
    expect(want.said.some((l) => l.startsWith('refused drop.zip!b.csv'))).toBe(true);
    const got = await runNoemie(['liquidate', '--in', drop, '--beneficiaries', beneficiaries, '--as-of', AS_OF, '--workers', '2', ...REF]);
    expect(got.code).toBe(1);
    expect(got.out).toBe(want.out);
    expect(got.err.split('\n').filter((l) => l.startsWith('rejected ') || l.startsWith('refused '))).toEqual(want.said);
  });
});
