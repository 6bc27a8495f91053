import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import { logFormatSetting, type LogFormat } from './config.js';

/**
 * Personal data never reaches a log in clear: NIR and IBAN fields are redacted by path (pino
 * redaction, fast), and any NIR- or IBAN-looking digits inside message strings are masked by a
 * hook, because error messages sometimes quote a raw record.
 */
const SENSITIVE = ['nir', 'nirKey', 'nir_key', 'iban', 'bic', 'raw'];
const REDACT_PATHS = SENSITIVE.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

/**
 * NIR shape (13 characters, or 15 with the key), compact or in its usual groups
 * `s yy mm dd ccc ooo kk`: sex 1–4, 7, 8; a month 01–12 or 20–99 (unknown months, never 00 or
 * 13–19); a department of two digits or Corsica's 2A/2B. Bounded on both sides: a digit, letter,
 * or a decimal mark followed by a digit must not touch it, so "1000000000000.79 €" (an amount,
 * month 00 anyway) or "1851212345678,00" stays as it is: amounts always carry their cents.
 */
const SEP = String.raw`[ \u00a0]?`;
const NIR_BODY = String.raw`[1-478]${SEP}\d{2}${SEP}(?:0[1-9]|1[0-2]|[2-9]\d)${SEP}(?:\d{2}|2[ABab])${SEP}\d{3}${SEP}\d{3}(?:${SEP}\d{2})?`;
const NIR_LIKE = new RegExp(String.raw`(?<![\dA-Za-z]|\d[.,])${NIR_BODY}(?![\dA-Za-z]|[.,]\d)`, 'g');
/** IBAN shape: country, 2 check digits, then 11–30 letters or digits, compact or in groups of four. */
const IBAN_LIKE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]{4}){2,7}(?:[ \u00a0]?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;

export function maskPersonalData(text: string): string {
  return text.replace(IBAN_LIKE, (m) => `${m.slice(0, 4)}****`).replace(NIR_LIKE, (m) => `${m.slice(0, 1)}${'*'.repeat(m.length - 1)}`);
}

/** pino-pretty's time format: ISO 8601 in UTC with milliseconds, like the timestamps of the files and the bus. */
export const PRETTY_TIME = "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'";

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/**
 * pino-pretty, loaded only when logs go to a terminal (it is a formatting concern, not on the JSON
 * path). Optional at run time: without it (not installed) the logs stay JSON rather than the
 * command failing.
 */
function loadPretty(): PrettyFactory | null {
  try {
    const loaded = createRequire(import.meta.url)('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof loaded === 'function' ? loaded : loaded.default;
  } catch {
    return null;
  }
}

/** Pretty (human) or JSON logs: NOEMIE_LOG_FORMAT, by default pretty on a terminal only, so files and pipes get JSON. */
export function wantsPretty(destination: NodeJS.WritableStream, setting = logFormatSetting()): boolean {
  if (setting !== 'auto') return setting === 'pretty';
  return (destination as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
}

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {}): Logger {
  // stderr: stdout carries the commands' own output (NDJSON, --json summaries).
  const target = options.destination ?? process.stderr;
  const pretty = wantsPretty(target, options.format ?? logFormatSetting()) ? loadPretty() : null;
  const destination: DestinationStream = pretty
    ? // in-process and synchronous (no transport thread): a line is out before the next human line of the command
      pretty({ destination: target, sync: true, colorize: (target as { isTTY?: boolean }).isTTY === true, translateTime: PRETTY_TIME, ignore: 'pid,hostname' })
    : ((options.destination as DestinationStream | undefined) ?? pino.destination(2));
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
    destination,
  );
}

export type { Logger };
