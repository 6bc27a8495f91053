import { addDays, addMonths, daysBetween } from '../model/dates.js';
import type { Beneficiary } from '../model/reference.js';
import { nirKey } from '../model/act-line.js';
import { Rng } from './prng.js';
import { firstName, lastName, makeIban, makeNir, pad } from './identity.js';

/**
 * The covered population: families (adhérent, spouse, children, twins sharing a NIR with rang 1
 * and 2) whose ages span the bands the grids care about (< 6, < 16, 16-26, adults, seniors), on the
 * seed contracts (CCN socle alone or socle + surcomplémentaire, RELAXEO-F1), with a few late
 * joiners, leavers, suspensions, members off NOEMIE and families without a RIB.
 */
export interface Window {
  from: string;
  to: string;
}

export interface Person {
  beneficiary: Beneficiary;
  sex: 1 | 2;
}

export interface Family {
  adherentId: string;
  /** régime(2) caisse(3) centre(4) of the family's caisse */
  caisse: string;
  members: Person[];
}

export interface Population {
  window: Window;
  families: Family[];
  /** every member, in family order */
  people: Person[];
}

/** Caisses of the drops: CPAM Paris, Rhône, Bouches-du-Rhône, Gironde, Nord; MSA Loire-Atlantique. */
export const CAISSES = ['011751001', '011691001', '011131001', '011331001', '011591001', '021441001'] as const;

const CONTRACTS: readonly (readonly [string[], number])[] = [
  [['CCN-HLA-BASE'], 25],
  [['CCN-HLA-OPT1'], 12],
  [['CCN-HLA-OPT2'], 8],
  [['CCN-HLA-BASE', 'CCN-HLA-OPT1'], 15],
  [['CCN-HLA-BASE', 'CCN-HLA-OPT2'], 15],
  [['CCN-HLA-OPT1', 'CCN-HLA-OPT2'], 5],
  [['RELAXEO-F1'], 20],
];

interface Template {
  adultAge: [number, number];
  spouse: boolean;
  /** age ranges (at the window start) of each birth; a birth may be twins */
  children: [number, number][];
  /** a child born inside the window (negative age) */
  newborn?: boolean;
}

const TEMPLATES: readonly (readonly [Template, number])[] = [
  [{ adultAge: [24, 60], spouse: false, children: [] }, 14],
  [{ adultAge: [25, 60], spouse: true, children: [] }, 9],
  [{ adultAge: [25, 36], spouse: true, children: [[0, 5]], newborn: true }, 12],
  [{ adultAge: [30, 42], spouse: true, children: [[0, 5], [4, 12]] }, 10],
  [{ adultAge: [36, 50], spouse: true, children: [[6, 15], [10, 15], [2, 9]] }, 12],
  [{ adultAge: [45, 58], spouse: true, children: [[16, 20], [19, 26]] }, 10],
  [{ adultAge: [30, 50], spouse: false, children: [[3, 15], [8, 17]] }, 8],
  [{ adultAge: [60, 85], spouse: true, children: [] }, 11],
  [{ adultAge: [65, 92], spouse: false, children: [] }, 7],
];

/**
 * The first families each carry one case the pipeline must handle, so that even a 10-family sample
 * has twins, a newborn, students, seniors, someone off NOEMIE, a suspension, a late joiner, a
 * leaver and a family without a RIB; the contract levels rotate over them. Later families are drawn.
 */
interface Forced {
  template?: number;
  twins?: boolean;
  newborn?: boolean;
  offNoemie?: boolean;
  suspended?: boolean;
  lateJoiner?: boolean;
  leaver?: boolean;
  noIban?: boolean;
}

const FIRST_FAMILIES: readonly Forced[] = [
  { template: 2, twins: true, newborn: true },
  { template: 5 },
  { template: 7 },
  { template: 0, offNoemie: true },
  { template: 4, suspended: true },
  { template: 1, lateJoiner: true },
  { template: 8, leaver: true },
  { template: 3, noIban: true },
];

/** Joiners, leavers, suspensions and births are placed months apart inside the window. */
export const MIN_WINDOW_DAYS = 180;

export function buildPopulation(seed: number, familyCount: number, window: Window): Population {
  if (spanDays(window) < MIN_WINDOW_DAYS) throw new RangeError(`the window ${window.from}..${window.to} is shorter than ${MIN_WINDOW_DAYS} days`);
  const rng = Rng.derive(seed, 'population');
  const families: Family[] = [];
  const usedNirs = new Set<string>();
  const uniqueNir = (sex: 1 | 2, birthDate: string): string => {
    for (;;) {
      const nir = makeNir(rng, sex, birthDate);
      if (!usedNirs.has(nir)) {
        usedNirs.add(nir);
        return nir;
      }
    }
  };
  for (let i = 0; i < familyCount; i += 1) families.push(buildFamily(rng, i, window, uniqueNir, FIRST_FAMILIES[i]));
  return { window, families, people: families.flatMap((f) => f.members) };
}

