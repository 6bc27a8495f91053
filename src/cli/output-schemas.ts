import { z } from 'zod';
import { IngestSummarySchema, TotalsSchema } from '../ingest/summary.js';
import { MoneySchema } from '../model/money.js';
import { SettlementSchema } from '../model/settlement.js';

/**
 * What each command prints with `--json` (issue 11): one JSON document on stdout, of the shape
 * below. `schemas/cli/<command>.schema.json` is generated from these (test/cli/output-schemas.int.test.ts
 * compares; UPDATE_SCHEMAS=1 rewrites), and `writeJson` (json-output.ts) parses every document
 * with its schema before printing it, so what a command prints cannot drift from what is published.
 *
 * Shapes are closed at the top (a field removed or renamed fails) and, where a stage already has a
 * schema (ingest summary, settlement), reuse it. Lists of a stage's own records (payment orders,
 * bank returns, membership history) name the fields a reader may rely on and let the stage add
 * more (`looseObject`): adding a field is allowed, never renaming one (formats.md).
 * IBANs and NIRs are masked in every document (stdout ends up in logs).
 */

const Count = z.number().int().min(0);
const Amount = MoneySchema;
const Masked = z.string().meta({ description: 'masked (FR76…0189): never an IBAN or NIR in clear' });
const ReportFilesSchema = z.object({ json: z.string(), csv: z.string(), html: z.string() });
const BlockedItem = z.looseObject({ payee: z.string(), amount: Amount, reason: z.string() });
const OrderItem = z.looseObject({
  paymentId: z.string(), runId: z.string(), payee: z.string(), kind: z.enum(['payment', 'recovery']), amount: Amount, iban: Masked,
});

const RunReportSummarySchema = z.object({
  reconciled: z.boolean(),
  settled: Amount,
  transferred: z.object({ count: Count, total: Amount, files: Count }),
  held: z.object({ count: Count, total: Amount }),
  blocked: z.object({ count: Count, total: Amount, items: z.array(z.object({ payee: z.string(), amount: Amount, reason: z.string() })) }),
  carried: z.object({ count: Count, total: Amount }).optional().meta({ description: 'blocked (and per-order held) payees of earlier runs not decided again: nothing changed for them (absent: none)' }),
  recovered: z.object({ count: Count, total: Amount }),
  debtsCarried: Amount,
  returned: z.object({ count: Count, total: Amount, repaid: z.object({ count: Count, total: Amount }) }),
});

const ReturnedItem = z.looseObject({ paymentId: z.string(), payee: z.string(), amount: Amount, code: z.string(), label: z.string(), blocks: z.boolean() });
const ExceptionItem = z.looseObject({ record: z.number().int(), path: z.string(), reason: z.string() });
const BankReturnReportSchema = z.object({
  file: z.string(),
  sha256: z.string(),
  format: z.enum(['camt.054', 'pain.002']).nullable(),
  messageId: z.string().nullable(),
  duplicateOf: z.looseObject({ file: z.string(), at: z.string() }).nullable(),
  returned: z.array(ReturnedItem),
  acknowledged: Count,
  exceptions: z.array(ExceptionItem),
});
const BankReturnsViewSchema = z.object({
  blocked: z.array(z.looseObject({ payee: z.string() })),
  returned: z.array(z.looseObject({ endToEndId: z.string() })),
  exceptions: z.array(ExceptionItem),
  files: z.array(z.looseObject({ sha256: z.string(), file: z.string() })),
});

const ReferenceVersionSchema = z.object({
  kind: z.enum(['grids', 'nomenclature', 'pmss', 'professionals']),
  id: z.string(),
  seq: z.number().int(),
  hash: z.string(),
  loadedAt: z.string(),
  source: z.string(),
  summary: z.string(),
});

