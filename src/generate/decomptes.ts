import { addDays, ageOn } from '../model/dates.js';
import { nirKey, type ActLine } from '../model/act-line.js';
import type { Beneficiary } from '../model/reference.js';
import { Rng } from './prng.js';
import { makeNir, pad } from './identity.js';
import type { Nomenclature } from './nomenclature.js';
import { coveredOn, spanDays, type Family, type Person, type Population } from './population.js';
import { UNKNOWN_BENEFICIARY, fitsFocus, pickScenario, rotation, runScenario, scenarioOf } from './care/index.js';
import { toActLines } from './finalize.js';

/**
 * The décompte stream: care events spread over the window in order (a drop reads like months of a
 * caisse's payments), each giving one or more décomptes of 1-5 lines for one beneficiary; some
 * décomptes are annulled a few décomptes later (operation A repeating the lines with the same
 * decompte_id + line_no), half of those re-issued corrected under a new id. Exactly `lines` lines.
 * Memory: the population plus the few annulations waiting to be written.
 */
export interface StreamOptions {
  seed: number;
  lines: number;
  population: Population;
  nomenclature: Nomenclature;
  /** hospital lines carry the establishment's FINESS (CareContext.finess) */
  finess?: boolean;
}

export type DecompteKind = 'initial' | 'annulation' | 'reissue';

export interface GeneratedDecompte {
  kind: DecompteKind;
  lines: ActLine[];
  /** an annulation of it follows later in the stream */
  annulledLater: boolean;
}

/** One focused décompte (the poste rotation) every this many care events. */
const ROTATION_EVERY = 5;
const ANNULATION_RATE = 0.02;
const UNKNOWN_BENEFICIARY_RATE = 0.003;
/** Care for someone not covered that day (before joining, after leaving, suspended): the engine must refuse it. */
const UNCOVERED_RATE = 0.03;

interface Pending {
  due: number;
  lines: ActLine[];
  reissue: boolean;
}

export function* generateDecomptes(o: StreamOptions): Generator<GeneratedDecompte> {
  const rng = Rng.derive(o.seed, 'decomptes');
  const people = o.population.people.filter((p) => p.beneficiary.noemie);
  if (people.length === 0) throw new Error('the population has no member on NOEMIE');
  const familyOf = new Map<string, Family>(o.population.families.map((f) => [f.adherentId, f]));
  const knownNirs = new Set(o.population.people.map((p) => p.beneficiary.nir));
  const focusList = rotation(o.nomenclature);
  const span = spanDays(o.population.window);
  const idPrefix = String(100 + (o.seed % 900));

  let emitted = 0;
  let decomptes = 0;
  let events = 0;
  let pending: Pending[] = [];
  const nextId = () => `${idPrefix}${pad(++decomptes, 9)}`;
  const take = function* (d: GeneratedDecompte): Generator<GeneratedDecompte> {
    const room = o.lines - emitted;
    const lines = d.lines.length > room ? d.lines.slice(0, room) : d.lines;
    emitted += lines.length;
    yield { ...d, lines };
  };

  while (emitted < o.lines) {
    const due = pending.find((p) => p.due <= decomptes);
    if (due) {
      pending = pending.filter((p) => p !== due);
      const payOn = addDays(due.lines[0]?.roPaymentDate ?? o.population.window.from, rng.int(10, 60));
      yield* take({ kind: 'annulation', annulledLater: false, lines: due.lines.map((l) => ({ ...l, operation: 'A', roPaymentDate: payOn })) });
      if (due.reissue && emitted < o.lines) {
        // The corrected décompte: same care, the payee fixed (tiers payant given or withdrawn).
        const decompteId = nextId();
        const lines = due.lines.map((l, i) => ({ ...l, decompteId, lineNo: i + 1, roPaymentDate: payOn, tp: l.tp === '00' ? ('15' as const) : ('00' as const) }));
        yield* take({ kind: 'reissue', annulledLater: false, lines });
      }
      continue;
    }

    events += 1;
    const focus = events % ROTATION_EVERY === 0 ? focusList[(events / ROTATION_EVERY - 1) % focusList.length] : undefined;
    // Care ends a few days before its place in the window; payments follow.
    const date = addDays(o.population.window.from, Math.floor((emitted / o.lines) * span) - rng.int(0, 10));
    const unknown = focus === UNKNOWN_BENEFICIARY || rng.chance(UNKNOWN_BENEFICIARY_RATE);
    const code = focus === UNKNOWN_BENEFICIARY ? undefined : focus;
    const person = unknown ? stranger(rng, date, knownNirs) : choosePerson(rng, people, date, code);
    const age = ageOn(person.beneficiary.birthDate, date);
    const scenario = code !== undefined ? scenarioOf(code, o.nomenclature) : pickScenario(rng, person, age);
    const ctx = { rng, nom: o.nomenclature, person, age, date, ...(code !== undefined ? { focus: code } : {}), ...(o.finess ? { finess: true } : {}) };
    let drafts = runScenario(scenario, ctx);
    // A code added to the nomenclature that its scenario does not know yet still gets its line.
    if (code !== undefined && !drafts.some((d) => d.lines.some((l) => l.actCode === code))) drafts = runScenario('generic', ctx);
    const caisse = familyOf.get(person.beneficiary.adherentId)?.caisse ?? '011751001';

    for (const d of drafts) {
      if (emitted >= o.lines) break;
      const lines = toActLines(d, person.beneficiary, { decompteId: nextId(), caisse }, o.nomenclature, age);
      const annul = rng.chance(ANNULATION_RATE) && lines.length <= o.lines - emitted;
      if (annul) {
        const which = rng.chance(0.7) ? lines : [rng.pick(lines)];
        pending.push({ due: decomptes + rng.int(3, 30), lines: which, reissue: rng.chance(0.5) });
      }
      yield* take({ kind: 'initial', annulledLater: annul, lines });
    }
  }
}

