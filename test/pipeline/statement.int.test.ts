import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { command } from '../../src/cli/commands/statement.js';
import { existsSync } from 'node:fs';
import { stateStoreFileOf } from '../../src/state/kv-store.js';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { importSampleMembers, settlement, tempDir } from './stages-given.js';

/**
 * `noemie statement` end to end: settlements on the embedded bus (several versions, an annulation,
 * lines outside the period or of another family), the command run as the CLI runs it, the HTML
 * page it writes opened in a real headless Chromium (Debian `chromium`). Family ADH0000001 of
 * fixtures/sample/beneficiaries.csv: François (adhérent) and Isabelle.
 */
const run = promisify(execFile);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'];
const FRANCOIS = { nir: '1870459280378', rang: 1 };
const ISABELLE = { nir: '2810669306301', rang: 1 };

const member = { adherentId: 'ADH0000001', tp: '00' as const, payee: 'member' as const };
let home = '';
let cleanup: () => Promise<void>;
let stdout = '';
let code = -1;
const html = () => join(home, 'statement.html');

beforeAll(async () => {
  ({ dir: home, cleanup } = await tempDir('statement-cli-'));
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  await bus.produce('settlements', [
    // François, GP 2025-01-10: 30.00 spent, RO 19.00, AMC 9.00, rest 2.00
    settlement({ ...member, lineKey: 'n:D1:1', beneficiary: FRANCOIS, careDate: '2025-01-10', expense: '30.00', roAmount: '19.00', amcAmount: '9.00', restToPay: '2.00' }),
    // Isabelle, pharmacy 2025-02-05: version 1 AMC 7.00, replayed as version 2 AMC 5.00 / rest 2.00: the statement shows version 2
    settlement({ ...member, lineKey: 'n:D2:1', beneficiary: ISABELLE, careDate: '2025-02-05', actCode: 'PH7', poste: 'soins.medicaments', expense: '20.00', roAmount: '13.00', amcAmount: '7.00', restToPay: '0.00' }),
    settlement({ ...member, lineKey: 'n:D2:1', beneficiary: ISABELLE, careDate: '2025-02-05', actCode: 'PH7', poste: 'soins.medicaments', expense: '20.00', roAmount: '13.00', amcAmount: '5.00', restToPay: '2.00', version: 2 }),
    // Isabelle, GP 2025-02-20, annulled by the RO (version 2, operation A): left out
    settlement({ ...member, lineKey: 'n:D3:1', beneficiary: ISABELLE, careDate: '2025-02-20', expense: '99.00', amcAmount: '77.00' }),
    settlement({ ...member, lineKey: 'n:D3:1', beneficiary: ISABELLE, careDate: '2025-02-20', expense: '99.00', amcAmount: '77.00', operation: 'A', version: 2 }),
    // outside the period, and another family's line: left out
    settlement({ ...member, lineKey: 'n:D4:1', beneficiary: FRANCOIS, careDate: '2025-05-01', expense: '55.00' }),
    settlement({ ...member, adherentId: 'ADH0000002', lineKey: 'n:D5:1', beneficiary: { nir: '1700699000111', rang: 1 }, careDate: '2025-01-15', expense: '66.00' }),
  ].map((value) => ({ value })));
  await bus.close();
  await importSampleMembers(home);
  ({ code, stdout } = await statement('--html', html()));
});

async function statement(...extra: string[]): Promise<{ code: number; stdout: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await command.run(['--adherent', 'ADH0000001', '--from', '2025-01-01', '--to', '2025-03-31', '--home', home, '--nomenclature', 'fixtures/nomenclature.csv', ...extra], { out, err: new PassThrough() });
  return { code, stdout: Buffer.concat(chunks).toString('utf8').replaceAll('\u00a0', ' ').replaceAll('\u202f', ' ') };
}

afterAll(async () => {
  await cleanup();
});

