import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Two cores on CI: integration tests start real processes, keep them from starving each other.
    maxWorkers: 2,
  },
});
