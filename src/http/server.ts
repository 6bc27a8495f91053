import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import { PipelineError } from '../model/errors.js';
import { answerNotFound } from './errors.js';

/**
 * The HTTP service of `noemie run` (issue 11): fastify in the pipeline's process. Each concern is a
 * plugin (health, metrics, admin, invoices) registered in the order given; the service only binds
 * the socket, passes TLS through and closes gracefully (requests in flight finish, no new ones).
 */
export interface HttpPlugin {
  name: string;
  register: (app: FastifyInstance) => Promise<void>;
}

export interface HttpServiceOptions {
  host: string;
  /** 0: any free port (tests); the URL says which */
  port: number;
  /** PEM files: served over HTTPS with them as they are (no defaults, no generated certificate) */
  tls?: { key: string; cert: string };
  logger: Logger;
  plugins: HttpPlugin[];
}

export interface HttpService {
  /** where it listens, e.g. http://127.0.0.1:8080 */
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startHttpService(opts: HttpServiceOptions): Promise<HttpService> {
  const https = opts.tls ? { key: await readFile(opts.tls.key), cert: await readFile(opts.tls.cert) } : null;
  // fastify logs every request at info: a probe every few seconds would drown the pipeline's log
  const loggerInstance = opts.logger.child({ component: 'http' }, { level: 'warn' });
  const app = (https ? Fastify({ https, loggerInstance }) : Fastify({ loggerInstance })) as unknown as FastifyInstance;
  // On the root instance, in order: the OpenAPI plugin's onRoute hook (registered first) sees every
  // route; a plugin that needs its own parser or error handler makes its own context (invoices does).
  for (const plugin of opts.plugins) await plugin.register(app);
  answerNotFound(app);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    await app.close();
    const why = (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is in use' : (e as Error).message;
    throw new PipelineError('HTTP_LISTEN', `the HTTP service cannot listen on ${opts.host}:${opts.port}: ${why} (choose another with --http-port or NOEMIE_HTTP_PORT, or --no-http)`, { host: opts.host, port: opts.port }, { cause: e });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  // an IPv6 literal needs brackets in a URL
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `${https ? 'https' : 'http'}://${host}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    app,
    close: () => (closing ??= app.close()),
  };
}
