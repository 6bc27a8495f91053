import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * `npm run build` bundles the CLI's main thread (scripts/bundle-cli.mjs) and bin/noemie.js loads
 * the bundle: Node 20 compiles ES modules without a cache, and resolving, reading and compiling
 * dist/src's modules one by one was ≈ 0.5 CPU s of every start (bench/README.md "Session 24 —
 * restart"). Needs `npm run build`. Node's ESM debug log (NODE_DEBUG=esm) names every module it loads.
 */
async function modulesLoaded(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; urls: string[] }> {
  const { stdout, stderr } = await exec(process.execPath, [join(ROOT, 'bin', 'noemie.js'), ...args], { cwd: ROOT, env: { ...process.env, NODE_DEBUG: 'esm', ...env }, maxBuffer: 256 * 1024 * 1024 });
  const urls = [...stderr.matchAll(/Storing (file:\S+) /g)].map((m) => m[1]!);
  return { out: stdout, urls: [...new Set(urls)] };
}

describe('bin/noemie.js and the bundled CLI (esbuild is there wherever vitest is: vite needs it)', () => {
  it('loads the bundle, not dist/src module by module; NOEMIE_NO_BUNDLE=1 loads dist/src as before; the same answer', async () => {
    const bundled = await modulesLoaded(['--version']);
    const plain = await modulesLoaded(['--version'], { NOEMIE_NO_BUNDLE: '1' });
    expect(bundled.out).toBe(plain.out);
    expect(bundled.out).toMatch(/^noemie \d+\.\d+\.\d+\n$/);
    const ours = (urls: string[]) => urls.filter((u) => u.includes('/dist/src/'));
    expect(ours(bundled.urls).every((u) => u.includes('/dist/src/cli-bundle/'))).toBe(true);
    expect(ours(plain.urls).some((u) => u.includes('/dist/src/cli-bundle/'))).toBe(false);
    expect(ours(plain.urls)).toContain(`file://${join(ROOT, 'dist', 'src', 'cli', 'main.js')}`);
  });

  it("`noemie run`'s modules come in a few files of the bundle, against hundreds of dist/src's", async () => {
    const bundled = await modulesLoaded(['run', '--help']);
    const plain = await modulesLoaded(['run', '--help'], { NOEMIE_NO_BUNDLE: '1' });
    expect(bundled.out).toBe(plain.out);
    const ours = (urls: string[]) => urls.filter((u) => u.includes('/dist/src/')).length;
    expect(ours(plain.urls)).toBeGreaterThan(200);
    expect(ours(bundled.urls)).toBeLessThan(60);
  });
});
