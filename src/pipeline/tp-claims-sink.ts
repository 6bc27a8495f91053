import { basename } from 'node:path';
import type { Bus, OutgoingMessage } from '../bus/index.js';
import { TRUSTED } from '../bus/index.js';
import { defaultSinkBatch } from './bus-sink.js';
import { readTpClaimBatches } from '../ingest/reference/tp-claims.js';
import type { RejectedRecord } from '../model/issues.js';

/**
 * A `tp_claims*.csv` drop onto the bus: each valid claim to `tp-claims` (keyed NIR-rang, the key the
 * reconcile service keeps its state under), each bad row to `rejects` naming file, line and column.
 * Streamed in batches: memory follows the batch, not the file. A header lacking a column refuses
 * the whole file (ReferenceDataError from the reader) before anything is published.
 * Publishing the same file twice is harmless: a resent claim with identical content is no new
 * revision for the reconciliation decider.
 */
export interface TpClaimsPublished {
  file: string;
  claims: number;
  rejectedCount: number;
  /** the first KEEP_REJECTED rejects (all are on the `rejects` topic): memory stays bounded */
  rejected: RejectedRecord[];
}

const KEEP_REJECTED = 1000;


export async function publishTpClaims(bus: Bus, file: string, options: { batchSize?: number } = {}): Promise<TpClaimsPublished> {
  const size = options.batchSize ?? defaultSinkBatch(bus.kind);
  const name = basename(file);
  let claims: OutgoingMessage<'tp-claims'>[] = [];
  let rejects: OutgoingMessage<'rejects'>[] = [];
  const rejected: RejectedRecord[] = [];
  let count = 0;
  let rejectedCount = 0;
  const flush = async () => {
    // rejects first: a crash in between re-reads the file, and a reject published twice is only noise
    if (rejects.length > 0) await bus.produce('rejects', rejects);
    if (claims.length > 0) await bus.produce('tp-claims', claims, TRUSTED);
    count += claims.length;
    claims = [];
    rejects = [];
  };
  // a batch of the file's rows taken in one synchronous loop: an await a batch or a produce, not a row
  for await (const events of readTpClaimBatches(file)) for (const ev of events) {
    if (ev.kind === 'claim') {
      claims.push({ value: ev.claim, headers: { file: name, record: ev.origin.record } });
    } else {
      const origin = { file: name, record: ev.rejected.origin.record };
      rejectedCount += 1;
      if (rejected.length < KEEP_REJECTED) rejected.push({ ...ev.rejected, origin });
      rejects.push({ value: { origin, issues: ev.rejected.issues, ...(ev.rejected.raw === undefined ? {} : { raw: ev.rejected.raw }) } });
    }
    if (claims.length + rejects.length >= size) await flush();
  }
  await flush();
  return { file, claims: count, rejectedCount, rejected };
}

/** The inbox's test for a TP claims drop, shared with the inbox scanner that leaves them to us. */
export { isTpClaimsFile } from '../ingest/reference/tp-claims.js';
