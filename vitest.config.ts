import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // One file at a time: integration files start real processes (mock Kafka brokers, pipeline
    // services, Chromium) and time-sensitive outage tests (a broker SIGSTOPped for 1.5 s) went
    // flaky when two such files shared the 2 cores. The whole suite stays around 5 minutes.
    fileParallelism: false,
    // `noemie run` starts its HTTP service on 8080 by default: tests (and their child processes, which
    // inherit this environment) take any free port, so runs side by side never collide.
    // NOEMIE_BUS_VERIFY: the values our stages produce as `trusted` are checked with zod too
    // (src/bus/codec.ts): in production they skip that pass, in tests a stage building a message its
    // topic refuses fails.
    env: { NOEMIE_HTTP_PORT: '0', NOEMIE_BUS_VERIFY: '1' },
  },
});
