import type { Bus, GroupLag } from '../bus/bus.js';
import type { TopicName } from '../bus/topics.js';

/**
 * What GET /readyz answers (and what GET /metrics reads the lag from): the bus answers, and every
 * stage's consumer is running. "Running" is the stage's subscription not ended (its `done` not
 * settled): a consumer the bus stopped (a handler failure, BUS_BROKER) makes the service not ready.
 */
export interface StageConsumer {
  stage: string;
  group: string;
  topics: readonly TopicName[];
  /** false once the stage's subscription ended (see consumerWatch) */
  running(): boolean;
}

export interface ReadinessSource {
  bus: Pick<Bus, 'kind' | 'lag'>;
  /** the consumers of the moment: a stage restarted (an admin replay) is looked up again */
  consumers(): readonly StageConsumer[];
  /** how long the bus may take to answer the lag before the service is said not ready (default 2 000 ms) */
  timeoutMs?: number;
}

export interface Readiness {
  ready: boolean;
  bus: { kind: string; reachable: boolean; error?: string };
  consumers: { stage: string; group: string; running: boolean; lag: { topic: string; partition: number; lag: number }[]; totalLag: number | null }[];
}

/** Watches a subscription's `done`: running until it settles. */
export function consumerWatch(done: Promise<unknown>): () => boolean {
  let running = true;
  done.then(
    () => (running = false),
    () => (running = false),
  );
  return () => running;
}

/**
 * Asks the bus for each consumer's lag, within the timeout. A broker that does not answer (down,
 * paused) is "not reachable": the lag calls may still be pending in kafkajs's retries, so only
 * ONE round of calls is in flight at a time (a probe every second must not pile them up).
 */
export class ReadinessProbe {
  private inFlight: Promise<{ group: string; lag: GroupLag[] }[]> | null = null;

  constructor(private readonly source: ReadinessSource) {}

  async check(): Promise<Readiness> {
    const consumers = this.source.consumers();
    const timeoutMs = this.source.timeoutMs ?? 2_000;
    this.inFlight ??= Promise.all(consumers.map(async (c) => ({ group: c.group, lag: await this.source.bus.lag(c.group, c.topics) }))).finally(() => (this.inFlight = null));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the ${this.source.bus.kind} bus did not answer within ${timeoutMs} ms`)), timeoutMs)));
    let lags: { group: string; lag: GroupLag[] }[] | null = null;
    let error: string | undefined;
    try {
      lags = await Promise.race([this.inFlight, timeout]);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(timer);
    }
    const out = consumers.map((c) => {
      const lag = (lags?.find((l) => l.group === c.group)?.lag ?? []).map((l) => ({ topic: l.topic, partition: l.partition, lag: l.lag }));
      return { stage: c.stage, group: c.group, running: c.running(), lag, totalLag: lags === null ? null : lag.reduce((n, l) => n + l.lag, 0) };
    });
    return {
      ready: lags !== null && out.every((c) => c.running),
      bus: { kind: this.source.bus.kind, reachable: lags !== null, ...(error !== undefined ? { error } : {}) },
      consumers: out,
    };
  }
}
