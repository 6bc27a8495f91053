import { z } from 'zod';

/**
 * The error body of every HTTP answer (contract s5 §3): `{ issues: [{ code, path, input?, message }] }`.
 * (Minimal version of http-ops; http-invoices owns this file and its version replaces it.)
 */
export const HttpIssueSchema = z.object({
  code: z.string(),
  path: z.array(z.union([z.string(), z.number()])),
  input: z.unknown().optional(),
  message: z.string(),
});
export type HttpIssue = z.infer<typeof HttpIssueSchema>;
export const HttpErrorBodySchema = z.object({ issues: z.array(HttpIssueSchema) });
export type HttpErrorBody = z.infer<typeof HttpErrorBodySchema>;

export function issuesBody(...issues: HttpIssue[]): HttpErrorBody {
  return { issues };
}
