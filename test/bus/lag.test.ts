import { describe, expect, it } from 'vitest';
import { lagOf, type CommittedOffset, type PartitionOffsets } from '../../src/bus/bus.js';

/**
 * A service produces a record's effects, then commits the record. Here one request sits on
 * `reliquidations` (end 1, committed 0); the service handles it while lag is being read: it
 * produces a handover request on the same topic (end 2), then commits the first (committed 1).
 * The fake lets that happen at the moment the committed offsets are asked for — the slowest
 * ordering for the reader. Whatever the timing, the group still has the handover ahead of it.
 */
function busWithServiceAtWork() {
  const state = { end: 1, committed: 0, handled: false };
  const reads: string[] = [];
  return {
    reads,
    endOffsets: async (): Promise<PartitionOffsets[]> => {
      reads.push('end');
      return [{ partition: 0, low: 0, high: state.end }];
    },
    committedOffsets: async (): Promise<CommittedOffset[]> => {
      reads.push('committed');
      if (!state.handled) {
        state.handled = true;
        state.end = 2; // the handover request, produced first
        state.committed = 1; // then the request it came from, committed
      }
      return [{ partition: 0, offset: state.committed }];
    },
  };
}

describe('lagOf', () => {
  it('never reports a group caught up while a record it produced before committing is unread', async () => {
    const bus = busWithServiceAtWork();
    const lag = await lagOf(bus, 'liquidation', ['reliquidations']);
    expect(lag).toEqual([{ topic: 'reliquidations', partition: 0, committed: 1, end: 2, lag: 1 }]);
    expect(bus.reads).toEqual(['committed', 'end']);
  });

  it('reads every topic\'s commits before any end offset', async () => {
    const reads: string[] = [];
    const bus = {
      endOffsets: async (topic: string) => (reads.push(`end:${topic}`), [{ partition: 0, low: 0, high: 3 }]),
      committedOffsets: async (_group: string, topic: string) => (reads.push(`committed:${topic}`), [{ partition: 0, offset: null }]),
    };
    const lag = await lagOf(bus, 'g', ['decompte-lines', 'invoice-lines']);
    expect(reads.slice(0, 2).every((r) => r.startsWith('committed:'))).toBe(true);
    expect(lag.map((l) => [l.topic, l.lag])).toEqual([['decompte-lines', 3], ['invoice-lines', 3]]);
  });
});
