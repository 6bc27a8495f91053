import { afterAll, beforeAll } from 'vitest';
import { startTestBroker, type TestBroker, type TestBrokerOptions } from './kafka-mock.js';

/**
 * One test broker for the file: started before its tests, stopped after them. The object returned
 * stands for that broker (its calls reach the broker started by the hook), so a file writes
 * `const broker = useTestBroker()` once instead of its own pair of hooks.
 */
export function useTestBroker(options: TestBrokerOptions = {}): TestBroker {
  let started: TestBroker | undefined;
  beforeAll(async () => {
    started = await startTestBroker(options);
  }, 30_000);
  afterAll(async () => {
    await started?.stop();
  });
  const current = (): TestBroker => {
    if (!started) throw new Error('the test broker is not started yet: use it inside a test or a hook');
    return started;
  };
  return {
    get kind() {
      return current().kind;
    },
    brokers: () => current().brokers(),
    pid: () => current().pid(),
    pause: () => current().pause(),
    resume: () => current().resume(),
    restart: () => current().restart(),
    stop: () => current().stop(),
  };
}
