import { partitionFor, type Bus } from '../bus/index.js';
import type { Settlement } from '../model/settlement.js';
import type { StatementRequest } from '../statement/index.js';

/**
 * The reference reading the statement index replaced (statement-index.ts): statements no longer
 * call it — it costs a quarter of the topic per family — but the tests and bench:statements
 * compare the index with it. The settlements a member statement needs, read from the `settlements`
 * topic outside any consumer group. Settlements are keyed by adhérent, so the whole family sits on one partition: only that
 * one is read. Only the family's lines in the period are kept, latest version of each line, so
 * memory follows the statement, not the topic.
 */
export async function settlementsForStatement(bus: Bus, request: StatementRequest): Promise<Settlement[]> {
  const latest = new Map<string, Settlement>();
  const partition = partitionFor(request.adherentId);
  const range = (await bus.endOffsets('settlements')).find((p) => p.partition === partition);
  if (!range || range.high <= range.low) return [];
  for await (const records of bus.readRange('settlements', partition, { from: range.low, to: range.high })) {
    for (const { value: s } of records) {
      if (s.adherentId !== request.adherentId || s.careDate < request.from || s.careDate > request.to) continue;
      const prev = latest.get(s.lineKey);
      if (!prev || prev.version < s.version) latest.set(s.lineKey, s);
    }
  }
  return [...latest.values()];
}
