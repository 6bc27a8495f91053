import type { Bus } from '../bus/bus.js';
import type { ReliquidationRequest } from '../bus/messages.js';
import { partitionFor } from '../bus/topics.js';

export type { ReliquidationRequest } from '../bus/messages.js';

/**
 * Asks the liquidation service to re-decide families' past lines (README "Re-liquidation"):
 * each request goes to topic `reliquidations`, keyed by the adhérent and sent to the adhérent's
 * partition — the partition of the family's lines and ledger pieces — so the member that owns the
 * family's ledger is the one that applies it, in order with the family's other changes.
 * Resolves once the requests are durable on the bus. A request applied twice changes nothing the
 * second time (the family's watermark, and re-decisions equal to the recorded version publish
 * nothing), so a caller that is not sure it sent one may send it again.
 */
export async function requestReliquidation(bus: Bus, requests: readonly ReliquidationRequest[]): Promise<void> {
  if (requests.length === 0) return;
  await bus.produce(
    'reliquidations',
    requests.map((value) => ({ value, key: value.adherentId, partition: partitionFor(value.adherentId) })),
  );
}
