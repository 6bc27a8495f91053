import { z } from 'zod';
import { maskPersonalData } from '../log.js';
import { PipelineError } from '../model/errors.js';
import { requireScope, type ApiKeys } from './auth.js';
import { HttpErrorBodySchema, issuesBody, type HttpIssue } from './errors.js';
import type { HttpPlugin } from './server.js';

/**
 * Ops actions on the running service, for clients with the `admin` scope (a key apart from the
 * invoice clients'): a payment cut-off and a replay, each answering with the report the CLI
 * command prints with --json. The request bodies are the commands' flags (`noemie payments run`,
 * `noemie replay`), so the CLI can send its own flags here when the service holds the bus
 * (src/cli/service-client.ts). One action at a time: a second one waits for the first.
 */
const Decimal2 = z.string().regex(/^\d+(\.\d{1,2})?$/, 'an amount in euros, e.g. 10000.00');
const Instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 instant');

export const PaymentRunRequestSchema = z
  .object({
    dryRun: z.boolean().default(false),
    runId: z.string().min(1).optional(),
    at: Instant.optional().meta({ description: "the run's cut-off, default now" }),
    professionals: z.string().min(1).optional().meta({ description: "a professionals' accounts CSV on the service's machine; default the home's version in force" }),
    out: z.string().min(1).optional().meta({ description: "where <runId>/ goes on the service's machine, default <home>/payments" }),
    debtorIban: z.string().min(1).optional(),
    debtorBic: z.string().min(1).optional(),
    debtorName: z.string().min(1).optional(),
    maxOrder: Decimal2.optional(),
    maxRun: Decimal2.optional(),
  })
  .strict()
  .meta({ title: 'Payment run request', description: 'the flags of noemie payments run' });
export type PaymentRunRequest = z.infer<typeof PaymentRunRequestSchema>;

// checked by the replay itself (PIPELINE_REPLAY_RANGE names what is wrong), as the CLI's flags are
const OffsetOrDate = z.union([z.number().int().min(0), z.string().min(1)]).meta({ description: 'an offset, or an ISO date (the first record at or after it)' });
export const ReplayRequestSchema = z
  .object({
    topic: z.string().min(1).meta({ description: 'decompte-lines or invoice-lines' }),
    partition: z.number().int().min(0),
    from: OffsetOrDate,
    to: OffsetOrDate.optional(),
    dryRun: z.boolean().default(false),
    reference: z.string().min(1).optional().meta({ description: "a directory with grids/, nomenclature.csv, pmss.csv on the service's machine; default the home's versions in force" }),
    grids: z.string().min(1).optional(),
  })
  .strict()
  .meta({ title: 'Replay request', description: 'the flags of noemie replay' });
export type ReplayRequest = z.infer<typeof ReplayRequestSchema>;

export interface AdminActions {
  /** the report `noemie payments run --json` prints (IBANs masked) */
  paymentRun(request: PaymentRunRequest): Promise<unknown>;
  /** the result `noemie replay --json` prints */
  replay(request: ReplayRequest): Promise<unknown>;
}

/** A request the action itself refuses (a bad IBAN, a ceiling above another): 400 like a schema issue. */
export class AdminRequestError extends Error {}

const Report = { type: 'object', additionalProperties: true } as const;

export function adminPlugin(keys: ApiKeys, actions: AdminActions): HttpPlugin {
  return {
    name: 'admin',
    async register(app) {
      const errors = z.toJSONSchema(HttpErrorBodySchema);
      const admin = requireScope(keys, 'admin');
      let queue: Promise<unknown> = Promise.resolve();
      const oneAtATime = <T>(job: () => Promise<T>): Promise<T> => {
        const next = queue.then(job, job);
        queue = next.catch(() => undefined);
        return next;
      };
      const route = <S extends z.ZodType>(path: string, schema: S, summary: string, act: (body: z.infer<S>) => Promise<unknown>) =>
        app.post(
          path,
          {
            preHandler: admin,
            schema: {
              summary,
              tags: ['admin'],
              security: [{ apiKey: [] }],
              body: z.toJSONSchema(schema, { io: 'input' }),
              response: { 200: Report, 400: errors, 401: errors, 403: errors, 422: errors, 500: errors },
            },
            // the zod schema is the one check (fastify's own validation of the same JSON Schema would answer in another shape)
            validatorCompiler: () => () => true,
          },
          async (request, reply) => {
            const parsed = schema.safeParse(request.body ?? {});
            if (!parsed.success) {
              const issues: HttpIssue[] = parsed.error.issues.map((i) => ({ code: 'HTTP_INVALID_REQUEST', path: i.path.map((p) => (typeof p === 'number' ? p : String(p))), input: (i as { input?: unknown }).input, message: i.message }));
              return reply.code(400).send(issuesBody(...issues));
            }
            try {
              return reply.code(200).send(await oneAtATime(() => act(parsed.data)));
            } catch (e) {
              if (e instanceof AdminRequestError) return reply.code(400).send(issuesBody({ code: 'HTTP_INVALID_REQUEST', path: ['body'], message: e.message }));
              if (e instanceof PipelineError) return reply.code(422).send(issuesBody({ code: e.code, path: [], message: maskPersonalData(e.message) }));
              request.log.error({ err: e, path }, 'admin action failed');
              return reply.code(500).send(issuesBody({ code: 'HTTP_INTERNAL', path: [], message: maskPersonalData(e instanceof Error ? e.message : String(e)) }));
            }
          },
        );
      route('/v1/admin/payment-runs', PaymentRunRequestSchema, 'payment cut-off: the report of noemie payments run', (b) => actions.paymentRun(b));
      route('/v1/admin/replays', ReplayRequestSchema, 'replay a partition range (dry run or real): the report of noemie replay', (b) => actions.replay(b));
    },
  };
}
