import type { Beneficiary } from '../../src/model/reference.js';
import type { Settlement } from '../../src/model/settlement.js';
import { statementData } from '../../src/statement/index.js';

/**
 * Family A001 (Élodie, adhérente; twins Léa and Zoé, same NIR, rang 1 and 2) over 2025.
 * Kept in the statement (latest versions):
 *   L1 Léa   2025-01-10 G     v2   30.00 = RO 19.00 + AMC 11.00 + rest  0.00   (v1 said AMC 9.00, rest 2.00)
 *   L2 Zoé   2025-02-03 PH7        12.40 = RO  8.06 + AMC  4.34 + rest  0.00
 *   L7 Léa   2025-02-20 OST        60.00 = RO  0.00 + AMC  0.00 + rest 60.00   (zero: yearly count reached)
 *   L3 Élodie 2025-03-15 frame    150.00 = RO  0.03 + AMC 100.00 + rest 49.97
 * Left out: L4 annulled (latest version is operation A), L5 another family, L6 care in 2024.
 * Totals: expense 30.00 + 12.40 + 60.00 + 150.00 = 252.40; RO 19.00 + 8.06 + 0.00 + 0.03 = 27.09;
 *         AMC 11.00 + 4.34 + 0.00 + 100.00 = 115.34; rest 0.00 + 0.00 + 60.00 + 49.97 = 109.97
 *         (27.09 + 115.34 + 109.97 = 252.40).
 */
const TWINS = '2150575999999';
const ELODIE = '2850575123456';

const b = (over: Partial<Beneficiary>): Beneficiary => ({
  adherentId: 'A001', nir: ELODIE, nirKey: '00', rang: 1, birthDate: '1985-05-12', role: 'A', contracts: ['CCN-HLA-OPT2'],
  start: '2024-01-01', end: null, suspended: [], noemie: true, iban: null, bic: null, name: 'x', ...over,
});

export const BENEFICIARIES: Beneficiary[] = [
  b({ name: 'Élodie Martin' }),
  b({ role: 'E', nir: TWINS, rang: 1, name: 'Léa Martin' }),
  b({ role: 'E', nir: TWINS, rang: 2, name: 'Zoé <Martin>' }),
  b({ adherentId: 'A002', nir: '1700175000001', name: 'Autre Famille' }),
];

const s = (over: Partial<Settlement>): Settlement => ({
  lineKey: 'k', beneficiary: { nir: TWINS, rang: 1 }, adherentId: 'A001', careDate: '2025-01-10', actCode: 'G', poste: 'soins.generalistes',
  status: 'paid', reason: null, expense: '0.00', roAmount: '0.00', amcAmount: '0.00', parts: [], restToPay: '0.00', payee: 'member',
  counters: [], version: 1, operation: 'I', tp: '00', psId: '751234567', ...over,
});

export const SETTLEMENTS: Settlement[] = [
  s({ lineKey: 'L1', expense: '30.00', roAmount: '19.00', amcAmount: '9.00', restToPay: '2.00' }),
  s({ lineKey: 'L2', beneficiary: { nir: TWINS, rang: 2 }, careDate: '2025-02-03', actCode: 'PH7', poste: 'soins.medicaments', expense: '12.40', roAmount: '8.06', amcAmount: '4.34' }),
  s({ lineKey: 'L3', beneficiary: { nir: ELODIE, rang: 1 }, careDate: '2025-03-15', actCode: '2210546', poste: 'optique.monture_b', expense: '150.00', roAmount: '0.03', amcAmount: '100.00', restToPay: '49.97' }),
  s({ lineKey: 'L1', version: 2, expense: '30.00', roAmount: '19.00', amcAmount: '11.00', restToPay: '0.00' }),
  s({ lineKey: 'L4', careDate: '2025-04-01', actCode: 'ADC', poste: 'dentaire.soins', expense: '80.00', roAmount: '20.00', amcAmount: '30.00', restToPay: '30.00' }),
  s({ lineKey: 'L4', version: 2, operation: 'A', careDate: '2025-04-01', actCode: 'ADC', poste: 'dentaire.soins', expense: '-80.00', roAmount: '-20.00', amcAmount: '-30.00', restToPay: '-30.00' }),
  s({ lineKey: 'L5', adherentId: 'A002', beneficiary: { nir: '1700175000001', rang: 1 }, expense: '500.00', roAmount: '100.00', amcAmount: '300.00', restToPay: '100.00' }),
  s({ lineKey: 'L6', careDate: '2024-12-31', expense: '26.50', roAmount: '17.55', amcAmount: '7.95', restToPay: '1.00' }),
  s({ lineKey: 'L7', careDate: '2025-02-20', actCode: 'OST', poste: 'divers.osteopathie', status: 'zero', reason: 'yearly count reached (4 sessions)', expense: '60.00', restToPay: '60.00' }),
];

export const LABELS = { G: 'Consultation généraliste', PH7: 'Pharmacie 65 %', '2210546': 'Monture (classe B)', OST: 'Ostéopathie' };

export const DATA = statementData({ adherentId: 'A001', from: '2025-01-01', to: '2025-12-31' }, SETTLEMENTS, BENEFICIARIES, LABELS);
