import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { ActLineSchema, nirKey } from '../../src/model/act-line.js';
import { ageOn } from '../../src/model/dates.js';
import { INVOICE_ONLY_POSTES, Rng, UNKNOWN_BENEFICIARY, generateInvoices } from '../../src/generate/index.js';
import { fitsFocus, rotation, runScenario, scenarioOf } from '../../src/generate/care/index.js';
import { nomenclature, population, stream } from './support.js';

/** The generated décompte stream: deterministic, valid, realistic for the seed contracts. */

describe('determinism', () => {
  it('gives the same lines for the same seed, other lines for another seed', () => {
    const a = stream(11, 600).lines;
    const b = stream(11, 600).lines;
    const c = stream(12, 600).lines;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
    // décompte numbers carry the seed, so two drops never share a line key
    expect(new Set(a.map((l) => l.decompteId)).has(c[0]?.decompteId ?? '')).toBe(false);
  });
});

describe('shape of the stream', () => {
  const { decomptes, lines } = stream(3, 2000);

  it('has exactly the lines asked for, all valid act lines', () => {
    expect(lines).toHaveLength(2000);
    const invalid = lines.filter((l) => !ActLineSchema.safeParse(l).success);
    expect(invalid).toEqual([]);
  });

  it('makes décomptes of 1 to 5 lines numbered 1..n, one beneficiary and one professional each', () => {
    for (const d of decomptes) {
      expect(d.lines.length).toBeGreaterThanOrEqual(1);
      expect(d.lines.length).toBeLessThanOrEqual(5);
      if (d.kind !== 'annulation') expect(d.lines.map((l) => l.lineNo)).toEqual(d.lines.map((_, i) => i + 1));
      expect(new Set(d.lines.map((l) => `${l.nir}-${l.rang}|${l.psId}|${l.decompteId}|${l.operation}`)).size).toBe(1);
    }
  });

  it('annuls only lines written earlier, repeating them (same décompte id + line no, same act and amounts)', () => {
    const annulled = lines.filter((l) => l.operation === 'A');
    expect(annulled.length).toBeGreaterThan(0);
    for (const a of annulled) {
      const at = lines.indexOf(a);
      const original = lines.slice(0, at).find((l) => l.operation === 'I' && l.decompteId === a.decompteId && l.lineNo === a.lineNo);
      expect(original).toBeDefined();
      const { operation: _o, roPaymentDate: _p, ...same } = a;
      expect(original).toMatchObject(same);
      expect(a.roPaymentDate! > original!.roPaymentDate!).toBe(true);
    }
  });

  it('mixes tiers payant and not, pathways and accidents', () => {
    expect(new Set(lines.map((l) => l.tp))).toEqual(new Set(['00', '05', '15', '25']));
    expect(new Set(lines.map((l) => l.pathway))).toEqual(new Set(['I', 'H', 'U']));
    expect(lines.some((l) => l.accident)).toBe(true);
    expect(lines.some((l) => l.side === 'R') && lines.some((l) => l.side === 'L')).toBe(true);
  });
});

describe('postes', () => {
  it('covers every poste of the nomenclature in a 2 000-line run: the caisse relays all but the invoice-only ones, the invoices bring those', () => {
    const nom = nomenclature();
    const { population: pop, lines } = stream(5, 2000);
    const posteOf = (code: string) => (nom.has(code) ? nom.get(code).poste : undefined);
    const fromLines = new Set(lines.map((l) => posteOf(l.actCode)));
    const fromInvoices = new Set([...generateInvoices(5, 12, pop)].flatMap((inv) => inv.lines.map((l) => posteOf(l.act_code))));
    const all = nom.postes();
    expect(all.filter((p) => !fromLines.has(p) && !INVOICE_ONLY_POSTES.has(p))).toEqual([]);
    expect([...INVOICE_ONLY_POSTES].filter((p) => !fromInvoices.has(p))).toEqual([]);
    // every act code, not just every poste (a code added to the table is generated too)
    const codes = new Set(lines.map((l) => l.actCode));
    expect(nom.entries.filter((e) => !INVOICE_ONLY_POSTES.has(e.poste) && !codes.has(e.actCode)).map((e) => e.actCode)).toEqual([]);
    // and a caisse never relays an osteopath or a dietitian
    expect([...INVOICE_ONLY_POSTES].filter((p) => fromLines.has(p))).toEqual([]);
  });
});

