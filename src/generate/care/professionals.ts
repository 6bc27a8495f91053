import { hashSeed, type Rng } from '../prng.js';
import { pad } from '../identity.js';
import type { Professional } from './types.js';

/**
 * Executing professionals drawn from fixed pools per kind, so the same doctor, pharmacy or clinic
 * comes back across décomptes (as in life, and as tiers-payant matching needs). A professional's id
 * and fee sector follow from (kind, index) alone.
 */
interface Pool {
  size: number;
  /** AM number category digit (3rd position), or 'F' for a FINESS establishment */
  category: string;
  specialties: readonly (string | null)[];
  doctor: boolean;
  /** shares of [sector 1, sector 2 OPTAM, sector 2 free fees] among doctors */
  sectors?: readonly [number, number, number];
}

export const POOLS = {
  gp: { size: 400, category: '1', specialties: ['01'], doctor: true, sectors: [0.88, 0.08, 0.04] },
  specialist: { size: 300, category: '1', specialties: ['03', '05', '07', '11', '12', '14', '15', '33'], doctor: true, sectors: [0.45, 0.3, 0.25] },
  surgeon: { size: 120, category: '1', specialties: ['04', '41'], doctor: true, sectors: [0.25, 0.4, 0.35] },
  anaesthetist: { size: 60, category: '1', specialties: ['02'], doctor: true, sectors: [0.35, 0.4, 0.25] },
  radiologist: { size: 80, category: '1', specialties: ['06'], doctor: true, sectors: [0.8, 0.12, 0.08] },
  gynaecologist: { size: 80, category: '1', specialties: ['07'], doctor: true, sectors: [0.4, 0.35, 0.25] },
  ophthalmologist: { size: 80, category: '1', specialties: ['15'], doctor: true, sectors: [0.35, 0.35, 0.3] },
  dentist: { size: 250, category: '2', specialties: ['19', '19', '19', '36'], doctor: false },
  midwife: { size: 60, category: '4', specialties: ['21'], doctor: false },
  nurse: { size: 200, category: '6', specialties: ['24'], doctor: false },
  physio: { size: 200, category: '7', specialties: ['26'], doctor: false },
  lab: { size: 60, category: '9', specialties: ['30'], doctor: false },
  pharmacy: { size: 300, category: '2', specialties: ['50'], doctor: false },
  supplier: { size: 100, category: '3', specialties: [null], doctor: false },
  optician: { size: 150, category: '3', specialties: [null], doctor: false },
  audiologist: { size: 60, category: '3', specialties: [null], doctor: false },
  transport: { size: 100, category: '8', specialties: [null], doctor: false },
  hospital: { size: 40, category: 'F', specialties: [null], doctor: false },
  clinic: { size: 40, category: 'F', specialties: [null], doctor: false },
  spa: { size: 15, category: 'F', specialties: [null], doctor: false },
} as const satisfies Record<string, Pool>;
export type PoolKind = keyof typeof POOLS;

const KIND_ORDER = Object.keys(POOLS) as PoolKind[];
const DEPARTMENTS = ['75', '69', '13', '33', '59', '44', '92', '93', '94', '31'] as const;

export function professional(kind: PoolKind, index: number): Professional {
  const pool: Pool = POOLS[kind];
  const h = hashSeed(index, kind);
  const dept = DEPARTMENTS[h % DEPARTMENTS.length] ?? '75';
  // A block of serials per kind keeps two kinds from ever sharing an id.
  const serial = pad(KIND_ORDER.indexOf(kind) * 5000 + index, 5);
  // AM number: département, category, serial, key digit; FINESS: département, 0, serial, key digit.
  const id = `${dept}${pool.category === 'F' ? '0' : pool.category}${serial}${(h >>> 20) % 10}`;
  const specialty = pool.specialties[index % pool.specialties.length] ?? null;
  if (!pool.doctor || !pool.sectors) return { id, specialty, dptm: false, freeFees: false, optam: false };
  const x = ((h >>> 8) % 1000) / 1000;
  const [s1, optam] = pool.sectors;
  if (x < s1) return { id, specialty, dptm: false, freeFees: false, optam: false };
  if (x < s1 + optam) return { id, specialty, dptm: true, freeFees: false, optam: true };
  return { id, specialty, dptm: false, freeFees: true, optam: false };
}

export function pickProfessional(rng: Rng, kind: PoolKind): Professional {
  return professional(kind, rng.int(0, POOLS[kind].size - 1));
}
