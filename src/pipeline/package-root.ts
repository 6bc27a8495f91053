import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The package's root folder, from src/pipeline (tests, tsx) or dist/src/pipeline (built): two or three levels up. */
export const PACKAGE_ROOT = existsSync(join(here, '..', '..', 'package.json')) ? join(here, '..', '..') : join(here, '..', '..', '..');

/** A compiled worker entry of this package (dist/workers/<name>). */
export const workerEntry = (name: string): string => join(PACKAGE_ROOT, 'dist', 'workers', name);
