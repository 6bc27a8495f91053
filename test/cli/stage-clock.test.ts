import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { StageClock } from '../../src/cli/commands/run.js';

/**
 * `run --once` publishes the end of each stage on a diagnostics channel, for profilers loaded into
 * the process that split what they count by stage (bench/profiles/alloc-stages.mjs): by name, in
 * the order the stages end, at the moment the stage's clock stops.
 */
describe('StageClock: the stage ends on the noemie:run-stage-end channel', () => {
  const seen: unknown[] = [];
  const listen = (message: unknown) => seen.push(message);
  afterEach(() => {
    channel('noemie:run-stage-end').unsubscribe(listen);
    seen.length = 0;
  });

  it('publishes each stage as its clock stops, in order', () => {
    channel('noemie:run-stage-end').subscribe(listen);
    const clock = new StageClock();
    clock.end('ingest');
    expect(seen).toEqual(['ingest']);
    clock.end('liquidation');
    clock.end('payments');
    expect(seen).toEqual(['ingest', 'liquidation', 'payments']);
    expect(Object.keys(clock.seconds())).toEqual(seen);
  });
});
