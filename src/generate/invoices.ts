import { addDays, ageOn } from '../model/dates.js';
import { formatMoney } from '../model/money.js';
import { InvoiceSchema, type Invoice, type InvoiceLine } from '../model/invoice.js';
import { Rng } from './prng.js';
import { pad } from './identity.js';
import { coveredOn, spanDays, type Person, type Population } from './population.js';
import { CS_FEE, D, franchiseUnit, gFee, pfUnit } from './care/common.js';

/**
 * Hors-NOEMIE invoice uploads (formats.md §2): care the RO does not reimburse (osteopaths and the
 * other preventive practitioners, dietitians, non-reimbursed vaccines and contact lenses, the
 * osteoporosis screening, the birth bonus), and the paper décomptes of members off NOEMIE (with
 * `br`, `ro_rate`, `ro_amount`, `pf`, `franchise`). The first invoices go through every kind once.
 */
type Kind = 'preventive' | 'dietitian' | 'vaccine' | 'lenses' | 'screening' | 'birth' | 'paper';

const ORDER: readonly Kind[] = ['preventive', 'paper', 'dietitian', 'vaccine', 'lenses', 'screening', 'birth'];
const WEIGHTS: readonly (readonly [Kind, number])[] = [['preventive', 45], ['dietitian', 8], ['vaccine', 8], ['lenses', 8], ['screening', 4], ['birth', 2], ['paper', 25]];

const PREVENTIVE: readonly (readonly [string, string, number])[] = [
  ['OSTEO', 'osteopath', 50], ['ETIO', 'etiopath', 10], ['CHIRO', 'chiropractor', 15], ['PSYT', 'psychotherapist', 15], ['ACUP', 'acupuncturist', 10],
];

export function* generateInvoices(seed: number, count: number, population: Population): Generator<Invoice> {
  const rng = Rng.derive(seed, 'invoices');
  const span = spanDays(population.window);
  const prefix = String(100 + (seed % 900));
  for (let i = 0; i < count; i += 1) {
    let kind = i < ORDER.length ? (ORDER[i] as Kind) : rng.weighted(WEIGHTS);
    const date = addDays(population.window.from, Math.floor(((i + 0.5) / count) * span));
    const baby = kind === 'birth' ? youngestChild(population) : undefined;
    if (kind === 'birth' && !baby) kind = 'preventive';
    const person = baby ?? choose(rng, population, kind, date);
    const age = ageOn(person.beneficiary.birthDate, date);
    const { psKind, psId, lines } = linesOf(rng, kind, person, age, date);
    const invoiceDate = addDays(lines.reduce((max, l) => (l.care_date > max ? l.care_date : max), date), rng.int(0, 10));
    yield InvoiceSchema.parse({
      invoice_id: `INV${prefix}${pad(i + 1, 7)}`,
      amc_member_id: person.beneficiary.adherentId,
      nir: person.beneficiary.nir,
      rang: person.beneficiary.rang,
      ps_id: psId,
      ps_kind: psKind,
      invoice_date: invoiceDate,
      lines,
    });
  }
}

/** The birth bonus is claimed for the last child born (within the window or the year before it). */
function youngestChild(population: Population): Person | undefined {
  let best: Person | undefined;
  for (const p of population.people) {
    if (p.beneficiary.role === 'E' && (!best || p.beneficiary.birthDate > best.beneficiary.birthDate)) best = p;
  }
  return best && best.beneficiary.birthDate >= addDays(population.window.from, -365) ? best : undefined;
}

function choose(rng: Rng, population: Population, kind: Kind, date: string): Person {
  const fits = (p: Person): boolean => {
    const b = p.beneficiary;
    if (date < b.birthDate || !coveredOn(b, date)) return false;
    const age = ageOn(b.birthDate, date);
    if (kind === 'paper') return !b.noemie;
    if (kind === 'screening') return age >= 45 && age <= 59;
    if (kind === 'dietitian') return age < 12 || rng.chance(0.2);
    return true;
  };
  for (let tries = 0; tries < 200; tries += 1) {
    const p = rng.pick(population.people);
    if (fits(p)) return p;
  }
  const any = population.people.find(fits) ?? population.people.find((p) => p.beneficiary.birthDate <= date);
  if (!any) throw new Error('no one in the population to invoice');
  return any;
}

