import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package's version, read from the package.json above this file: it is two folders up from
 * src/cli (tsx, tests) and three from dist/src/cli (the built CLI), so the nearest one is looked for.
 */
export function packageVersion(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'noemie-pipeline' && pkg.version) return pkg.version;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
