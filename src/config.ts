import { z } from 'zod';
import { DEFAULT_LIMITS, limitsProblem, parseLimit, type PaymentLimits } from './payments/controls.js';
import { PAYMENT_RUN_STEPS } from './payments/run-steps.js';
import { DEFAULT_INSURER, type InsurerIdentity } from './statement/insurer.js';

/**
 * Every environment read of the pipeline happens here, validated once at start with messages that
 * name the variable, what was received and what was expected (pino habit). CLI flags override.
 */
const bytes = z.coerce.number().int().positive();
/** a payment ceiling in euros ("10000" or "10000.00"), positive: src/payments/controls.ts */
const ceiling = z.string().transform((v, ctx) => {
  const parsed = parseLimit(v);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.problem });
  return z.NEVER;
});
const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const EnvSchema = z.object({
  NOEMIE_HOME: z.string().default('var'),
  NOEMIE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** logs on stderr: `pretty` (pino-pretty, ISO times), `json` (one JSON object a line), `auto`: pretty on a terminal, JSON elsewhere */
  NOEMIE_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_CLIENT_ID: z.string().default('noemie-pipeline'),
  /** TLS to the brokers; KAFKA_SSL_CA_FILE adds a CA (PEM) to the trusted ones */
  KAFKA_SSL: flag.default(false),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SSL_REJECT_UNAUTHORIZED: flag.default(true),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** consumer group session timeout; tests use ~3000 so a rejoin takes seconds, not 30 s */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** prefix of every topic name (one cluster shared by several environments) */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').default(''),
  /** replication factor of the topics the pipeline creates; unset: the broker's default */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).optional(),
  /** producer compression on the Kafka bus (kafkajs has gzip built in; consumers read either) */
  KAFKA_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  /**
   * partitions of every topic, in both buses (src/bus/topics.ts). Part of the data's layout: a key's
   * partition depends on it, so a bus made with another count is refused (BUS_PARTITION_MISMATCH).
   */
  NOEMIE_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(4),
  /** TP reconciliation: days a tp 15/25 line waits for its claim, a claim for its NOEMIE line, before an exception; amount tolerance */
  NOEMIE_RECON_HOLD_DAYS: z.coerce.number().int().min(0).default(30),
  NOEMIE_RECON_CLAIM_DAYS: z.coerce.number().int().min(0).default(30),
  NOEMIE_RECON_TOLERANCE: z.string().regex(/^\d+\.\d{2}$/, 'an amount with two decimals, e.g. 0.00').default('0.00'),
  /** a ZIP entry inflating past this is refused (zip bomb) */
  NOEMIE_ZIP_MAX_ENTRY_BYTES: bytes.default(512 * 1024 * 1024),
  /** the whole archive inflating past this is refused */
  NOEMIE_ZIP_MAX_TOTAL_BYTES: bytes.default(2 * 1024 * 1024 * 1024),
  NOEMIE_ZIP_MAX_ENTRIES: bytes.default(10_000),
  /** a compression ratio above this is treated as a bomb whatever the sizes */
  NOEMIE_ZIP_MAX_RATIO: bytes.default(200),
  NOEMIE_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /** most family ledgers the liquidation service keeps in memory (the rest wait in the home's state store, ledger.*) */
  NOEMIE_LEDGER_CACHE: z.coerce.number().int().min(1).default(50_000),
  /**
   * and at most this many MiB of ledger text in memory (the bound that holds as families' histories
   * grow). 16 since session 13 (was 64): the text is counted, not the parsed records and summaries
   * around it, so the heap held ~1.5× the bound, and V8's growth headroom half as much again; a miss
   * is one LevelDB point read (bench/README.md, "Session 13 — memory").
   */
  NOEMIE_LEDGER_CACHE_MB: z.coerce.number().int().min(1).default(16),
  /** old-generation heap of each liquidation worker thread (piscina resourceLimits): a bound, not a reservation */
  NOEMIE_WORKER_HEAP_MB: z.coerce.number().int().min(32).default(128),
  /** payment controls: an order above this is held for approval (`--max-order` overrides) */
  NOEMIE_PAYMENT_MAX_ORDER: ceiling.default(DEFAULT_LIMITS.maxOrder),
  /** and a run's unapproved transfers never add up to more than this (`--max-run`) */
  NOEMIE_PAYMENT_MAX_RUN: ceiling.default(DEFAULT_LIMITS.maxRun),
  /** the pain.001's initiating party (GrpHdr/InitgPty): its name (default: the paying account's name) */
  NOEMIE_INITIATING_PARTY_NAME: z.string().trim().min(1).optional(),
  /**
   * and the identifier the bank knows it by (InitgPty/Id/OrgId/Othr/Id, at most 35 characters of the
   * SEPA set) with its scheme (ISO external code: CUST customer number, BANK, SRET SIRET, SREN SIREN…).
   * The defaults are fictitious, like the default paying account: set the ones of the bank contract.
   */
  NOEMIE_INITIATING_PARTY_ID: z.string().regex(/^[A-Za-z0-9/\-?:().,'+ ]{1,35}$/, "1 to 35 characters of the SEPA set (A-Z a-z 0-9 / - ? : ( ) . , ' + space)").default('NOEMIE0001'),
  NOEMIE_INITIATING_PARTY_SCHEME: z.string().regex(/^([A-Z0-9]{1,4})?$/, 'an ISO external organisation identification code (1 to 4 capitals: CUST, BANK, SRET…), or empty for none').default('CUST'),
  /**
   * The insurer named on member statements (src/statement/insurer.ts): its name, its postal address
   * (lines separated by " | ") and its registration (RNM / SIREN for a mutuelle, ORIAS for an
   * intermediary). Unset: fictitious defaults, to be replaced by the insurer's own.
   */
  NOEMIE_INSURER_NAME: z.string().trim().min(1).optional(),
  NOEMIE_INSURER_ADDRESS: z.string().trim().min(1).optional(),
  NOEMIE_INSURER_REGISTRATION: z.string().trim().min(1).optional(),
  /** HTTP API (src/http/invoices): an invoice's attachment larger than this is refused with 413 (default 10 MiB) */
  NOEMIE_HTTP_MAX_ATTACHMENT_BYTES: bytes.default(10 * 1024 * 1024),
  /** the API clients' keys file (hashes only; `noemie api-keys add`); default `<home>/config/api-keys.json` */
  NOEMIE_API_KEYS_FILE: z.string().min(1).optional(),
  /** `noemie run`'s HTTP service (src/http): port when --http-port is not given (0: any free port) */
  NOEMIE_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** a key of a client with the "admin" scope: what `payments run` / `replay` send to a running service holding the bus */
  NOEMIE_ADMIN_KEY: z.string().min(1).optional(),
  /** TEST ONLY: `noemie payments run` kills itself (SIGKILL) right after this step (src/payments/run-steps.ts) */
  NOEMIE_CRASH_AT: z.enum(PAYMENT_RUN_STEPS).optional(),
  /** TEST ONLY: the running service kills itself (SIGKILL) once that admin write is committed, before it answers (src/cli/payment-state.ts) */
  NOEMIE_ADMIN_CRASH_AFTER: z.enum(['bank-return', 'approval']).optional(),
  /** due lines per slice of a payment run's scan and apply (src/pipeline/payment-run-stream.ts); tests set a few lines so a run has many slices */
  NOEMIE_PAYMENT_SLICE_LINES: z.coerce.number().int().min(1).optional(),
  /**
   * `noemie run --once`: how long a stage (membership, liquidation, reconciliation) may commit
   * nothing before the run fails (ms; default 10 minutes). A slow stage that commits is waited for,
   * its progress said every 10 s (src/pipeline/catch-up.ts).
   */
  NOEMIE_STALL_MS: z.coerce.number().int().min(1).default(600_000),
  /** TEST ONLY: `noemie run` pauses this long after each liquidation batch's ledger write and after its settlements, so a kill -9 can land between them */
  NOEMIE_STEP_DELAY_MS: z.coerce.number().int().min(0).optional(),
  /**
   * TESTS AND DEVELOPMENT: `1` checks with zod the values our own stages produce as `trusted` too
   * (src/bus/codec.ts), so a stage building a message its topic would refuse fails its tests.
   */
  NOEMIE_BUS_VERIFY: z.enum(['0', '1']).default('0'),
  /**
   * MiB of the newest bus records the embedded bus keeps in memory, all partitions together, for the
   * consumers of the same process that keep up with them (src/bus/embedded/tail.ts): they are served
   * from there instead of being read back from the log file. 0 keeps none. 8 since session 13 (was
   * 32): during a drop's ingest the liquidation lags the producer, so the tail sat full, and each
   * kept value is a view of the spool's read chunk (64 KiB then, 1 MiB since the bus change of the
   * same session), which it keeps alive whole; 32 MiB of budget held ≈ 40 MB of heap live, and V8's
   * headroom on top (bench/README.md, "Session 13 — memory"). The kept values are the newest ones,
   * so the chunks they keep alive are about the budget, plus one per partition.
   */
  NOEMIE_BUS_TAIL_MB: z.coerce.number().int().min(0).max(4096).default(8),
  /**
   * Threads that render the member statements of `noemie run --once` (statement-pass.ts
   * `renderThreads`); 0 renders them on the main thread. Default 0: on the project's 2 cores the
   * threads doubled the pass's CPU (start-up, a second copy of the data) and did not shorten it
   * (bench/README.md "Session 12 — statements", "Session 12 — the whole run after the merges").
   */
  NOEMIE_STATEMENT_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  /**
   * LevelDB's write buffer (memtable) in MiB, for the home's log-structured store: a trade of memory
   * against bytes written (a larger memtable, fewer compactions). Default: `LEVEL_WRITE_BUFFER_BYTES`
   * of src/state/level-store.ts, 64 MiB, which says why and what 32 measured (session 15: the
   * memtables are filled from libuv's pool threads, whose malloc arenas keep their high-water mark;
   * a smaller buffer lowers the 100 k-line peak, not the 1 M one, and writes more).
   */
  NOEMIE_LEVEL_WRITE_BUFFER_MB: z.coerce.number().int().min(1).max(1024).optional(),
  /** MEASUREMENT: a file where the state stores append, per group of sub-stores, the commits, puts and bytes written (src/state/write-trace.ts) */
  NOEMIE_STATE_TRACE: z.string().min(1).optional(),
});
export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {}

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  return parseEnv(EnvSchema, env);
}

