import { z } from 'zod';

/**
 * Every environment read of the pipeline happens here, validated once at start with messages that
 * name the variable, what was received and what was expected (pino habit). CLI flags override.
 */
const bytes = z.coerce.number().int().positive();

const EnvSchema = z.object({
  NOEMIE_HOME: z.string().default('var'),
  NOEMIE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_CLIENT_ID: z.string().default('noemie-pipeline'),
  /** a ZIP entry inflating past this is refused (zip bomb) */
  NOEMIE_ZIP_MAX_ENTRY_BYTES: bytes.default(512 * 1024 * 1024),
  /** the whole archive inflating past this is refused */
  NOEMIE_ZIP_MAX_TOTAL_BYTES: bytes.default(2 * 1024 * 1024 * 1024),
  NOEMIE_ZIP_MAX_ENTRIES: bytes.default(10_000),
  /** a compression ratio above this is treated as a bomb whatever the sizes */
  NOEMIE_ZIP_MAX_RATIO: bytes.default(200),
  NOEMIE_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
});
export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {}

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `  ${name}: ${i.message} (received ${JSON.stringify(env[name])})`;
    });
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
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
