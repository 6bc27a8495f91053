import { z } from 'zod';
import { maskPersonalData } from '../log.js';
import { MAX_BANK_FILE_BYTES } from '../payments/bank-returns/parse.js';
import { PipelineError } from '../model/errors.js';
import { requireScope, type ApiKeys } from './auth.js';
import { HttpErrorBodySchema, issuesBody, type HttpIssue } from './errors.js';
import type { HttpPlugin } from './server.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Ops actions on the running service, for clients with the `admin` scope (a key apart from the
 * invoice clients'): a payment cut-off and a replay, each answering with the report the CLI
 * command prints with --json. The request bodies are the commands' flags (`noemie payments run`,
 * `noemie replay`), so the CLI can send its own flags here when the service holds the bus
 * (src/cli/service-client.ts). One action at a time: a second one waits for the first.
 *
 * Finance's commands on the payment state go through here too when the service holds the home
 * (`payments returns`, `payments approve`, `payments show`, the payment facts of `statement`):
 * the writes (a bank return file, an approval) wait their turn with the cut-offs and replays; the
 * reads do not wait (they read what is committed, as the command would beside a run).
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

/**
 * A bank return file sent by its CONTENT, not a path: the service may not see the caller's files
 * (another user, a container), and the bytes are what is keyed (SHA-256) — the same file applied
 * by the command or through here is one file. One file per request, as the command applies them.
 */
export const BankReturnRequestSchema = z
  .object({
    file: z.string().min(1).max(255).meta({ description: "the file's name, as the report and the state name it (the command sends its base name)" }),
    content: z.base64().meta({ description: "the file's bytes, base64 (at most 64 MiB decoded)" }),
  })
  .strict()
  .meta({ title: 'Bank return file', description: 'one file of noemie payments returns: a camt.054 or pain.002 message' });
export type BankReturnRequest = z.infer<typeof BankReturnRequestSchema>;

export const ApprovalRequestSchema = z
  .object({
    ref: z.string().min(1).meta({ description: 'a held order\'s paymentId (<runId>:<payee>) or its payee (member:<id>, ps:<id>)' }),
    by: z.string().refine((s) => s.trim() !== '', 'must name who approves').meta({ description: 'who approves (the command sends --by, default its system user)' }),
    runId: z.string().min(1).optional().meta({ description: 'refuse unless the held order comes from this run (--run)' }),
  })
  .strict()
  .meta({ title: 'Approval request', description: 'the arguments of noemie payments approve' });
export type ApprovalRequest = z.infer<typeof ApprovalRequestSchema>;

export const RunRecordParamsSchema = z.object({ runId: z.string().min(1) }).strict().meta({ title: 'Payment run id' });

// a read with a body: a family's line keys can be hundreds, more than a URL should carry
export const PaymentFactsRequestSchema = z
  .object({ lineKeys: z.array(z.string().min(1)).max(100_000) })
  .strict()
  .meta({ title: 'Payment facts request', description: "a statement's line keys (noemie statement): their payment facts, read only" });
export type PaymentFactsRequest = z.infer<typeof PaymentFactsRequestSchema>;

export interface AdminActions {
  /** the report `noemie payments run --json` prints (IBANs masked) */
  paymentRun(request: PaymentRunRequest): Promise<unknown>;
  /** the result `noemie replay --json` prints */
  replay(request: ReplayRequest): Promise<unknown>;
  /** one bank return file applied: the report `noemie payments returns --json` prints for it */
  bankReturn(request: BankReturnRequest): Promise<unknown>;
  /** the approval `noemie payments approve --json` prints */
  approval(request: ApprovalRequest): Promise<unknown>;
  /** a run's record and its report's summary, `{ run, report }` (src/cli/payment-state.ts) */
  runRecord(runId: string): Promise<unknown>;
  /** the bank returns part of the payment state (`payments show`'s `returns`) */
  bankReturns(): Promise<unknown>;
  /** `{ lines: [{ lineKey, facts }] }`: what a statement says of who was paid, when, what waits */
  paymentFacts(request: PaymentFactsRequest): Promise<unknown>;
}

/** 100 000 line keys of ~80 bytes: past fastify's default 1 MiB, which ~25 000 keys would fill */
const PAYMENT_FACTS_BODY_LIMIT = 8 * 1024 * 1024;