describe('noemie statement', () => {
  it('prints the two lines of the period and their totals, and where the HTML is', () => {
    expect(code).toBe(0);
    // totals: expense 30.00 + 20.00 = 50.00; RO 19.00 + 13.00 = 32.00; AMC 9.00 + 5.00 = 14.00; rest 2.00 + 2.00 = 4.00
    const total = stdout.split('\n').find((l) => l.includes('Total')) ?? '';
    for (const amount of ['50,00', '32,00', '14,00', '4,00']) expect(total).toContain(amount);
    expect(stdout).toContain('Consultation généraliste');
    expect(stdout).not.toContain('99,00');
    expect(stdout).not.toContain('55,00');
    expect(stdout).toContain(`HTML statement: ${html()}`);
  });

  it('the HTML page, as headless Chromium builds it, holds the lines, the totals and the chart', async () => {
    const profile = await mkdtemp(join(home, 'profile-'));
    const { stdout: raw } = await run('chromium', [...FLAGS, `--user-data-dir=${profile}`, '--dump-dom', pathToFileURL(html()).href], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    const dom = raw.replaceAll('&nbsp;', ' ').replaceAll('\u00a0', ' ').replaceAll('\u202f', ' ');
    const totals = /<tr id="totals">(.*?)<\/tr>/s.exec(dom)?.[1] ?? '';
    expect(totals).toContain('Total (2 actes)');
    for (const amount of ['50,00 €', '32,00 €', '14,00 €', '4,00 €']) expect(totals).toContain(amount);
    const body = /<table id="lines">.*?<tbody>(.*?)<\/tbody>/s.exec(dom)?.[1] ?? '';
    expect(body.match(/<tr /g)).toHaveLength(2);
    expect(body).toContain('BERTRAND Isabelle');
    expect(body).toContain('5,00 €');
    expect(body).not.toContain('7,00 €');
    // one bar per category present: ville (the GP) and pharmacie
    expect(dom.match(/<g class="bar" data-category="[a-z]+">/g)?.sort()).toEqual(['<g class="bar" data-category="pharmacie">', '<g class="bar" data-category="ville">']);
    expect((await readFile(html(), 'utf8')).startsWith('<!DOCTYPE html>') || (await readFile(html(), 'utf8')).startsWith('<!doctype html>')).toBe(true);
  }, 90_000);
});

describe('noemie statement prints', () => {
  it('printed by headless Chromium: A4 pages, the acts and the categories each on their own page', async () => {
    const profile = await mkdtemp(join(home, 'profile-'));
    const pdf = join(home, 'statement.pdf');
    await run('chromium', [...FLAGS, `--user-data-dir=${profile}`, '--no-pdf-header-footer', `--print-to-pdf=${pdf}`, pathToFileURL(html()).href], { timeout: 60_000 });
    const text = (await readFile(pdf)).toString('latin1');
    const boxes = [...text.matchAll(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    // A4 is 210 × 297 mm = 595 × 842 pt; two lines fit one page: a second page is the page break
    expect(boxes.length).toBe(2);
    for (const box of boxes) expect(box).toEqual([595, 842]);
  }, 90_000);
});

describe('noemie statement reads the statement index', () => {
  const totalLine = (out: string) => out.split('\n').find((l) => l.includes('Total')) ?? '';

  it('the first statement built the index in the home (group statements at the end of the topic)', async () => {
    expect(existsSync(stateStoreFileOf(home))).toBe(true);
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    try {
      const ends = (await bus.endOffsets('settlements')).map((p) => p.high);
      expect((await bus.committedOffsets('statements', 'settlements')).map((c) => c.offset ?? 0)).toEqual(ends);
    } finally {
      await bus.close();
    }
  });

  it('with the bus held by another writer it reads the index plus what is new, and commits nothing; once free, it consumes it', async () => {
    const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
    let before;
    try {
      // Isabelle's pharmacy line replayed again: version 3, AMC 4.00, rest 3.00
      await bus.produce('settlements', [{ value: settlement({ ...member, lineKey: 'n:D2:1', beneficiary: ISABELLE, careDate: '2025-02-05', actCode: 'PH7', poste: 'soins.medicaments', expense: '20.00', roAmount: '13.00', amcAmount: '4.00', restToPay: '3.00', version: 3 }) }]);
      before = await bus.committedOffsets('statements', 'settlements');
      const held = await statement();
      expect(held.code).toBe(0);
      // AMC 9.00 + 4.00 = 13.00; rest 2.00 + 3.00 = 5.00 (expense 50.00 and RO 32.00 unchanged)
      for (const amount of ['50,00', '32,00', '13,00', '5,00']) expect(totalLine(held.stdout)).toContain(amount);
      expect(await bus.committedOffsets('statements', 'settlements')).toEqual(before);
    } finally {
      await bus.close();
    }
    const free = await statement();
    for (const amount of ['50,00', '32,00', '13,00', '5,00']) expect(totalLine(free.stdout)).toContain(amount);
    const after = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: true });
    try {
      // exactly one more record consumed by the group: the new version
      const sum = (offsets: { offset: number | null }[]) => offsets.reduce((n, c) => n + (c.offset ?? 0), 0);
      expect(sum(await after.committedOffsets('statements', 'settlements'))).toBe(sum(before) + 1);
    } finally {
      await after.close();
    }
  });
});

describe('noemie statement says who was paid and when, and what waits', () => {
  const family = { adherentId: 'ADH0000001', nir: FRANCOIS.nir, nirKey: '00', rang: 1, birthDate: '1987-04-12', role: 'A' as const, contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: 'FR7630006000011234567890189', bic: null, name: 'DURAND François' };
  const payments = async (runId: string, at: string, accounts: ReturnType<typeof accountBook>) => {
    const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
    try {
      await runPaymentStage({ bus, home, accounts, runId, at });
    } finally {
      await bus.close();
    }
  };

  it('no RIB on file: the mutuelle’s part is "en attente" with the member reason, and nothing counts as paid', async () => {
    await payments('R1', '2025-04-04T08:00:00Z', accountBook([]));
    const { code, stdout } = await statement('--issued', '2025-04-07');
    expect(code).toBe(0);
    expect(stdout).toContain('Mutuelle Noémie Santé (fictive)'); // the documented fictitious default
    expect(stdout).toContain('Émis le 07/04/2025');
    expect(stdout).toContain('en attente 9,00 € pour vous : nous n’avons pas vos coordonnées bancaires, merci de nous transmettre votre RIB');
    expect(stdout).not.toContain('no account known');
    // AMC 9.00 (D1) + 4.00 (D2 version 3): all waiting
    expect(stdout).toContain('Part mutuelle versée : 0,00 €');
    expect(stdout).toContain('Part mutuelle en attente : 13,00 €');
  });

  it('once paid: to you, on the run’s transfer date; the insurer from the configuration', async () => {
    // Saturday 5 April 2025: the transfers go out on Monday 7 April (TARGET2 closed at weekends)
    await payments('R2', '2025-04-05T08:00:00Z', accountBook([family]));
    process.env.NOEMIE_INSURER_NAME = 'Mutuelle du Test';
    process.env.NOEMIE_INSURER_REGISTRATION = 'RNM 999 888 777';
    let out;
    try {
      out = await statement('--issued', '2025-04-10');
    } finally {
      delete process.env.NOEMIE_INSURER_NAME;
      delete process.env.NOEMIE_INSURER_REGISTRATION;
    }
    expect(out.stdout).toContain('Mutuelle du Test');
    expect(out.stdout).toContain('RNM 999 888 777');
    expect(out.stdout).toContain('9,00 € versés sur votre compte, virement du 07/04/2025');
    expect(out.stdout).toContain('4,00 € versés sur votre compte, virement du 07/04/2025');
    expect(out.stdout).toContain('Part mutuelle versée : 13,00 €');
    expect(out.stdout).toContain('Part mutuelle en attente : 0,00 €');
  });
});
