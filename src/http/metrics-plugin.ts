import type { HttpPlugin } from './server.js';
import type { ReadinessProbe } from './readiness.js';
import { metricsRegistry, setConsumerLag } from './metrics.js';

/**
 * GET /metrics in the Prometheus text exposition format (src/http/metrics.ts lists the metrics).
 * The consumer lag is read from the bus at scrape time; when the bus does not answer, the lag
 * gauges are left out of that scrape rather than shown stale.
 */
export function metricsPlugin(probe: ReadinessProbe): HttpPlugin {
  return {
    name: 'metrics',
    async register(app) {
      app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format 0.0.4)', tags: ['ops'], produces: ['text/plain'], response: { 200: { type: 'string' } } } }, async (_request, reply) => {
        const r = await probe.check();
        setConsumerLag(r.bus.reachable ? r.consumers : []);
        const text = await metricsRegistry.metrics();
        return reply.type(metricsRegistry.contentType).send(text);
      });
    },
  };
}