describe('the poste rotation', () => {
  it('finds, for every code a caisse relays, a scenario that bills it (not the generic fallback)', () => {
    const nom = nomenclature();
    const people = population(9, 200).people;
    const rng = new Rng(9);
    const missed: string[] = [];
    for (const code of rotation(nom).filter((c) => c !== UNKNOWN_BENEFICIARY)) {
      const scenario = scenarioOf(code, nom);
      expect(scenario).not.toBe('generic');
      for (let i = 0; i < 25; i += 1) {
        const date = '2025-03-14';
        const person = people.filter((p) => p.beneficiary.birthDate < date && fitsFocus(code, p, ageOn(p.beneficiary.birthDate, date)))[i];
        if (!person) continue;
        const drafts = runScenario(scenario, { rng, nom, person, age: ageOn(person.beneficiary.birthDate, date), date, focus: code });
        if (!drafts.some((d) => d.lines.some((l) => l.actCode === code))) missed.push(`${code}/${scenario}`);
      }
    }
    expect(missed).toEqual([]);
  });
});

describe('population', () => {
  const pop = population(21, 300);
  const people = pop.people.map((p) => ({ ...p.beneficiary, sex: p.sex }));

  it('gives valid NIRs: 13 digits, the sex digit, birth year and month, key 97 − NIR mod 97', () => {
    // Worked example (INSEE's): NIR 2 55 08 14 168 025 → 2550814168025 mod 97 = 59, key 97 − 59 = 38.
    expect(nirKey('2550814168025')).toBe('38');
    for (const b of people) {
      expect(b.nir).toMatch(/^[12]\d{12}$/);
      // the second twin carries the first one's NIR, whatever its own sex
      if (b.rang === 1) expect(b.nir[0]).toBe(String(b.sex));
      expect(b.nir.slice(1, 3)).toBe(b.birthDate.slice(2, 4));
      expect(b.nir.slice(3, 5)).toBe(b.birthDate.slice(5, 7));
      expect(Number(b.nirKey)).toBe(Number(97n - (BigInt(b.nir) % 97n)));
    }
  });

  it('keeps affiliations coherent for any seed: born before joining is counted, joined before leaving, suspended inside', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const p of population(seed, 300).people) {
        const b = p.beneficiary;
        expect(b.start >= b.birthDate).toBe(true);
        if (b.end !== null) expect(b.end > b.start).toBe(true);
        for (const s of b.suspended) expect(s.to >= s.from && s.from >= b.start).toBe(true);
        expect(b.contracts.length).toBeGreaterThan(0);
      }
    }
  });

  it('has twins sharing one NIR with rang 1 and 2, and no other shared NIR + rang', () => {
    const byNir = new Map<string, typeof people>();
    for (const b of people) byNir.set(b.nir, [...(byNir.get(b.nir) ?? []), b]);
    const shared = [...byNir.values()].filter((g) => g.length > 1);
    expect(shared.length).toBeGreaterThan(0);
    for (const twins of shared) {
      expect(twins.map((t) => t.rang).sort()).toEqual([1, 2]);
      expect(new Set(twins.map((t) => t.birthDate)).size).toBe(1);
      expect(new Set(twins.map((t) => t.adherentId)).size).toBe(1);
      expect(twins.every((t) => t.role === 'E')).toBe(true);
    }
    expect(new Set(people.map((b) => `${b.nir}-${b.rang}`)).size).toBe(people.length);
  });

  it('spans the age bands of the grids and the contract shapes of the seeds', () => {
    const at = pop.window.from;
    const bands = new Set(people.map((b) => {
      const age = ageOn(b.birthDate, at);
      return age < 0 ? 'unborn' : age < 6 ? '<6' : age < 16 ? '<16' : age <= 26 ? '16-26' : age < 60 ? 'adult' : 'senior';
    }));
    expect([...bands].sort()).toEqual(['16-26', '<16', '<6', 'adult', 'senior', 'unborn'].sort());
    const contracts = new Set(people.map((b) => b.contracts.join('|')));
    expect(contracts).toContain('CCN-HLA-BASE');
    expect(contracts).toContain('CCN-HLA-BASE|CCN-HLA-OPT2');
    expect(contracts).toContain('RELAXEO-F1');
    expect(people.some((b) => b.suspended.length > 0)).toBe(true);
    expect(people.some((b) => b.end !== null)).toBe(true);
    expect(people.some((b) => !b.noemie)).toBe(true);
    // a family shares its contracts and its RIB
    for (const f of pop.families) {
      expect(new Set(f.members.map((m) => `${m.beneficiary.contracts.join('|')}|${m.beneficiary.iban}`)).size).toBe(1);
      expect(f.members[0]?.beneficiary.role).toBe('A');
    }
  });
});