const PaymentStageSchema = z
  .object({
    runId: z.string(),
    dryRun: z.boolean(),
    alreadyRun: z.boolean(),
    consumed: z.object({ settlements: Count, reconciliation: Count }),
    republished: Count,
    orders: z.array(OrderItem),
    /** the orders without their lines (`lineCount` of them): what the text output and `run --once` print */
    orderHeads: z.array(OrderItem.extend({ lineCount: Count })),
    blocked: z.array(BlockedItem),
    carried: z.array(BlockedItem.extend({ lines: Count, since: z.string(), kind: z.literal('held').optional() })).meta({ description: 'blocked payees, and orders held by the per-order ceiling (kind: held), of earlier runs (since: the run that decided them) not decided again: nothing changed for them' }),
    pending: z.array(z.looseObject({})),
    held: z.array(z.looseObject({ paymentId: z.string(), payee: z.string(), amount: Amount, reason: z.string() })),
    resumed: z.looseObject({ runId: z.string(), orders: Count }).nullable(),
    pendingRun: z.string().nullable(),
    runDir: z.string(),
    ordersFile: z.string().nullable(),
    sepaFiles: z.array(z.string()),
    ledgerFile: z.string(),
    report: RunReportSummarySchema.nullable(),
    reportFiles: ReportFilesSchema.nullable(),
  })
  .meta({ description: 'noemie payments run --json: the payment stage report (IBANs masked)' });

const RunSummaryOrdersSchema = z.object({
  runId: z.string(),
  payments: z.object({ count: Count, total: Amount }),
  transfers: z.object({ count: Count, total: Amount }),
  recoveries: z.object({ count: Count, total: Amount }),
  orders: z.array(OrderItem),
});

const PersonSchema = z.looseObject({ nir: Masked, rang: z.number().int(), role: z.string(), name: z.string() });

/** `noemie run --once --json`: the run's summary, stage by stage. */
const RunOnceSchema = z
  .object({
    home: z.string(),
    bus: z.enum(['embedded', 'kafka']),
    exitCode: z.number().int(),
    durationMs: z.number().min(0),
    bankReturns: z.object({ applied: Count, refused: Count }),
    tpClaims: Count,
    memberFiles: z.array(z.object({ file: z.string(), action: z.string(), events: Count, rejected: Count, message: z.string() })),
    drops: z.array(z.object({ file: z.string(), action: z.string(), storedAs: z.string().nullable(), report: z.string().nullable(), totals: TotalsSchema.nullable(), message: z.string() })),
    members: z.object({ applied: Count, duplicates: Count, families: Count, reliquidationRequests: Count }),
    liquidation: z.object({ lines: Count, published: Count, unchanged: Count, redelivered: Count, republished: Count }),
    reconciliation: z.object({ outcomes: z.record(z.string(), Count), exceptionsRaised: Count }),
    stages: z
      .record(z.string(), z.object({ seconds: z.number().min(0), cpuSeconds: z.number().min(0) }))
      .meta({ description: 'wall and CPU seconds (every thread of the process) per stage, in the order they ended: ingest, liquidation, reconciliation, stopping, payments, statements' }),
    peakRssMb: z.number().int().min(0).meta({ description: "the process's peak resident set size (worker threads included)" }),
    payments: z
      .object({
        runId: z.string(),
        orders: Count,
        transfers: Amount,
        blocked: z.array(z.object({ payee: z.string(), amount: Amount, reason: z.string() })),
        carried: z.array(z.object({ payee: z.string(), amount: Amount, reason: z.string(), since: z.string() })),
        held: z.array(z.object({ payee: z.string(), amount: Amount, ceiling: z.string(), reason: z.string() })),
        recoveries: z.array(z.object({ payee: z.string(), amount: Amount, debtAfter: Amount })),
        sepaFiles: z.array(z.string()),
        ordersFile: z.string().nullable(),
        reportFiles: ReportFilesSchema.nullable(),
        reconciled: z.boolean().nullable(),
      })
      .nullable()
      .meta({ description: 'null with --no-payments' }),
    statements: z
      .object({
        dir: z.string(),
        families: Count,
        consumed: Count,
        pass: z.enum(['all', 'changed']).meta({ description: 'all: every family (first run of the home, payment state replaced, shared inputs changed); changed: the families whose statement can have changed since the last run' }),
        files: z.object({ written: Count, unchanged: Count }).meta({ description: 'statement files written (new or changed bytes), and left as they were (same bytes)' }),
      })
      .nullable(),
  })
  .meta({ description: 'noemie run --once --json: what the run did, stage by stage (the human lines go to stderr)' });