function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `  ${name}: ${i.message} (received ${JSON.stringify(env[name])})`;
    });
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/**
 * NOEMIE_PARTITIONS alone: src/bus/topics.ts reads it on first use, wherever the process was
 * started from, and a bad value elsewhere in the environment is not its business.
 */
export function busPartitions(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnv(EnvSchema.pick({ NOEMIE_PARTITIONS: true }), env).NOEMIE_PARTITIONS;
}

/** NOEMIE_BUS_VERIFY alone, read by src/bus/codec.ts on first use. */
export function busVerify(env: NodeJS.ProcessEnv = process.env): boolean {
  return parseEnv(EnvSchema.pick({ NOEMIE_BUS_VERIFY: true }), env).NOEMIE_BUS_VERIFY === '1';
}

/** NOEMIE_BUS_TAIL_MB alone, read by src/bus/embedded/embedded-bus.ts when a bus is opened. */
export function busTailMb(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnv(EnvSchema.pick({ NOEMIE_BUS_TAIL_MB: true }), env).NOEMIE_BUS_TAIL_MB;
}

/** NOEMIE_LEVEL_WRITE_BUFFER_MB alone (undefined: the store's default), read by src/state/level-store.ts when the database is opened. */
export function levelWriteBufferMb(env: NodeJS.ProcessEnv = process.env): number | undefined {
  return parseEnv(EnvSchema.pick({ NOEMIE_LEVEL_WRITE_BUFFER_MB: true }), env).NOEMIE_LEVEL_WRITE_BUFFER_MB;
}

