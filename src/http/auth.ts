import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { issuesBody } from './errors.js';

/**
 * API keys per client, hashed at rest (contract s5 §2). Minimal version of http-ops so the admin
 * routes can be authenticated; http-invoices owns this file and its version replaces it.
 * Keys file: `<home>/config/api-keys.json` or NOEMIE_API_KEYS_FILE.
 */
export const ApiKeysFileSchema = z.object({
  clients: z.array(z.object({ id: z.string().min(1), scopes: z.array(z.enum(['invoices', 'admin'])), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});
export type ApiKeys = z.infer<typeof ApiKeysFileSchema>;
export type Scope = 'invoices' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    client?: { id: string };
  }
}

export async function loadApiKeys(home: string): Promise<ApiKeys> {
  const file = process.env.NOEMIE_API_KEYS_FILE ?? join(home, 'config', 'api-keys.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { clients: [] };
    throw e;
  }
  return ApiKeysFileSchema.parse(JSON.parse(text));
}

function presentedKey(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const header = request.headers['x-api-key'];
  return typeof header === 'string' ? header : null;
}

export function requireScope(keys: ApiKeys, scope: Scope): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = presentedKey(request);
    const hash = key === null ? null : createHash('sha256').update(key).digest();
    const client = hash === null ? undefined : keys.clients.find((c) => timingSafeEqual(Buffer.from(c.sha256, 'hex'), hash));
    if (client === undefined) {
      return reply.code(401).send(issuesBody({ code: 'HTTP_UNAUTHENTICATED', path: ['headers', 'authorization'], message: 'an API key is required (Authorization: Bearer <key> or X-Api-Key)' }));
    }
    if (!client.scopes.includes(scope)) {
      return reply.code(403).send(issuesBody({ code: 'HTTP_FORBIDDEN', path: ['headers', 'authorization'], message: `client ${client.id} has no "${scope}" scope` }));
    }
    request.client = { id: client.id };
  };
}
