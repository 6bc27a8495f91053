import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { packageVersion } from '../cli/version.js';

/**
 * The OpenAPI 3.1 document of the HTTP service, made from the routes as they are registered: each
 * route's fastify `schema` option (JSON Schemas made from the zod schemas by `jsonSchemaOf`, plus
 * the fastify-swagger conventions `summary`, `description`, `tags`, `security`, `consumes`,
 * `produces`, `hide`). `schemas/http/openapi.json` is this document (test/http/openapi.int.test.ts
 * fails when it drifts; UPDATE_SCHEMAS=1 rewrites it) and `GET /openapi.json` serves it.
 */
export type JsonSchema = Record<string, unknown>;

/** A zod schema as a JSON Schema for a route's `schema` option (2020-12, what OpenAPI 3.1 uses; no `$schema` key). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  void _drop;
  return rest;
}

/** The route `schema` keys read here (fastify's own, and fastify-swagger's). */
export interface DocumentedSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  operationId?: string;
  security?: Record<string, string[]>[];
  consumes?: string[];
  produces?: string[];
  hide?: boolean;
  headers?: JsonSchema;
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  /** multipart: the content type of each part (OpenAPI `encoding`) */
  encoding?: Record<string, { contentType: string }>;
  response?: Record<string, JsonSchema & { description?: string }>;
}

export interface DocumentedRoute {
  method: string;
  url: string;
  schema: DocumentedSchema;
}

export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key> (noemie api-keys add <client> --scope …)' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'the same key in X-Api-Key' },
} as const;

/** Either header, for a route needing a key. */
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK', '201': 'Created', '202': 'Accepted', '400': 'Bad request', '401': 'No API key, or an unknown one', '403': 'The client lacks the scope',
  '404': 'Not found', '409': 'Conflict', '413': 'Too large', '415': 'Unsupported media type', '422': 'Refused: every issue is listed', '503': 'Unavailable: retry',
};

function parametersOf(where: 'path' | 'header' | 'query', schema: JsonSchema | undefined): unknown[] {
  if (schema === undefined) return [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: where, required: where === 'path' || required.has(name), ...(description !== undefined ? { description } : {}), schema: rest };
  });
}

function operationOf(route: DocumentedRoute): Record<string, unknown> {
  const s = route.schema;
  const produces = s.produces?.[0] ?? 'application/json';
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(s.response ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const { description, ...body } = schema;
    const type = status.startsWith('2') ? produces : 'application/json';
    responses[status] = { description: description ?? STATUS_TEXT[status] ?? status, content: { [type]: { schema: body } } };
  }
  const parameters = [...parametersOf('path', s.params), ...parametersOf('query', s.querystring), ...parametersOf('header', s.headers)];
  const consumes = s.consumes?.[0] ?? 'application/json';
  return {
    ...(s.operationId !== undefined ? { operationId: s.operationId } : {}),
    ...(s.summary !== undefined ? { summary: s.summary } : {}),
    ...(s.description !== undefined ? { description: s.description } : {}),
    ...(s.tags !== undefined ? { tags: s.tags } : {}),
    ...(s.security !== undefined ? { security: s.security } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(s.body !== undefined ? { requestBody: { required: true, content: { [consumes]: { schema: s.body, ...(s.encoding ? { encoding: s.encoding } : {}) } } } } : {}),
    responses: Object.keys(responses).length > 0 ? responses : { default: { description: 'see the route' } },
  };
}

/** The document of these routes (fastify's `/:name` become `{name}`; HEAD routes fastify adds by itself and hidden routes are left out). */
export function buildOpenApiDocument(routes: readonly DocumentedRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].filter((r) => r.method !== 'HEAD' && r.schema.hide !== true).sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));
  for (const route of sorted) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'noemie-pipeline HTTP API',
      version: packageVersion(),
      description: 'GENERATED from the routes\' zod schemas (src/http/openapi.ts; UPDATE_SCHEMAS=1 rewrites schemas/http/openapi.json). Errors are always { issues: [{ code, path, input?, message }] } listing every issue.',
    },
    paths,
    components: { securitySchemes: SECURITY_SCHEMES },
  };
}

/**
 * Collects every route registered after it (an `onRoute` hook on the instance it is given: register
 * it FIRST, on the server's root instance) and serves the document at `GET /openapi.json`.
 */
export function openApiPlugin(): { name: string; register: (app: FastifyInstance) => Promise<void>; document: () => Record<string, unknown> } {
  const routes: DocumentedRoute[] = [];
  const document = () => buildOpenApiDocument(routes);
  return {
    name: 'openapi',
    document,
    async register(app) {
      app.addHook('onRoute', (r: RouteOptions) => {
        for (const method of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method, url: r.url, schema: (r.schema ?? {}) as DocumentedSchema });
      });
      app.get('/openapi.json', { schema: { summary: 'this document (OpenAPI 3.1)', tags: ['meta'], response: { '200': { type: 'object', description: 'the OpenAPI document' } } } }, async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(document())));
    },
  };
}