/** NOEMIE_STATE_TRACE alone, read by src/state/write-trace.ts when it is loaded. */
export function stateTraceFile(env: NodeJS.ProcessEnv = process.env): string | null {
  return parseEnv(EnvSchema.pick({ NOEMIE_STATE_TRACE: true }), env).NOEMIE_STATE_TRACE ?? null;
}

export type LogFormat = 'auto' | 'pretty' | 'json';

/** NOEMIE_LOG_FORMAT alone: the logger is made before (and whatever) the rest of the environment is checked. */
export function logFormatSetting(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return parseEnv(EnvSchema.pick({ NOEMIE_LOG_FORMAT: true }), env).NOEMIE_LOG_FORMAT;
}

export interface ZipLimits {
  maxEntryBytes: number;
  maxTotalBytes: number;
  maxEntries: number;
  maxRatio: number;
}

export function zipLimits(env: Env = readEnv()): ZipLimits {
  return {
    maxEntryBytes: env.NOEMIE_ZIP_MAX_ENTRY_BYTES,
    maxTotalBytes: env.NOEMIE_ZIP_MAX_TOTAL_BYTES,
    maxEntries: env.NOEMIE_ZIP_MAX_ENTRIES,
    maxRatio: env.NOEMIE_ZIP_MAX_RATIO,
  };
}

