import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Decimal } from 'decimal.js';
import { validPain001 } from '../support/pain001.js';
import { describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { encodeCsv } from '../../src/ingest/csv/index.js';
import { consultation } from '../ingest/codec-support.js';
import { zipBuffer } from '../ingest/zip-support.js';
import { loadBeneficiaries } from '../../src/ingest/reference/beneficiaries.js';
import { loadNomenclature } from '../../src/ingest/reference/nomenclature.js';
import { settlementsForStatement } from '../../src/pipeline/statement-source.js';
import { paymentFactsForStatement } from '../../src/pipeline/statement-payments.js';
import { chooseReference } from '../../src/cli/home-reference.js';
import { RunReportSchema } from '../../src/payments/report.js';
import { renderStatementText, statementData } from '../../src/statement/index.js';
import { runNoemie, spawnNoemie } from '../support/cli.js';

const run = runNoemie;

// The README's main command, on the committed sample: every stage on the embedded bus.
describe('noemie run --once --sample (the main job)', () => {
  it('runs drop → liquidation → reconciliation → payment run → statements; the rerun applies the next day\'s members feed (a re-liquidation); a third run pays nothing', async () => {
    const home = await mkdtemp(join(tmpdir(), 'run-'));
    const args = ['run', '--once', '--sample', '--home', home, '--stable-ms', '0', '--workers', '2'];

    const first = await run(args);
    expect(first.code).toBe(0);
    // the sample: a ZIP of 150 records with 3 bad ones, a 40-line NOEMIE file, two invoices (fixtures/sample/README.md)
    expect(first.out).toMatch(/cpam-lot-0001\.zip: archived — 150 records, 147 accepted, 3 rejected/);
    expect(first.out).toMatch(/cpam-lot-0002\.noemie: archived — 40 records, 40 accepted, 0 rejected/);
    expect(first.out).toMatch(/tp_claims_sample\.csv: 50 TP claims published, 0 rejected/);
    expect(first.out).toMatch(/liquidation: 189 lines, 189 settlements published/);
    const reconciled = /reconciliation: matched (\d+)/.exec(first.out);
    expect(Number(reconciled?.[1])).toBeGreaterThan(0);

    // The pain.001 file's control sum and count match the transfer orders of the run.
    const pain = /pain\.001: (.+\.xml)/.exec(first.out)?.[1];
    const ordersFile = /orders: +(.+\.ndjson)/.exec(first.out)?.[1];
    expect(pain).toBeDefined();
    const orders = (await readFile(ordersFile!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; amount: string });
    const transfers = orders.filter((o) => o.kind === 'payment');
    const header = (await validPain001(pain!)).doc.GrpHdr;
    expect(Number(header.NbOfTxs)).toBe(transfers.length);
    expect(header.CtrlSum).toBe(transfers.reduce((s, o) => s.plus(o.amount), new Decimal(0)).toFixed(2));
    // the run's report for finance, next to the pain.001: reconciles to the cent, its transfers are the file's
    const reportHtml = /report: +(.+report\.html)/.exec(first.out)?.[1];
    expect(reportHtml).toBe(join(dirname(pain!), 'report.html'));
    const report = RunReportSchema.parse(JSON.parse(await readFile(join(dirname(pain!), 'report.json'), 'utf8')));
    expect(report.reconciliation.reconciled).toBe(true);
    expect([report.transferred.total, report.transferred.count]).toEqual([header.CtrlSum, Number(header.NbOfTxs)]);
    for (const b of report.blocked.items) expect(first.out).toContain(`blocked: ${b.payee} ${b.amount}: ${b.reason}`);
    expect((await readdir(join(home, 'statements'))).some((f) => f.endsWith('.html'))).toBe(true);
    // the statement index was built from the 189 settlements, and each statement is the one reading the topic gives
    expect(first.out).toMatch(/statements: .+ \(\d+ families; index: 189 new settlements consumed\)/);
    // the home's first statement pass writes every family (statement-pass.ts)
    expect(first.out).toMatch(/new settlements consumed\) — every family: \d+ files written, 0 unchanged/);
    await expectStatementsAsFromTheTopic(home);
    // the 3 bad records are in a quarantine report
    expect((await readdir(join(home, 'quarantine'))).some((f) => f.endsWith('.errors.json'))).toBe(true);

    // Rerun ("the next day"): the drops are recognised by SHA-256 and nothing of them is liquidated
    // again; --sample now brings the sample's members feed (fixtures/sample/feeds: the résiliation of
    // ADH0000003 back-dated to 2025-06-02, the arrival of ADH9570066 whose line was in review), so the
    // figures of this run are the re-liquidation's, not 0 as before the feed existed:
    //   3 new versions = ADH0000003's 2 member lines of 2025-07-31 (3.78) and 2025-11-07 (11.99), now
    //   rejected, + ADH9570066's line of 2024-01-11, now paid (65.38);
    //   2 orders = a recovery of 3.78 + 11.99 = 15.77 (no transfer) + a transfer of 65.38.
    const second = await run(args);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/cpam-lot-0001\.zip: duplicate/);
    expect(second.out).toMatch(/tp_claims_sample\.csv: duplicate/);
    expect(second.out).toMatch(/sample members feed of the next day copied into .+: members-sample-day2\.csv/);
    expect(second.out).toMatch(/members: 2 membership event\(s\) applied, 0 already applied, 11 families in the store; 2 re-liquidation request\(s\)/);
    expect(second.out).toMatch(/liquidation: 0 lines, 3 settlements published/);
    expect(second.out).toMatch(/payment run \S+: 2 orders \(transfers 65\.38 €\)/);
    expect(second.out).toContain('  recovery: member:ADH0000003 15.77 (debt carried 15.77)');
    expect(second.out).toMatch(/index: 3 new settlements consumed/);
    expect(await readFile(join(home, 'statements', 'ADH0000003.txt'), 'utf8')).toContain('31/07/2025 Analyses de biologie: régularisation suite à résiliation du 02/06/2025');

    // A third run: nothing is liquidated, published or paid again (the feed is not copied twice).
    const third = await run(args);
    expect(third.code).toBe(0);
    expect(third.out).not.toMatch(/sample members feed/);
    expect(third.out).toMatch(/liquidation: 0 lines, 0 settlements published/);
    expect(third.out).toMatch(/payment run \S+: 0 orders/);
    // nothing new on settlements: the statements are read from the index alone
    expect(third.out).toMatch(/index: 0 new settlements consumed/);
    // and only the families whose statement can have changed are computed: fewer than the first run's
    const families = (out: string) => Number(/statements: .+ \((\d+) families;/.exec(out)?.[1]);
    expect(third.out).toMatch(/new settlements consumed\) — the families changed since the last run: /);
    expect(families(third.out)).toBeLessThan(families(first.out));
  }, 120_000);
});