describe('regulatory figures on the lines (domain.md §6)', () => {
  const { population: pop, lines, decomptes } = stream(8, 4000);
  const birth = new Map(pop.people.map((p) => [`${p.beneficiary.nir}-${p.beneficiary.rang}`, p.beneficiary.birthDate]));
  const adult = (l: (typeof lines)[number]) => ageOn(l.birthDate ?? birth.get(`${l.nir}-${l.rang}`) ?? '1900-01-01', l.careEnd) >= 18;
  const initial = lines.filter((l) => l.operation === 'I');

  it('pays the RO amount as BR × rate, to the cent, half up', () => {
    // e.g. BR 31.50 × 70 % = 22.05; BR 0.05 × 60 % = 0.03 (0.030); BR 16.13 × 60 % = 9.678 → 9.68
    for (const l of lines) expect(l.roAmount).toBe(new Decimal(l.br).times(l.roRate).dividedBy(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2));
  });

  it('prices the GP consultation 26.50 € until 21 Dec 2024 and 30 € from 22 Dec 2024 (a home visit adds 10 €)', () => {
    const g = initial.filter((l) => l.actCode === 'G' || l.actCode === 'VG');
    expect(g.some((l) => l.careStart < '2024-12-22') && g.some((l) => l.careStart >= '2024-12-22')).toBe(true);
    for (const l of g) expect(l.br).toBe(l.careStart >= '2024-12-22' ? (l.actCode === 'G' ? '30.00' : '40.00') : l.actCode === 'G' ? '26.50' : '36.50');
  });

  it('deducts the participation forfaitaire, 1 € before 15 May 2024 and 2 € after, from adults only', () => {
    const g = initial.filter((l) => l.actCode === 'G');
    for (const l of g) expect(l.pf).toBe(!adult(l) ? '0.00' : l.careStart >= '2024-05-15' ? '2.00' : '1.00');
    expect(g.some((l) => l.pf === '1.00') && g.some((l) => l.pf === '2.00') && g.some((l) => l.pf === '0.00')).toBe(true);
  });

  it('deducts franchises: 1 € a box from 31 Mar 2024 (0.50 before), 4 € a trip up to 8 € a day, none under 18', () => {
    for (const l of initial.filter((x) => x.actCode === 'PH7' || x.actCode === 'PH4' || x.actCode === 'PH2')) {
      const perBox = l.careStart >= '2024-03-31' ? new Decimal('1.00') : new Decimal('0.50');
      const expected = adult(l) ? Decimal.min(perBox.times(l.quantity), new Decimal(l.roAmount)) : new Decimal(0);
      expect(l.franchise).toBe(expected.toFixed(2));
    }
    const trips = initial.filter((l) => ['TAX', 'VSL', 'AMB'].includes(l.actCode) && l.careStart >= '2024-03-31' && adult(l));
    expect(trips.length).toBeGreaterThan(0);
    for (const l of trips) expect(['4.00', l.roAmount]).toContain(l.franchise);
  });

  it('pays 30 % out of the parcours de soins, and sector-2 doctors outside OPTAM bill over the BR', () => {
    const outside = initial.filter((l) => l.pathway === 'H');
    expect(outside.length).toBeGreaterThan(0);
    for (const l of outside) expect(l.roRate).toBe('30');
    const overbilled = initial.filter((l) => ['G', 'CS', 'ADC'].includes(l.actCode) && !l.psDptm && new Decimal(l.expense).greaterThan(l.br));
    expect(overbilled.length).toBeGreaterThan(0);
  });

  it('writes hospital stays with a forfait journalier of 20 € a day (15 € in psychiatry), discharge day included', () => {
    const fj = initial.filter((l) => l.actCode === 'FJ' || l.actCode === 'FJP');
    expect(fj.length).toBeGreaterThan(0);
    for (const l of fj) {
      const days = (Date.parse(l.careEnd) - Date.parse(l.careStart)) / 86_400_000 + 1;
      expect(l.quantity).toBe(days);
      expect(l.br).toBe(new Decimal(l.actCode === 'FJ' ? 20 : 15).times(days).toFixed(2));
      expect(l.roAmount).toBe('0.00');
    }
  });

  it('gives each eye and ear its own line: two lenses R and L, hearing aids per side', () => {
    const lensDecomptes = new Map<string, string[]>();
    // whole first issues only: a re-issue after a partial annulation, or the stream's last (cut) décompte, may hold one lens
    const whole = decomptes.slice(0, -1).filter((d) => d.kind === 'initial').flatMap((d) => d.lines);
    for (const l of whole.filter((x) => ['2202011', '2202012', '2202013', '2201011'].includes(x.actCode))) {
      lensDecomptes.set(l.decompteId, [...(lensDecomptes.get(l.decompteId) ?? []), l.side ?? '-']);
    }
    expect(lensDecomptes.size).toBeGreaterThan(0);
    for (const sides of lensDecomptes.values()) expect(sides.sort()).toEqual(['L', 'R']);
    for (const l of initial.filter((x) => x.actCode.startsWith('2355') && x.actCode !== '2355010')) expect(['R', 'L']).toContain(l.side);
  });
});