function linesOf(rng: Rng, kind: Kind, person: Person, age: number, date: string): { psKind: string; psId: string; lines: InvoiceLine[] } {
  const siret = () => rng.digits(14);
  const rpps = () => `10${rng.digits(9)}`;
  const nonRo = (act_code: string, care_date: string, expense: string, quantity = 1): InvoiceLine => ({ act_code, care_date, quantity, expense });
  switch (kind) {
    case 'preventive': {
      const [code, psKind] = rng.weighted(PREVENTIVE.map(([c, k, w]) => [[c, k], w] as const));
      // One to three sessions, a few weeks apart, on one invoice.
      const n = rng.int(1, 3);
      const lines = Array.from({ length: n }, (_, i) => nonRo(code, addDays(date, -21 * (n - 1 - i)), `${rng.int(45, 80)}.00`));
      return { psKind, psId: siret(), lines };
    }
    case 'dietitian':
      return { psKind: 'dietitian', psId: siret(), lines: [nonRo('DIET', date, `${rng.int(35, 60)}.00`)] };
    case 'vaccine':
      return { psKind: 'pharmacy', psId: siret(), lines: [nonRo('VNR', date, formatMoney(rng.money('25.00', '95.00')))] };
    case 'lenses':
      return { psKind: 'optician', psId: siret(), lines: [nonRo('2202060', date, `${rng.int(30, 180)}.00`, rng.int(1, 4))] };
    case 'screening':
      return { psKind: 'radiologist', psId: rpps(), lines: [nonRo('DOST', date, `${rng.int(40, 90)}.00`)] };
    case 'birth':
      // A bonus has no real cost: the upload (birth certificate) claims the contract's 10 % of the PMSS.
      return { psKind: 'maternity', psId: siret(), lines: [nonRo('NAIS', person.beneficiary.birthDate, birthBonus(person.beneficiary.birthDate))] };
    case 'paper':
      return { psKind: 'doctor', psId: rpps(), lines: [paperLine(rng, age, date)] };
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** A paper décompte line (member off NOEMIE): a consultation or a box of drugs, with the RO's figures. */
function paperLine(rng: Rng, age: number, date: string): InvoiceLine {
  const adult = age >= 18;
  if (rng.chance(0.6)) {
    const code = rng.chance(0.7) ? 'G' : 'CS';
    const br = code === 'G' ? gFee(date) : CS_FEE;
    const expense = rng.chance(0.8) ? br : br.plus(rng.int(5, 30));
    return { act_code: code, care_date: date, quantity: 1, expense: formatMoney(expense), br: formatMoney(br), ro_rate: '70', ro_amount: formatMoney(br.times('0.7')), pf: formatMoney(adult ? pfUnit(date) : D(0)), franchise: '0.00' };
  }
  const quantity = rng.int(1, 3);
  const br = rng.money('2.00', '30.00').times(quantity);
  const fr = adult ? franchiseUnit('box', date).unit.times(quantity) : D(0);
  return { act_code: 'PH7', care_date: date, quantity, expense: formatMoney(br), br: formatMoney(br), ro_rate: '65', ro_amount: formatMoney(br.times('0.65')), pf: '0.00', franchise: formatMoney(fr) };
}

/** 10 % of the PMSS of the year of birth (domain.md §6). */
const PMSS: Record<string, string> = { '2022': '3428.00', '2023': '3666.00', '2024': '3864.00', '2025': '3925.00', '2026': '4005.00' };
function birthBonus(birthDate: string): string {
  return formatMoney(D(PMSS[birthDate.slice(0, 4)] ?? '3925.00').dividedBy(10));
}
