import type { Bus } from '../bus/index.js';
import type { Settlement } from '../model/settlement.js';
import type { StatementRequest } from '../statement/index.js';

/**
 * The settlements a member statement needs, read from the `settlements` topic (every partition,
 * start to end, outside any consumer group). Only the family's lines in the period are kept, and
 * only the latest version of each line, so memory follows the statement, not the topic.
 * A family's members have different NIRs, hence different partitions: all partitions are read.
 */
export async function settlementsForStatement(bus: Bus, request: StatementRequest): Promise<Settlement[]> {
  const latest = new Map<string, Settlement>();
  for (const { partition, low, high } of await bus.endOffsets('settlements')) {
    if (high <= low) continue;
    for await (const records of bus.readRange('settlements', partition, { from: low, to: high })) {
      for (const { value: s } of records) {
        if (s.adherentId !== request.adherentId || s.careDate < request.from || s.careDate > request.to) continue;
        const prev = latest.get(s.lineKey);
        if (!prev || prev.version < s.version) latest.set(s.lineKey, s);
      }
    }
  }
  return [...latest.values()];
}
