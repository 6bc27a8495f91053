import type { Bus } from '../bus/index.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { Env } from '../config.js';
import type { Logger } from '../log.js';
import { adminPlugin, type AdminActions } from '../http/admin.js';
import { loadApiKeys } from '../http/auth.js';
import { healthPlugin } from '../http/health.js';
import { invoicesPlugin } from '../http/invoices/index.js';
import { openApiPlugin } from '../http/openapi.js';
import { metricsPlugin } from '../http/metrics-plugin.js';
import { ReadinessProbe, type StageConsumer } from '../http/readiness.js';
import { writeServiceFile } from '../http/service-file.js';
import { startHttpService, type HttpPlugin } from '../http/server.js';
import { UsageError } from './command.js';

/**
 * The HTTP service of `noemie run` (src/http): its flags, its plugins, and `<home>/run/service.json`
 * (where the CLI finds the service when it holds the bus).
 */
export const HTTP_FLAGS = {
  'http-port': { type: 'string' }, 'http-host': { type: 'string' }, 'no-http': { type: 'boolean' },
  'http-tls-key': { type: 'string' }, 'http-tls-cert': { type: 'string' },
} as const;

export const HTTP_USAGE = `  --http-port <n>  the HTTP service's port (default NOEMIE_HTTP_PORT, else 8080; 0: any free port)
  --http-host <h>  the address it listens on (default 127.0.0.1; 0.0.0.0 in a container)
  --http-tls-key <pem> --http-tls-cert <pem>  serve HTTPS with this key and certificate (both or neither)
  --no-http        no HTTP service
The HTTP service (README "HTTP service"): GET /healthz, GET /readyz (bus reachable, consumers
running, lag per group), GET /metrics (Prometheus), and for clients with the "admin" scope
(<home>/config/api-keys.json) POST /v1/admin/payment-runs, POST /v1/admin/replays, and finance's
/v1/admin/bank-returns, /v1/admin/approvals, /v1/admin/payment-runs/{runId}, /v1/admin/payment-facts;
for clients with the "invoices" scope the members' invoices API, POST /v1/invoices and
GET /v1/invoices/{receipt} (README "HTTP API"); GET /openapi.json describes them all. While it
runs, noemie payments run / show / returns / approve, noemie replay and the payment facts of noemie
statement on this home go through those routes (the key in NOEMIE_ADMIN_KEY). The URL it listens on is printed, and written in <home>/run/service.json.`;

type HttpFlagValues = { 'http-port'?: string; 'http-host'?: string; 'no-http'?: boolean; 'http-tls-key'?: string; 'http-tls-cert'?: string };

export interface RunHttpOptions {
  values: HttpFlagValues;
  env: Env;
  home: string;
  bus: Bus;
  logger: Logger;
  consumers: () => readonly StageConsumer[];
  actions: AdminActions;
  /** the membership store's live index: invoice lines are keyed by family as the inbox keys them */
  members: Pick<BeneficiaryIndex, 'byNirRang'>;
}

/** Checks the flags before anything is started (a usage error must not leave a bus open). */
export function httpSettings(values: HttpFlagValues, env: Env): { host: string; port: number; tls?: { key: string; cert: string } } | null {
  if (values['no-http']) return null;
  const port = values['http-port'] === undefined ? env.NOEMIE_HTTP_PORT : Number(values['http-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--http-port expects a port number 0..65535, got "${values['http-port']}"`);
  const key = values['http-tls-key'];
  const cert = values['http-tls-cert'];
  if ((key === undefined) !== (cert === undefined)) throw new UsageError('--http-tls-key and --http-tls-cert go together');
  return { host: values['http-host'] ?? '127.0.0.1', port, ...(key !== undefined && cert !== undefined ? { tls: { key, cert } } : {}) };
}

export async function startRunHttp(o: RunHttpOptions): Promise<{ url: string; close(): Promise<void> } | null> {
  const settings = httpSettings(o.values, o.env);
  if (settings === null) return null;
  const probe = new ReadinessProbe({ bus: o.bus, consumers: o.consumers });
  const keys = await loadApiKeys(o.home);
  // openApiPlugin first: it documents the routes registered after it (GET /openapi.json)
  const plugins: HttpPlugin[] = [
    openApiPlugin(),
    healthPlugin(probe),
    metricsPlugin(probe),
    adminPlugin(keys, o.actions),
    invoicesPlugin({ home: o.home, bus: o.bus, keys, members: o.members, logger: o.logger }),
  ];
  const service = await startHttpService({ ...settings, logger: o.logger, plugins });
  const removeServiceFile = await writeServiceFile(o.home, service.url);
  let closing: Promise<void> | null = null;
  return {
    url: service.url,
    close: () =>
      (closing ??= (async () => {
        await removeServiceFile();
        await service.close();
      })()),
  };
}