/** base64 of the largest bank return file read (MAX_BANK_FILE_BYTES), and room for the JSON around it */
const BANK_RETURN_BODY_LIMIT = Math.ceil(MAX_BANK_FILE_BYTES / 3) * 4 + 64 * 1024;

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
      const answer = async (request: FastifyRequest, reply: FastifyReply, path: string, act: () => Promise<unknown>) => {
        try {
          return reply.code(200).send(await act());
        } catch (e) {
          if (e instanceof AdminRequestError) return reply.code(400).send(issuesBody({ code: 'HTTP_INVALID_REQUEST', path: ['body'], message: e.message }));
          if (e instanceof PipelineError) return reply.code(422).send(issuesBody({ code: e.code, path: [], message: maskPersonalData(e.message) }));
          request.log.error({ err: e, path }, 'admin action failed');
          return reply.code(500).send(issuesBody({ code: 'HTTP_INTERNAL', path: [], message: maskPersonalData(e instanceof Error ? e.message : String(e)) }));
        }
      };
      const invalid = (reply: FastifyReply, error: z.ZodError) => {
        const issues: HttpIssue[] = error.issues.map((i) => ({ code: 'HTTP_INVALID_REQUEST', path: i.path.map((p) => (typeof p === 'number' ? p : String(p))), input: (i as { input?: unknown }).input, message: i.message }));
        return reply.code(400).send(issuesBody(...issues));
      };
      /** POST: an action (queued: one at a time), or a read with a body (`queued: false`) */
      const route = <S extends z.ZodType>(path: string, schema: S, summary: string, act: (body: z.infer<S>) => Promise<unknown>, o: { queued?: boolean; bodyLimit?: number } = {}) =>
        app.post(
          path,
          {
            preHandler: admin,
            ...(o.bodyLimit === undefined ? {} : { bodyLimit: o.bodyLimit }),
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
            if (!parsed.success) return invalid(reply, parsed.error);
            return answer(request, reply, path, () => (o.queued === false ? act(parsed.data) : oneAtATime(() => act(parsed.data))));
          },
        );
      /** GET: a read, never queued behind an action (it reads what is committed) */
      const read = <S extends z.ZodType>(path: string, params: S | null, summary: string, act: (params: z.infer<S>) => Promise<unknown>) =>
        app.get(
          path,
          {
            preHandler: admin,
            schema: {
              summary,
              tags: ['admin'],
              security: [{ apiKey: [] }],
              ...(params === null ? {} : { params: z.toJSONSchema(params, { io: 'input' }) }),
              response: { 200: Report, 400: errors, 401: errors, 403: errors, 422: errors, 500: errors },
            },
            validatorCompiler: () => () => true,
          },
          async (request, reply) => {
            const parsed = (params ?? z.object({})).safeParse(request.params ?? {});
            if (!parsed.success) return invalid(reply, parsed.error);
            return answer(request, reply, path, () => act(parsed.data as z.infer<S>));
          },
        );
      route('/v1/admin/payment-runs', PaymentRunRequestSchema, 'payment cut-off: the report of noemie payments run', (b) => actions.paymentRun(b));
      route('/v1/admin/replays', ReplayRequestSchema, 'replay a partition range (dry run or real): the report of noemie replay', (b) => actions.replay(b));
      route('/v1/admin/bank-returns', BankReturnRequestSchema, 'apply one bank return file (camt.054 / pain.002) given by its content: the report of noemie payments returns for it; the same bytes again are skipped (duplicateOf)', (b) => actions.bankReturn(b), { bodyLimit: BANK_RETURN_BODY_LIMIT });
      route('/v1/admin/approvals', ApprovalRequestSchema, 'approve a held order: the approval of noemie payments approve', (b) => actions.approval(b));
      route('/v1/admin/payment-facts', PaymentFactsRequestSchema, "a read: the payment facts of a statement's lines (noemie statement), { lines: [{ lineKey, facts }] }", (b) => actions.paymentFacts(b), { queued: false, bodyLimit: PAYMENT_FACTS_BODY_LIMIT });
      read('/v1/admin/payment-runs/:runId', RunRecordParamsSchema, "a payment run's record and its report's summary, { run, report } (noemie payments show <runId>)", (p) => actions.runRecord(p.runId));
      read('/v1/admin/bank-returns', null, 'the bank returns recorded: blocked payees, returns applied, exceptions, files (noemie payments show)', () => actions.bankReturns());
    },
  };
}
