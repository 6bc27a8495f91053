import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readEnv } from '../../src/config.js';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { Bus, Subscription } from '../../src/bus/index.js';
import { createLogger } from '../../src/log.js';
import { healthPlugin } from '../../src/http/health.js';
import { ReadinessProbe, consumerWatch } from '../../src/http/readiness.js';
import { startHttpService, type HttpService } from '../../src/http/server.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';

// a consumer-group join against the mock waits ~3 s (its session timeout)
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

/**
 * GET /readyz over a real socket, on the Kafka bus: ready while the broker answers and the stage's
 * consumer runs, 503 (bus not reachable) while the broker is SIGSTOPped, ready again after SIGCONT.
 * GET /healthz stays 200 all along: the process is alive, it is the bus that is not.
 */
const broker = useTestBroker();
const external = readEnv().KAFKA_BROKERS !== undefined;

describe.skipIf(external)('readiness on the Kafka bus', () => {
  let bus: Bus | undefined;
  let sub: Subscription | undefined;
  let http: HttpService | undefined;
  afterAll(async () => {
    broker.resume();
    await http?.close();
    await sub?.stop();
    await bus?.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${http!.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as { ready: boolean; bus: { reachable: boolean; error?: string }; consumers: { stage: string; running: boolean; totalLag: number | null }[] } };
  };
  const waitFor = async (path: string, status: number, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await get(path);
      if (r.status === status || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 250));
    }
  };

  it('is false while the broker is paused and true again once it answers', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}.`;
    bus = await openKafkaBus(testBusOptions(broker, prefix, 'noemie-readyz-test'));
    sub = await bus.consume({ groupId: 'liquidation', topics: ['decompte-lines'], handler: async () => undefined });
    const running = consumerWatch(sub.done);
    const probe = new ReadinessProbe({ bus, consumers: () => [{ stage: 'liquidation', group: 'liquidation', topics: ['decompte-lines'], running }], timeoutMs: 1_500 });
    http = await startHttpService({ host: '127.0.0.1', port: 0, logger: createLogger({ level: 'silent' }), plugins: [healthPlugin(probe)] });

    const before = await waitFor('/readyz', 200, 30_000);
    expect(before.status).toBe(200);
    expect(before.body.ready).toBe(true);
    expect(before.body.bus.reachable).toBe(true);
    expect(before.body.consumers).toEqual([expect.objectContaining({ stage: 'liquidation', running: true, totalLag: 0 })]);

    await broker.pause();
    const paused = await get('/readyz');
    expect(paused.status).toBe(503);
    expect(paused.body.ready).toBe(false);
    expect(paused.body.bus.reachable).toBe(false);
    expect(paused.body.bus.error).toMatch(/did not answer within 1500 ms/);
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);

    broker.resume();
    const after = await waitFor('/readyz', 200, 60_000);
    expect(after.status).toBe(200);
    expect(after.body.ready).toBe(true);
  });
});
