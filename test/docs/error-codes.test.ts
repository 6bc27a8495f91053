import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// fastify habit: the registry of error codes in the README and the codes the code throws agree.
const CODE = /'((?:INGEST|REFERENCE|BUS|RECON|PAYMENTS|SEPA|NOEMIE|STATE|PIPELINE|HTTP)_[A-Z_]+)'/g;

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

describe('error codes', () => {
  it('every code used in src/ is documented in the README table, and every documented code exists', () => {
    const used = new Set<string>();
    for (const file of sources('src')) for (const m of readFileSync(file, 'utf8').matchAll(CODE)) used.add(m[1]!);
    const readme = readFileSync('README.md', 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(30);
    expect([...used].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !used.has(c))).toEqual([]);
  });
});