function buildFamily(rng: Rng, index: number, window: Window, uniqueNir: (sex: 1 | 2, birth: string) => string, forced: Forced = {}): Family {
  const adherentId = `ADH${pad(index + 1, 7)}`;
  const caisse = rng.pick(CAISSES);
  const drawn = rng.weighted(TEMPLATES);
  const t = forced.template !== undefined ? (TEMPLATES[forced.template]?.[0] ?? drawn) : drawn;
  const drawnContracts = rng.weighted(CONTRACTS);
  // A first family has exactly its forced case (the draws still happen, keeping the stream aligned).
  const first = index < FIRST_FAMILIES.length;
  const contracts = first ? (CONTRACTS[index % CONTRACTS.length]?.[0] ?? drawnContracts) : drawnContracts;
  const name = lastName(rng);
  const draw = (p: number, force: boolean | undefined) => (rng.chance(p) && !first) || force === true;
  const { iban, bic } = draw(0.03, forced.noIban) ? { iban: null, bic: null } : makeIban(rng);
  const noemie = !draw(0.08, forced.offNoemie);

  // Most families joined before the window; a few join inside it (waiting periods, prorated ceilings).
  const lateJoiner = draw(0.15, forced.lateJoiner);
  const familyStart = lateJoiner ? firstOfMonth(addDays(window.from, rng.int(0, 540))) : `${rng.int(2008, Number(window.from.slice(0, 4)) - 1)}-${pad(rng.int(1, 12), 2)}-01`;
  // A leaver leaves some months after joining (or after the window opens), never before joining.
  const end = draw(0.08, forced.leaver) ? lastOfMonth(addDays(familyStart > window.from ? familyStart : window.from, rng.int(120, 420))) : null;
  const suspended = draw(0.06, forced.suspended) ? [suspension(rng, window, familyStart)] : [];
  const at = (birthDate: string) => (birthDate > familyStart ? birthDate : familyStart);

  const members: Person[] = [];
  const add = (role: 'A' | 'C' | 'E', sex: 1 | 2, birthDate: string, nir: string, rang: number) => {
    members.push({
      sex,
      beneficiary: {
        adherentId, nir, nirKey: nirKey(nir), rang, birthDate, role, contracts: [...contracts],
        start: at(birthDate), end, suspended: ownSuspensions(suspended, at(birthDate)), noemie, iban, bic,
        name: `${name} ${firstName(rng, sex)}`,
      },
    });
  };

  const adultSex: 1 | 2 = rng.chance(0.5) ? 1 : 2;
  const adultAge = rng.int(t.adultAge[0], t.adultAge[1]);
  const adultBirth = birthDateAt(rng, window.from, adultAge);
  add('A', adultSex, adultBirth, uniqueNir(adultSex, adultBirth), 1);
  if (t.spouse) {
    const sex: 1 | 2 = rng.chance(0.9) ? (adultSex === 1 ? 2 : 1) : adultSex;
    const birth = birthDateAt(rng, window.from, Math.max(20, adultAge + rng.int(-6, 6)));
    add('C', sex, birth, uniqueNir(sex, birth), 1);
  }
  const births = t.children.map(([lo, hi]) => birthDateAt(rng, window.from, rng.int(lo, hi)));
  if ((t.newborn && rng.chance(0.4)) || forced.newborn) {
    const birth = addDays(window.from, rng.int(30, spanDays(window) - 90));
    // no child is born into a family that has already left
    births.push(end !== null && birth > end ? addDays(end, -rng.int(20, 80)) : birth);
  }
  births.forEach((birth, i) => {
    const sex: 1 | 2 = rng.chance(0.5) ? 1 : 2;
    const nir = uniqueNir(sex, birth);
    if (draw(0.1, forced.twins && i === 0)) {
      // Twins: one NIR, told apart by the rang de naissance.
      add('E', sex, birth, nir, 1);
      add('E', rng.chance(0.5) ? 1 : 2, birth, nir, 2);
    } else {
      add('E', sex, birth, nir, 1);
    }
  });
  return { adherentId, caisse, members };
}

/** The family's suspensions as they touch one member: nothing before the member was covered. */
function ownSuspensions(periods: readonly { from: string; to: string }[], start: string): { from: string; to: string }[] {
  return periods.filter((p) => p.to >= start).map((p) => ({ from: p.from > start ? p.from : start, to: p.to }));
}

function birthDateAt(rng: Rng, ref: string, age: number): string {
  const year = Number(ref.slice(0, 4)) - age - 1;
  // Born in the year before `ref`'s year minus age, any day: the age at `ref` is `age` or `age + 1`.
  return `${year}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}`;
}

function suspension(rng: Rng, window: Window, start: string): { from: string; to: string } {
  const earliest = start > window.from ? start : window.from;
  const from = firstOfMonth(addDays(earliest, rng.int(40, 300)));
  return { from, to: addDays(addMonths(from, rng.int(1, 3)), -1) };
}

export function spanDays(window: Window): number {
  return daysBetween(window.from, window.to);
}

function firstOfMonth(iso: string): string {
  return `${iso.slice(0, 7)}-01`;
}

function lastOfMonth(iso: string): string {
  return addDays(addMonths(firstOfMonth(iso), 1), -1);
}

/** Is the person covered on `date` (affiliated, not suspended)? */
export function coveredOn(b: Beneficiary, date: string): boolean {
  if (date < b.start || (b.end !== null && date > b.end) || date < b.birthDate) return false;
  return !b.suspended.some((s) => date >= s.from && date <= s.to);
}
