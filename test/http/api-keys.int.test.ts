import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeys, loadApiKeys, sha256Hex } from '../../src/http/auth.js';
import { runNoemie } from '../support/cli.js';

/** `noemie api-keys add|list` (in process) and the keys file they write: the key shown once, only its hash kept, mode 0600. */
let home = '';
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'noemie-keys-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const cli = (...argv: string[]) => runNoemie(argv);

it('add prints a new key once and stores only its SHA-256, in a 0600 file; list shows clients and scopes, never a key', async () => {
  const added = await cli('api-keys', 'add', 'portal', '--scope', 'invoices,admin', '--home', home);
  expect(added.code).toBe(0);
  const key = added.out.trim();
  expect(key).toMatch(/^nk_[A-Za-z0-9_-]{43}$/);
  const file = join(home, 'config', 'api-keys.json');
  const text = await readFile(file, 'utf8');
  expect(text).not.toContain(key);
  expect(JSON.parse(text).clients).toEqual([expect.objectContaining({ id: 'portal', scopes: ['invoices', 'admin'], sha256: sha256Hex(key) })]);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect((await loadApiKeys(home)).find(key)?.id).toBe('portal');

  const listed = await cli('api-keys', 'list', '--json', '--home', home);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.out).clients).toEqual([expect.objectContaining({ id: 'portal', scopes: ['invoices', 'admin'] })]);
  expect(listed.out).not.toContain(key);
  expect(listed.out).not.toContain(sha256Hex(key));
});

it('a client that has a key keeps it unless --rotate, which makes the old key stop working', async () => {
  const first = (await cli('api-keys', 'add', 'portal', '--scope', 'invoices', '--home', home)).out.trim();
  const again = await cli('api-keys', 'add', 'portal', '--scope', 'invoices', '--home', home);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/HTTP_API_KEYS_INVALID.*--rotate/);
  expect((await loadApiKeys(home)).find(first)?.id).toBe('portal');
  const rotated = await cli('api-keys', 'add', 'portal', '--scope', 'invoices', '--rotate', '--home', home);
  expect(rotated.code).toBe(0);
  const keys = await loadApiKeys(home);
  expect(keys.find(first)).toBeUndefined();
  expect(keys.find(rotated.out.trim())?.id).toBe('portal');
  expect(keys.clients).toHaveLength(1);
});

it('usage errors: no --scope, an unknown scope (exit 2)', async () => {
  expect((await cli('api-keys', 'add', 'portal', '--home', home)).code).toBe(2);
  const bad = await cli('api-keys', 'add', 'portal', '--scope', 'invoices,root', '--home', home);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain('unknown root');
});

it('an invalid keys file is refused naming the field; no file means no client', async () => {
  expect((await loadApiKeys(home)).clients).toEqual([]);
  const file = join(home, 'api-keys.json');
  await writeFile(file, JSON.stringify({ clients: [{ id: 'portal', scopes: ['invoices'], sha256: 'not-hex' }] }));
  await expect(ApiKeys.load(file)).rejects.toThrow(/clients\.0\.sha256/);
});