export function* flattenLines(decomptes: Iterable<GeneratedDecompte>): Generator<ActLine> {
  for (const d of decomptes) yield* d.lines;
}

export function generateActLines(o: StreamOptions): Generator<ActLine> {
  return flattenLines(generateDecomptes(o));
}

function choosePerson(rng: Rng, people: readonly Person[], date: string, focus: string | undefined): Person {
  const wantUncovered = rng.chance(UNCOVERED_RATE);
  let fallback: Person | undefined;
  for (let tries = 0; tries < 60; tries += 1) {
    const p = rng.pick(people);
    const b = p.beneficiary;
    if (date < b.birthDate) continue;
    if (focus !== undefined && !fitsFocus(focus, p, ageOn(b.birthDate, date))) continue;
    fallback ??= p;
    if (coveredOn(b, date) !== wantUncovered) return p;
  }
  return fallback ?? people.find((p) => p.beneficiary.birthDate <= date) ?? (people[0] as Person);
}

/** Someone the AMC does not know (left long ago, or the caisse's mistake): a valid NIR, no row in beneficiaries.csv. */
function stranger(rng: Rng, date: string, known: ReadonlySet<string>): Person {
  const sex: 1 | 2 = rng.chance(0.5) ? 1 : 2;
  const birthDate = `${Number(date.slice(0, 4)) - rng.int(20, 70)}-${pad(rng.int(1, 12), 2)}-${pad(rng.int(1, 28), 2)}`;
  let nir = makeNir(rng, sex, birthDate);
  while (known.has(nir)) nir = makeNir(rng, sex, birthDate);
  const beneficiary: Beneficiary = {
    adherentId: `ADH9${rng.digits(6)}`, nir, nirKey: nirKey(nir), rang: 1, birthDate, role: 'A', contracts: ['CCN-HLA-BASE'],
    start: birthDate, end: null, suspended: [], noemie: true, iban: null, bic: null, name: '',
  };
  return { sex, beneficiary };
}
