import { z } from 'zod';
import type { HttpPlugin } from './server.js';
import type { ReadinessProbe } from './readiness.js';

/**
 * GET /healthz: the process answers (a liveness probe: restart me when this fails).
 * GET /readyz: the bus answers and every stage's consumer runs, with the lag per group / topic /
 * partition; 503 when not ready (a readiness probe: send me no work, page someone if it lasts).
 */
export const HealthBodySchema = z.object({ status: z.literal('ok'), pid: z.number().int(), uptimeSeconds: z.number() }).meta({ title: 'Health' });

const LagSchema = z.object({ topic: z.string(), partition: z.number().int(), lag: z.number().int() });
export const ReadinessBodySchema = z
  .object({
    ready: z.boolean(),
    bus: z.object({ kind: z.string(), reachable: z.boolean(), error: z.string().optional() }),
    consumers: z.array(
      z.object({
        stage: z.string(),
        group: z.string(),
        running: z.boolean().meta({ description: "the stage's consumer subscription has not ended" }),
        lag: z.array(LagSchema).meta({ description: 'messages not yet committed by the group, per topic and partition (empty when the bus did not answer)' }),
        totalLag: z.number().int().nullable(),
      }),
    ),
  })
  .meta({ title: 'Readiness' });

export function healthPlugin(probe: ReadinessProbe): HttpPlugin {
  return {
    name: 'health',
    async register(app) {
      app.get('/healthz', { schema: { summary: 'liveness: the process answers', tags: ['ops'], response: { 200: z.toJSONSchema(HealthBodySchema) } } }, async () => ({
        status: 'ok' as const,
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
      }));
      const readiness = z.toJSONSchema(ReadinessBodySchema);
      app.get('/readyz', { schema: { summary: 'readiness: bus reachable, stage consumers running, lag per group', tags: ['ops'], response: { 200: readiness, 503: readiness } } }, async (_request, reply) => {
        const r = await probe.check();
        return reply.code(r.ready ? 200 : 503).send(r);
      });
    },
  };
}
