export { readZipEntries, type ZipItem } from './read.js';
export { InflateCounter, RATIO_FLOOR_BYTES, declaredBomb, unsafeEntryName } from './guard.js';
