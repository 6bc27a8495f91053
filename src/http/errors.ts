import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { PipelineError } from '../model/errors.js';

/**
 * The error body of every HTTP answer that is not a success (contract-s5 §3): the same issue shape
 * as a rejected record (src/model/issues.ts), so an invoice refused by the API lists its issues
 * exactly as the inbox's quarantine report does.
 */
export const HttpIssueSchema = z
  .object({
    code: z.string().meta({ description: 'stable code: HTTP_* (README "Error codes") or a zod / codec issue code of a rejected record (invalid_type, invalid_format, custom, …)' }),
    path: z.array(z.union([z.string(), z.number()])).meta({ description: 'where: a header, a multipart part, or a field of the invoice, e.g. ["lines", 2, "care_date"]' }),
    input: z.unknown().optional().meta({ description: 'the offending value as received, when there is one' }),
    message: z.string(),
  })
  .meta({ title: 'Issue' });
export type HttpIssue = z.infer<typeof HttpIssueSchema>;

export const HttpErrorBodySchema = z.object({ issues: z.array(HttpIssueSchema).min(1) }).meta({ title: 'Error body', description: 'every issue found, not only the first' });
export type HttpErrorBody = z.infer<typeof HttpErrorBodySchema>;

export function httpIssue(code: string, message: string, path: (string | number)[] = [], input?: unknown): HttpIssue {
  return input === undefined ? { code, path, message } : { code, path, input, message };
}

/** A refusal to answer with `status` and its issues: thrown from a handler, answered by `answerHttpErrors`. */
export class HttpError extends PipelineError {
  constructor(
    readonly status: number,
    readonly issues: HttpIssue[],
  ) {
    super(issues[0]?.code ?? 'HTTP_BAD_REQUEST', issues.map((i) => i.message).join('; '), { status });
  }
}

export function sendIssues(reply: FastifyReply, status: number, issues: HttpIssue[]): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ issues } satisfies HttpErrorBody);
}

/**
 * The error handler of a plugin's (encapsulated) context: HttpError as it is; fastify's own errors
 * (unparsable body, too large, unsupported media type) in the same body shape with their status;
 * anything else is a 500 whose message is not echoed (it may quote personal data).
 */
export function answerHttpErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return sendIssues(reply, error.status, error.issues);
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) {
      request.log.error({ err: error }, 'http: request failed');
      return sendIssues(reply, 500, [httpIssue('HTTP_INTERNAL', 'the request could not be handled; it is logged (retry with the same Idempotency-Key)')]);
    }
    return sendIssues(reply, status, [httpIssue('HTTP_BAD_REQUEST', error.message)]);
  });
}

/** The 404 of unknown routes in the same body (once, on the server's root instance: fastify allows one per prefix). */
export function answerNotFound(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => sendIssues(reply, 404, [httpIssue('HTTP_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)]));
}

/** The error body of these issues (the admin routes answer it with their own status). */
export function issuesBody(...issues: HttpIssue[]): HttpErrorBody {
  return { issues };
}