/** A ZIP drop of which one entry is read and one refused (a .txt no codec reads). */
async function partlyRefusedDrop(inbox: string): Promise<void> {
  await mkdir(inbox, { recursive: true });
  const zip = await zipBuffer([
    { name: 'a.csv', data: [...encodeCsv([consultation()])].join('') },
    { name: 'notes.txt', data: 'not a décompte' },
  ]);
  await writeFile(join(inbox, 'partly.zip'), zip);
}

describe('noemie run --once and noemie ingest --home agree', () => {
  it('exit 1 when a part of a drop was refused, though the drop is archived and its other part published', async () => {
    const home = await mkdtemp(join(tmpdir(), 'run-refused-'));
    await partlyRefusedDrop(join(home, 'inbox'));
    const r = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1', '--no-payments', '--reference', 'fixtures']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/partly\.zip: archived — 1 records, 1 accepted, 0 rejected/);
    expect(r.out).toMatch(/liquidation: 1 lines/);
    expect(r.code).toBe(1);

    const home2 = await mkdtemp(join(tmpdir(), 'ingest-refused-'));
    await partlyRefusedDrop(join(home2, 'inbox'));
    const i = await run(['ingest', '--home', home2, '--stable-ms', '0', '--json']);
    expect(JSON.parse(i.out).drops[0]).toMatchObject({ action: 'archived', totals: { accepted: 1, refusedParts: 1 } });
    expect(i.code).toBe(1);
  }, 60_000);
});

