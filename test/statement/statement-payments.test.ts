import { describe, expect, it } from 'vitest';
import type { Settlement } from '../../src/model/settlement.js';
import type { LineLedger, SettlementFacts } from '../../src/payments/types.js';
import { renderStatementHtml, renderStatementText, statementData, type LinePaymentFacts } from '../../src/statement/index.js';
import { BENEFICIARIES } from './given.js';

/**
 * Family A001 in 2025, with what the payment stage knows of each line:
 *   P1 Léa    2025-01-10 G      30.00 = RO 19.00 + AMC  11.00 + rest  0.00  paid to the member by run R1
 *   P2 Zoé    2025-02-03 PH7    12.40 = RO  8.06 + AMC   4.34 + rest  0.00  tiers payant: paid to ps:751234567 by R1
 *   P3 Élodie 2025-03-15 frame 150.00 = RO  0.03 + AMC 100.00 + rest 49.97  blocked: no account known for member:A001
 *   P4 Élodie 2025-04-10 ADC   200.00 = RO 50.00 + AMC 120.00 + rest 30.00  in an order held for control (R2)
 *   P5 Léa    2025-05-02 XYZ    25.00 = RO  0.00 + AMC   0.00 + rest 25.00  review: act code not in the nomenclature
 * R1's cut-off is Saturday 2025-03-15 09:00 UTC: TARGET2 is closed, the transfer's date is Monday 2025-03-17.
 * Totals: AMC 11.00 + 4.34 + 100.00 + 120.00 + 0.00 = 235.34
 *         paid    11.00 + 4.34                = 15.34   (P1, P2)
 *         waiting 100.00 + 120.00             = 220.00  (P3 blocked, P4 held) — NOT counted as paid
 *         15.34 + 220.00 = 235.34: every euro of the mutuelle's part is either paid or waiting.
 */
const TWINS = '2150575999999';
const ELODIE = '2850575123456';
const OPS_REASON = 'act code XYZ is not in the nomenclature: no poste to apply; map it, then replay the line';

const s = (over: Partial<Settlement>): Settlement => ({
  lineKey: 'k', beneficiary: { nir: TWINS, rang: 1 }, adherentId: 'A001', careDate: '2025-01-10', actCode: 'G', poste: 'soins.generalistes',
  status: 'paid', reason: null, expense: '0.00', roAmount: '0.00', amcAmount: '0.00', parts: [], restToPay: '0.00', payee: 'member',
  counters: [], version: 1, operation: 'I', tp: '00', psId: '751234567', ...over,
});

const SETTLEMENTS: Settlement[] = [
  s({ lineKey: 'P1', expense: '30.00', roAmount: '19.00', amcAmount: '11.00' }),
  s({ lineKey: 'P2', beneficiary: { nir: TWINS, rang: 2 }, careDate: '2025-02-03', actCode: 'PH7', poste: 'soins.medicaments', expense: '12.40', roAmount: '8.06', amcAmount: '4.34', tp: '15', payee: 'ps:751234567' }),
  s({ lineKey: 'P3', beneficiary: { nir: ELODIE, rang: 1 }, careDate: '2025-03-15', actCode: '2210546', poste: 'optique.monture_b', expense: '150.00', roAmount: '0.03', amcAmount: '100.00', restToPay: '49.97' }),
  s({ lineKey: 'P4', beneficiary: { nir: ELODIE, rang: 1 }, careDate: '2025-04-10', actCode: 'ADC', poste: 'dentaire.soins', expense: '200.00', roAmount: '50.00', amcAmount: '120.00', restToPay: '30.00' }),
  s({ lineKey: 'P5', careDate: '2025-05-02', actCode: 'XYZ', poste: null, status: 'review', reason: OPS_REASON, expense: '25.00', restToPay: '25.00' }),
];

