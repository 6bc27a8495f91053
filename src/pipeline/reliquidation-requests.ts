import { partitionFor, type Bus } from '../bus/index.js';
import type { ReliquidationRequest } from '../model/reliquidation.js';

export type { ReliquidationRequest } from '../model/reliquidation.js';

/**
 * Asks for re-liquidations (contract s4 §3): one message per request on `reliquidations`, keyed by
 * adhérent and sent to the family's partition, so a family's requests and lines share a partition.
 * Minimal version for the membership store's needs; the re-liquidation helper's version replaces it.
 */
export async function requestReliquidation(bus: Bus, requests: ReliquidationRequest[]): Promise<void> {
  if (requests.length === 0) return;
  await bus.produce(
    'reliquidations',
    requests.map((r) => ({ value: r, key: r.adherentId, partition: partitionFor(r.adherentId) })),
  );
}