describe('noemie run --once and a TP claims file still being written', () => {
  it('a tp_claims file cut mid-row is left in the inbox, nothing of it published', async () => {
    const home = await mkdtemp(join(tmpdir(), 'run-claims-'));
    await mkdir(join(home, 'inbox'), { recursive: true });
    const claims = await readFile('fixtures/sample/tp_claims.csv', 'utf8');
    const cut = claims.slice(0, claims.indexOf('\n', 500) + 20); // some rows, then half a row
    await writeFile(join(home, 'inbox', 'tp_claims_live.csv'), cut);
    const r = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1', '--no-payments', '--reference', 'fixtures']);
    expect(r.out).toContain('tp_claims_live.csv: its last record has no final newline (cut mid-record?): still being written? Left in the inbox');
    expect(r.out).not.toMatch(/TP claims published/);
    expect(r.out).toMatch(/0 TP claims; home/);
    expect(await readdir(join(home, 'inbox'))).toEqual(['tp_claims_live.csv']);
  }, 60_000);
});
/** Each statement file of the run equals the one built from the family's whole settlements partition (the reading the index replaced). */
async function expectStatementsAsFromTheTopic(home: string): Promise<void> {
  const [{ index }, nomenclature] = await Promise.all([loadBeneficiaries('fixtures/sample/beneficiaries.csv'), loadNomenclature('fixtures/nomenclature.csv')]);
  const labels = Object.fromEntries(Object.entries(nomenclature).map(([code, e]) => [code, e.label]));
  const files = (await readdir(join(home, 'statements'))).filter((f) => f.endsWith('.txt'));
  expect(files.length).toBeGreaterThan(0);
  // the professionals the run paid, by name (the home's professionals in force)
  const { professionals } = (await chooseReference(['professionals'], { home, files: {} })).data;
  const professionalNames = Object.fromEntries(Object.entries(professionals).map(([psId, a]) => [psId, a.name]));
  const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
  try {
    for (const file of files) {
      const adherentId = file.slice(0, -'.txt'.length);
      const settlements = await settlementsForStatement(bus, { adherentId, from: '2000-01-01', to: '2099-12-31' });
      const dates = settlements.map((s) => s.careDate).sort();
      const written = await readFile(join(home, 'statements', file), 'utf8');
      // the same payment facts and issue date (today, read back: a run across midnight stays equal)
      const issued = /Émis le (\d\d)\/(\d\d)\/(\d{4})/.exec(written)!;
      const payments = await paymentFactsForStatement(home, settlements.map((s) => s.lineKey));
      const options = { issuedOn: `${issued[3]}-${issued[2]}-${issued[1]}`, payments, professionalNames };
      const expected = renderStatementText(statementData({ adherentId, from: dates[0]!, to: dates.at(-1)! }, settlements, index.all(), labels, options));
      expect(written).toBe(expected);
    }
  } finally {
    await bus.close();
  }
}

describe('noemie run --once and a stage that stalls', () => {
  it('fails once the liquidation commits nothing for NOEMIE_STALL_MS, says how far behind it is, and exits (its stages stopped)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'run-stall-'));
    // each liquidation batch pauses 4 s (a test-only step delay) against a stall budget of 1 s
    const r = await spawnNoemie(['run', '--once', '--sample', '--home', home, '--stable-ms', '0', '--workers', '1', '--no-payments'], { NOEMIE_STEP_DELAY_MS: '4000', NOEMIE_STALL_MS: '1000', NOEMIE_LOG_LEVEL: 'error' });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/group liquidation committed nothing on decompte-lines, invoice-lines, reliquidations for 1000 ms \(\d+ message\(s\) behind/);
    expect(r.out).toMatch(/liquidating…/);
    expect(r.out).not.toMatch(/^liquidation: /m);
  }, 120_000);
});