const EstimateSchema = z
  .object({
    member: z.object({
      text: z.array(z.string()).meta({ description: 'the quote as the member reads it, in French (what noemie estimate prints without --json)' }),
      expense: Amount,
      securiteSociale: Amount.meta({ description: "what the Sécurité sociale pays: BR × its rate, less the participation forfaitaire" }),
      complementaire: Amount,
      participationForfaitaire: Amount,
      resteACharge: Amount,
    }),
    tariff: z.object({ br: Amount, source: z.enum(['--br', 'nomenclature', 'not reimbursed by the RO']), roRate: z.string() }),
    participationForfaitaire: z.object({ amount: Amount, rule: z.string() }),
    settlement: SettlementSchema.meta({ description: "the engine's settlement of the quoted line (the operator's details: parts, formulas, counters)" }),
  })
  .meta({ description: 'noemie estimate --json: the quote for the member and the engine settlement behind it' });

export const CLI_OUTPUTS = {
  run: RunOnceSchema,
  ingest: IngestSummarySchema,
  liquidate: z
    .object({
      in: z.string(),
      out: z.string().meta({ description: 'the NDJSON settlements (--json needs --out: stdout holds the summary)' }),
      lines: Count,
      byStatus: z.record(z.string(), Count),
      amcTotal: Amount,
      rejected: Count,
      refusedParts: Count,
      exitCode: z.number().int(),
    })
    .meta({ description: 'noemie liquidate --json: the run figures' }),
  estimate: EstimateSchema,
  replay: z
    .object({
      topic: z.string(),
      partition: z.number().int(),
      from: z.number().int(),
      to: z.number().int(),
      read: Count,
      replayed: Count,
      changed: z.array(z.looseObject({ lineKey: z.string(), offset: z.number().int() })),
      skipped: z.record(z.string(), Count),
      totals: z.object({ lines: Count, amcBefore: Amount, amcAfter: Amount, delta: Amount }),
      published: z.object({ settlements: Count, snapshots: Count }),
    })
    .meta({ description: 'noemie replay --json' }),
  'api-keys add': z
    .object({ client: z.string(), scopes: z.array(z.string()), file: z.string(), rotated: z.boolean(), key: z.string() })
    .meta({ description: 'noemie api-keys add --json: the new key, shown this once (only its SHA-256 is kept)' }),
  'api-keys list': z
    .object({
      file: z.string(),
      clients: z.array(z.object({ id: z.string(), scopes: z.array(z.string()), created: z.string().optional() })),
    })
    .meta({ description: 'noemie api-keys list --json: the HTTP API clients (never a key: only its hash is kept)' }),
  topics: z
    .object({
      bus: z.enum(['embedded', 'kafka']),
      topics: z.array(z.object({ topic: z.string(), key: z.string(), partitions: z.array(z.object({ partition: z.number().int(), low: z.number().int(), high: z.number().int() })) })),
      groups: z.array(z.object({ group: z.string(), stage: z.string(), lag: z.array(z.object({ topic: z.string(), partition: z.number().int(), committed: z.number().int().nullable(), end: z.number().int(), lag: z.number().int() })) })),
    })
    .meta({ description: 'noemie topics --json' }),
  'payments run': PaymentStageSchema,
  'payments approve': z.object({ payee: z.string(), paymentId: z.string(), endToEndId: z.string(), amount: Amount, by: z.string(), at: z.string() }).meta({ description: 'noemie payments approve --json: the approval recorded' }),
  'payments show': z
    .object({
      runId: z.string().nullable(),
      at: z.string().nullable(),
      summary: RunSummaryOrdersSchema.nullable(),
      report: RunReportSummarySchema.nullable(),
      reportFiles: ReportFilesSchema.nullable(),
      blocked: z.array(z.object({ payee: z.string(), amount: Amount, reason: z.string() })),
      returns: BankReturnsViewSchema,
    })
    .meta({ description: 'noemie payments show --json (run fields null without a run id)' }),
  'payments returns': z.array(BankReturnReportSchema).meta({ description: 'noemie payments returns --json: the report of each file applied (a refused file is on stderr)' }),
  statement: z
    .object({
      adherentId: z.string(),
      from: z.string(),
      to: z.string(),
      issuedOn: z.string(),
      html: z.string().nullable(),
      text: z.string().meta({ description: 'the statement as the member reads it (what is printed without --json)' }),
      lines: Count,
    })
    .meta({ description: 'noemie statement --json' }),
  'members import': z
    .object({
      file: z.string(),
      published: Count,
      alreadyInStore: Count,
      rejectedRows: Count,
      store: z.object({ applied: Count, duplicates: Count, families: Count, reliquidationRequests: Count }),
    })
    .meta({ description: 'noemie members import --json' }),
  'members show': z
    .object({
      adherentId: z.string(),
      members: z.array(PersonSchema),
      accounts: z.array(z.looseObject({ iban: Masked, from: z.string() })),
      history: z.array(z.looseObject({ seq: z.number().int(), appliedAt: z.string(), eventId: z.string(), eventType: z.string(), effectiveDate: z.string() })),
      asOf: z.object({ date: z.string(), members: z.array(PersonSchema), account: z.looseObject({ iban: Masked }).nullable() }),
    })
    .meta({ description: 'noemie members show --json: the family, NIRs and IBANs masked' }),
  'fixtures generate': z
    .object({
      drop: z.looseObject({ path: z.string(), bytes: Count, lines: Count, decomptes: Count }),
      families: Count,
      people: Count,
      beneficiaries: z.object({ path: z.string(), rows: Count }).optional(),
      invoices: z.object({ dir: z.string(), paths: z.array(z.string()) }).optional(),
      tpClaims: z.object({ path: z.string(), rows: Count }).optional(),
      professionals: z.object({ path: z.string(), rows: Count }).optional(),
      members: z.looseObject({ path: z.string(), rows: Count }).optional(),
      populationFeed: z.object({ path: z.string(), rows: Count }).optional(),
      home: z
        .object({ dir: z.string(), published: z.array(z.string()) })
        .optional()
        .meta({ description: '--home: the home the files were written into and the reference versions published there' }),
    })
    .meta({ description: 'noemie fixtures generate --json: what was written' }),
  'reference import': z.object({ home: z.string(), published: z.array(ReferenceVersionSchema), unchanged: z.array(ReferenceVersionSchema) }).meta({ description: 'noemie reference import --json' }),
  'reference show': z
    .object({ home: z.string(), inForce: z.record(z.enum(['grids', 'nomenclature', 'pmss', 'professionals']), ReferenceVersionSchema.nullable()), versions: z.array(ReferenceVersionSchema) })
    .meta({ description: 'noemie reference show --json' }),
} as const satisfies Record<string, z.ZodType>;

export type CliOutputName = keyof typeof CLI_OUTPUTS;
export type CliOutput<N extends CliOutputName> = z.input<(typeof CLI_OUTPUTS)[N]>;

/** schemas/cli/<file>: the command's words joined by '-' ("payments run" → payments-run.schema.json). */
export const outputSchemaFile = (name: string) => `${name.replace(/ /g, '-')}.schema.json`;