/** Kafka connection settings (kafkajs options are built from these in src/bus/kafka). */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: false | { caFile?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  sessionTimeout: number;
  topicPrefix: string;
  replicationFactor?: number;
  /** producer compression; absent: none */
  compression?: KafkaCompression;
}

export type KafkaCompression = Env['KAFKA_COMPRESSION'];

/** `brokers` from the CLI (`--kafka a:9092,b:9092`) wins over KAFKA_BROKERS. */
export function kafkaSettings(env: Env = readEnv(), brokers?: string): KafkaSettings {
  const list = (brokers ?? env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (list.length === 0) throw new ConfigError('no Kafka brokers: pass --kafka host:port[,host:port] or set KAFKA_BROKERS');
  if (env.KAFKA_SASL_MECHANISM && (env.KAFKA_SASL_USERNAME === undefined || env.KAFKA_SASL_PASSWORD === undefined)) {
    throw new ConfigError(`KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  }
  const settings: KafkaSettings = {
    brokers: list,
    clientId: env.KAFKA_CLIENT_ID,
    ssl: env.KAFKA_SSL ? { rejectUnauthorized: env.KAFKA_SSL_REJECT_UNAUTHORIZED, ...(env.KAFKA_SSL_CA_FILE ? { caFile: env.KAFKA_SSL_CA_FILE } : {}) } : false,
    sessionTimeout: env.KAFKA_SESSION_TIMEOUT_MS,
    topicPrefix: env.KAFKA_TOPIC_PREFIX,
    compression: env.KAFKA_COMPRESSION,
  };
  if (env.KAFKA_SASL_MECHANISM) {
    settings.sasl = { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' };
  }
  if (env.KAFKA_REPLICATION_FACTOR !== undefined) settings.replicationFactor = env.KAFKA_REPLICATION_FACTOR;
  return settings;
}

/** The reconciliation delays and tolerance (src/reconcile ReconConfig). */
export function reconSettings(env: Env = readEnv()): { holdDays: number; claimDays: number; tolerance: string } {
  return { holdDays: env.NOEMIE_RECON_HOLD_DAYS, claimDays: env.NOEMIE_RECON_CLAIM_DAYS, tolerance: env.NOEMIE_RECON_TOLERANCE };
}

/**
 * The payment ceilings: NOEMIE_PAYMENT_MAX_ORDER / NOEMIE_PAYMENT_MAX_RUN, overridden by the
 * command's flags (already checked). A per-order ceiling above the per-run one is refused: it
 * cannot be what was meant.
 */
export function paymentLimits(env: Env = readEnv(), override: Partial<PaymentLimits> = {}): PaymentLimits {
  const limits = { maxOrder: override.maxOrder ?? env.NOEMIE_PAYMENT_MAX_ORDER, maxRun: override.maxRun ?? env.NOEMIE_PAYMENT_MAX_RUN };
  const problem = limitsProblem(limits);
  if (problem !== null) {
    // names in backquotes: test/docs/error-codes.test.ts reads quoted upper-case names as error codes
    const names = `${override.maxOrder === undefined ? `NOEMIE_PAYMENT_MAX_ORDER` : '--max-order'} is above ${override.maxRun === undefined ? `NOEMIE_PAYMENT_MAX_RUN` : '--max-run'}`;
    throw new ConfigError(`invalid payment ceilings: ${names} (${problem})`);
  }
  return limits;
}

/** The pain.001's initiating party: NOEMIE_INITIATING_PARTY_NAME (null: the paying account's name), _ID and _SCHEME (empty: none). */
export function initiatingParty(env: Env = readEnv()): { name: string | null; id: string; scheme: string | null } {
  return { name: env.NOEMIE_INITIATING_PARTY_NAME ?? null, id: env.NOEMIE_INITIATING_PARTY_ID, scheme: env.NOEMIE_INITIATING_PARTY_SCHEME === '' ? null : env.NOEMIE_INITIATING_PARTY_SCHEME };
}

/** The insurer named on member statements: NOEMIE_INSURER_NAME, _ADDRESS (lines split on "|"), _REGISTRATION; fictitious defaults. */
export function insurerIdentity(env: Env = readEnv()): InsurerIdentity {
  return {
    name: env.NOEMIE_INSURER_NAME ?? DEFAULT_INSURER.name,
    address: env.NOEMIE_INSURER_ADDRESS ? env.NOEMIE_INSURER_ADDRESS.split('|').map((l) => l.trim()).filter((l) => l !== '') : DEFAULT_INSURER.address,
    registration: env.NOEMIE_INSURER_REGISTRATION ?? DEFAULT_INSURER.registration,
  };
}