const facts = (amc: string, over: Partial<SettlementFacts> = {}): SettlementFacts => ({ version: 1, status: 'paid', annulled: false, tiersPayant: false, adherentId: 'A001', amcAmount: amc, careDate: '2025-01-10', ...over });
const ledger = (settlement: SettlementFacts, paid: Record<string, string> = {}, tp: LineLedger['tp'] = null): LineLedger => ({ settlement, tp, paid });
const none = { runs: [], operatorPaid: [], blocked: null, held: null };
const R1 = { runId: 'R1', at: '2025-03-15T09:00:00.000Z' };

const PAYMENTS = new Map<string, LinePaymentFacts>([
  ['P1', { ...none, line: ledger(facts('11.00'), { 'member:A001': '11.00' }), runs: [{ ...R1, moved: [{ payee: 'member:A001', amount: '11.00' }] }] }],
  ['P2', { ...none, line: ledger(facts('4.34', { tiersPayant: true }), { 'ps:751234567': '4.34' }, { version: 1, kind: 'matched', payee: 'ps:751234567', owed: '4.34' }), runs: [{ ...R1, moved: [{ payee: 'ps:751234567', amount: '4.34' }] }] }],
  ['P3', { ...none, line: ledger(facts('100.00')), blocked: { ...R1, payee: 'member:A001', reason: 'member:A001: no account known' } }],
  ['P4', { ...none, line: ledger(facts('120.00')), held: { payee: 'member:A001', runId: 'R2', ceiling: 'order' } }],
  ['P5', { ...none, line: ledger(facts('0.00', { status: 'review' })) }],
]);

const INSURER = { name: 'Mutuelle Exemple', address: ['1 rue du Test', '69000 Lyon'], registration: 'SIREN 111 222 333' };
const DATA = statementData({ adherentId: 'A001', from: '2025-01-01', to: '2025-12-31' }, SETTLEMENTS, BENEFICIARIES, { ADC: 'Soins dentaires', XYZ: 'Acte XYZ' }, { insurer: INSURER, issuedOn: '2025-06-30', payments: PAYMENTS });
const TEXT = renderStatementText(DATA);
const HTML = renderStatementHtml(DATA);
const line = (k: string) => DATA.lines.find((l) => l.lineKey === k)!;

