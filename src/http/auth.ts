import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { readEnv } from '../config.js';
import { PipelineError } from '../model/errors.js';
import { httpIssue, sendIssues } from './errors.js';

/**
 * API keys per client, hashed at rest (contract-s5 §2). The keys file holds each client's id, its
 * scopes and the SHA-256 of its key — never the key, which `noemie api-keys add` prints once. A
 * key is 32 random bytes (base64url), so a plain SHA-256 is enough: there is nothing to
 * brute-force that a slow hash would protect (unlike a password).
 */
export const API_SCOPES = ['invoices', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const ApiKeysFileSchema = z
  .object({
    clients: z.array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (at most 64)'),
        scopes: z.array(z.enum(API_SCOPES)).min(1),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the hex SHA-256 of the key'),
        created: z.string().optional(),
      }),
    ),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.clients.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: ['clients', i, 'id'], input: c.id, message: `client ${c.id} is listed twice` });
      seen.add(c.id);
    });
  });
export type ApiKeysFile = z.infer<typeof ApiKeysFileSchema>;
export type ApiClient = ApiKeysFile['clients'][number];

declare module 'fastify' {
  interface FastifyRequest {
    /** the API client a `requireScope` pre-handler authenticated */
    client?: { id: string };
  }
}

export class ApiKeysError extends PipelineError {}

/** `NOEMIE_API_KEYS_FILE` (src/config.ts), else `<home>/config/api-keys.json`. */
export function apiKeysFileOf(home: string, named: string | undefined = readEnv().NOEMIE_API_KEYS_FILE): string {
  return named ?? join(home, 'config', 'api-keys.json');
}

export const sha256Hex = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * The clients of the keys file. `refresh` re-reads it when its mtime or size changed (looked at
 * most once a second), so `noemie api-keys add` takes effect on a running service without a
 * restart; a file made invalid meanwhile keeps the previous clients (and is logged by the caller).
 */
export class ApiKeys {
  private lookedAt = 0;
  private signature: string;

  private constructor(
    readonly file: string,
    private clientsNow: readonly ApiClient[],
    signature: string,
  ) {
    this.signature = signature;
  }

  static async load(file: string): Promise<ApiKeys> {
    const { clients, signature } = await readKeysFile(file);
    return new ApiKeys(file, clients, signature);
  }

  /** For tests and embedders: clients given as they are (no file). */
  static of(clients: readonly ApiClient[]): ApiKeys {
    return new ApiKeys('', clients, 'fixed');
  }

  get clients(): readonly ApiClient[] {
    return this.clientsNow;
  }

  async refresh(now = Date.now()): Promise<void> {
    if (this.file === '' || now - this.lookedAt < 1000) return;
    this.lookedAt = now;
    const signature = await signatureOf(this.file);
    if (signature === this.signature) return;
    const { clients } = await readKeysFile(this.file);
    this.clientsNow = clients;
    this.signature = signature;
  }

  /**
   * The client whose key this is. Every client's digest is compared, in constant time each and
   * without stopping at a match, so the time taken does not say which client, nor how close.
   */
  find(key: string): ApiClient | undefined {
    const presented = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiClient | undefined;
    for (const c of this.clientsNow) {
      if (timingSafeEqual(presented, Buffer.from(c.sha256, 'hex')) && found === undefined) found = c;
    }
    return found;
  }
}

export function loadApiKeys(home: string): Promise<ApiKeys> {
  return ApiKeys.load(apiKeysFileOf(home));
}

async function signatureOf(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.mtimeMs}:${s.size}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
}

/** An absent file is no client (every request is refused), not an error: a service without keys serves nobody. */
async function readKeysFile(file: string): Promise<{ clients: ApiClient[]; signature: string }> {
  const signature = await signatureOf(file);
  if (signature === 'absent') return { clients: [], signature };
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ApiKeysError('HTTP_API_KEYS_INVALID', `${file} is not a JSON document: ${(e as Error).message}`, { file }, { cause: e });
  }
  const parsed = ApiKeysFileSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ApiKeysError('HTTP_API_KEYS_INVALID', `${file}: ${issues}`, { file });
  }
  return { clients: parsed.data.clients, signature };
}

/** `Authorization: Bearer <key>`, else `X-Api-Key: <key>`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(auth);
    return m?.[1];
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/**
 * A fastify preHandler admitting the clients whose key has `scope`: 401 `HTTP_UNAUTHENTICATED`
 * without a key or with an unknown one, 403 `HTTP_FORBIDDEN` for a known client lacking the scope.
 * Sets `request.client`. The key itself is never logged (fastify logs no headers by default).
 */
export function requireScope(keys: ApiKeys, scope: ApiScope): preHandlerAsyncHookHandler {
  return async function checkApiKey(request: FastifyRequest, reply: FastifyReply) {
    try {
      await keys.refresh();
    } catch (e) {
      request.log.error({ err: e }, 'http: the API keys file cannot be read again; the clients already loaded stay in force');
    }
    const key = presentedKey(request);
    if (key === undefined) {
      void reply.header('www-authenticate', 'Bearer');
      return sendIssues(reply, 401, [httpIssue('HTTP_UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key> (or X-Api-Key)', ['headers', 'authorization'])]);
    }
    const client = keys.find(key);
    if (client === undefined) {
      void reply.header('www-authenticate', 'Bearer error="invalid_token"');
      return sendIssues(reply, 401, [httpIssue('HTTP_UNAUTHENTICATED', 'this API key is not known', ['headers', 'authorization'])]);
    }
    if (!client.scopes.includes(scope)) {
      return sendIssues(reply, 403, [httpIssue('HTTP_FORBIDDEN', `client ${client.id} has no "${scope}" scope`, ['headers', 'authorization'])]);
    }
    request.client = { id: client.id };
  };
}

/** A new key: `nk_` and 32 random bytes, base64url (43 characters). */
export function newApiKey(): string {
  return `nk_${randomBytes(32).toString('base64url')}`;
}

/**
 * Adds a client (or, with `rotate`, gives an existing one a new key and these scopes) to the keys
 * file, written whole to a temporary file of mode 0600 then renamed over it (a crash leaves the
 * old file or the new one). Returns the key, to be shown once: only its hash is kept.
 */
export async function addApiClient(file: string, id: string, scopes: ApiScope[], options: { rotate?: boolean; now?: Date } = {}): Promise<{ key: string; rotated: boolean }> {
  const { clients } = await readKeysFile(file);
  const existing = clients.findIndex((c) => c.id === id);
  if (existing >= 0 && !options.rotate) throw new ApiKeysError('HTTP_API_KEYS_INVALID', `client ${id} already has a key in ${file}: --rotate gives it a new one (the old key stops working)`, { file });
  const key = newApiKey();
  const client: ApiClient = { id, scopes: [...new Set(scopes)], sha256: sha256Hex(key), created: (options.now ?? new Date()).toISOString() };
  const next: ApiKeysFile = { clients: existing >= 0 ? clients.map((c, i) => (i === existing ? client : c)) : [...clients, client] };
  const checked = ApiKeysFileSchema.safeParse(next);
  if (!checked.success) throw new ApiKeysError('HTTP_API_KEYS_INVALID', checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { file });
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(next, null, 2)}\n`);
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { key, rotated: existing >= 0 };
}

export async function listApiClients(file: string): Promise<ApiClient[]> {
  return (await readKeysFile(file)).clients;
}
