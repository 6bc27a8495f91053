import { pino, type Logger } from 'pino';

/**
 * Personal data never reaches a log in clear: NIR and IBAN fields are redacted by path (pino
 * redaction, fast), and any NIR- or IBAN-looking digits inside message strings are masked by a
 * hook, because error messages sometimes quote a raw record.
 */
const SENSITIVE = ['nir', 'nirKey', 'nir_key', 'iban', 'bic', 'raw'];
const REDACT_PATHS = SENSITIVE.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

// 13 digits (or Corsica's 2A/2B as département), optionally followed by the 2-digit key
const NIR_LIKE = /\b[12]\d{4}(?:\d{2}|2[AB])\d{6}(\d{2})?\b/g;
const IBAN_LIKE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;

export function maskPersonalData(text: string): string {
  return text.replace(NIR_LIKE, (m) => `${m.slice(0, 1)}${'*'.repeat(m.length - 1)}`).replace(IBAN_LIKE, (m) => `${m.slice(0, 4)}****`);
}

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'noemie',
      level: options.level ?? process.env.NOEMIE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskPersonalData(a) : a)) as typeof args;
          method.apply(this, masked);
        },
      },
      serializers: {
        err: (e: Error) => ({ type: e.name, message: maskPersonalData(e.message), code: (e as { code?: string }).code, context: (e as { context?: unknown }).context }),
      },
    },
    // stderr: stdout carries the commands' own output (NDJSON, --json summaries).
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination(2),
  );
}

export type { Logger };