describe('member statement: who was paid, when, and what waits', () => {
  it('shows the insurer identity and the issue date', () => {
    for (const out of [TEXT, HTML]) {
      expect(out).toContain('Mutuelle Exemple');
      expect(out).toContain('69000 Lyon');
      expect(out).toContain('SIREN 111 222 333');
      expect(out).toContain('Émis le 30/06/2025');
    }
  });

  it('a line paid in tiers payant names the professional, and the transfer date', () => {
    expect(line('P2').payment!.paid).toEqual([{ to: { kind: 'professional', psId: '751234567' }, amount: '4.34', runId: 'R1', on: '2025-03-17', byOperator: false }]);
    expect(TEXT).toContain('4,34 € versés au professionnel de santé n° 751234567 (tiers payant), virement du 17/03/2025');
  });

  it('the professional’s name, when known, beside the PS id', () => {
    const named = statementData({ adherentId: 'A001', from: '2025-01-01', to: '2025-12-31' }, SETTLEMENTS.slice(1, 2), BENEFICIARIES, {}, { payments: PAYMENTS, professionalNames: { '751234567': 'Pharmacie du Centre' } });
    expect(named.lines[0]!.payment!.paid[0]!.to).toEqual({ kind: 'professional', psId: '751234567', name: 'Pharmacie du Centre' });
    expect(renderStatementText(named)).toContain('4,34 € versés au professionnel de santé Pharmacie du Centre (n° 751234567, tiers payant), virement du 17/03/2025');
  });

  it('a line paid to the member gives the run’s transfer date (Saturday cut-off → Monday)', () => {
    expect(line('P1').payment!.paid).toEqual([{ to: { kind: 'member' }, amount: '11.00', runId: 'R1', on: '2025-03-17', byOperator: false }]);
    expect(TEXT).toContain('11,00 € versés sur votre compte, virement du 17/03/2025');
  });

  it('blocked and held amounts are "en attente" with the member reason, and not counted as paid', () => {
    expect(line('P3').payment!.waiting).toEqual([{ to: { kind: 'member' }, amount: '100.00', reason: 'no-account' }]);
    expect(line('P4').payment!.waiting).toEqual([{ to: { kind: 'member' }, amount: '120.00', reason: 'held' }]);
    expect(TEXT).toContain('en attente 100,00 € pour vous : nous n’avons pas vos coordonnées bancaires, merci de nous transmettre votre RIB');
    expect(TEXT).toContain('en attente 120,00 € pour vous : paiement retenu pour contrôle par nos services');
    // hand-computed in the header comment
    expect(DATA.totals.amcAmount).toBe('235.34');
    expect(DATA.settled).toEqual({ paid: '15.34', waiting: '220.00' });
    expect(TEXT).toContain('Part mutuelle versée : 15,34 €');
    expect(TEXT).toContain('Part mutuelle en attente : 220,00 €');
    expect(HTML).toMatch(/<tr id="paid">.*15,34\u00a0€/);
    expect(HTML).toMatch(/<tr id="waiting">.*220,00\u00a0€/);
    // the run's own text never reaches the member
    expect(TEXT + HTML).not.toContain('no account known');
  });

  it('a returned transfer is waiting with its own member text and the reason in French', () => {
    const returned = statementData({ adherentId: 'A001', from: '2025-01-01', to: '2025-12-31' }, SETTLEMENTS.slice(2, 3), BENEFICIARIES, {}, {
      payments: new Map([['P3', { ...PAYMENTS.get('P3')!, returned: { payee: 'member:A001', code: 'AC04', label: 'compte clos', blocks: true, endToEndId: 'P0', runId: 'R0', amount: '100.00', at: null } }]]),
    });
    expect(returned.lines[0]!.payment!.waiting).toEqual([{ to: { kind: 'member' }, amount: '100.00', reason: 'returned', returnReason: { label: 'compte clos', blocks: true } }]);
    expect(renderStatementText(returned)).toContain('en attente 100,00 € pour vous : virement retourné par votre banque (compte clos), merci de nous transmettre vos nouvelles coordonnées bancaires');
    expect(renderStatementText(returned)).not.toContain('AC04');
  });

  it('no operator text: a review line for an unknown act code shows the neutral member text', () => {
    expect(line('P5').memberReasons).toEqual(['Dossier en cours d’examen par nos services']);
    for (const out of [TEXT, HTML]) {
      expect(out).toContain('Dossier en cours d’examen par nos services');
      expect(out).not.toMatch(/map it|replay|nomenclature|check the membership/);
    }
  });

  it('a line the payment stage has not seen yet waits for the next run', () => {
    const fresh = statementData({ adherentId: 'A001', from: '2025-01-01', to: '2025-12-31' }, SETTLEMENTS.slice(0, 1), BENEFICIARIES, {}, { payments: new Map() });
    expect(fresh.lines[0]!.payment).toEqual({ paid: [], waiting: [{ to: { kind: 'member' }, amount: '11.00', reason: 'next-run' }] });
    expect(fresh.settled).toEqual({ paid: '0.00', waiting: '11.00' });
  });
});

describe('member statement HTML: printable and self-contained', () => {
  it('has print CSS (A4, a page per section) and no external URL, script, link or form', () => {
    expect(HTML).toMatch(/@media print\{[^]*@page\{size:A4/);
    expect(HTML).toMatch(/section\+section\{break-before:page/);
    expect(HTML.match(/<section /g)?.length).toBe(2);
    // the SVG namespace is an identifier, never fetched: any other URL would be
    expect(HTML.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:|\/\/[a-z]|url\(|@import/i);
    expect(HTML).not.toMatch(/<(script|link|a|form|input|button|iframe|img)\b/i);
  });
});
