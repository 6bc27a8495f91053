/** Public surface of the fixture generator (tests, bench and `noemie fixtures generate`). */
export { Rng, hashSeed } from './prng.js';
export { makeNir, makeIban, ibanCheckDigits } from './identity.js';
export { readNomenclature, Nomenclature, type NomenclatureEntry } from './nomenclature.js';
export { buildPopulation, coveredOn, CAISSES, MIN_WINDOW_DAYS, type Family, type Person, type Population, type Window } from './population.js';
export { generateDecomptes, generateActLines, flattenLines, type GeneratedDecompte, type StreamOptions } from './decomptes.js';
export { INVOICE_ONLY_POSTES, UNKNOWN_BENEFICIARY } from './care/index.js';
export { UNMAPPED_CODE } from './care/consultations.js';
export { BadPlan, BAD_KINDS, type BadKind, type BadRecord } from './bad-plan.js';
export { injectCsv, injectNoemie, injectXml } from './inject.js';
export { writeDrop, type DropFormatOption, type DropOptions, type DropResult, type PartCount } from './drop.js';
export { generateInvoices } from './invoices.js';
export { generateTpClaims, encodeTpClaims } from './tp-claims.js';
export { encodeBeneficiaries, beneficiaryRow, BENEFICIARY_HEADER } from './beneficiaries.js';
export { generateFixtures, defaultFamilies, DEFAULT_WINDOW, type FixtureOptions, type FixtureResult } from './fixtures.js';
export { writeChunks, batched } from './write.js';
