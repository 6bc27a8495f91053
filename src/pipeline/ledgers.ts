import { z } from 'zod';
import type { Bus, OutgoingMessage } from '../bus/bus.js';
import type { EngineState } from '../engine/index.js';
import { PipelineStageError } from './errors.js';

/**
 * The liquidation service's state: one engine ledger per family (adhérent), persisted as a
 * snapshot per key on `counters-changelog` (compaction semantics: the last value per key is the
 * state). The snapshot travels as the changelog entry's `value` string (schemas/topics/ledger-snapshot.schema.json).
 *
 * `applied` is the watermark that makes redelivery harmless: per input topic-partition, the last
 * offset whose line is in this ledger. A line redelivered after a crash between writing the
 * snapshot and committing the input offset is at or below it, and is skipped (README
 * "Exactly-once effect").
 */
const RenewalEntrySchema = z.object({ date: z.string(), units: z.number(), lineKey: z.string() });
const LineRecordSchema = z.looseObject({ version: z.number().int().min(1), operation: z.enum(['I', 'A']), inputHash: z.string() });

export const LedgerSnapshotSchema = z
  .object({
    v: z.literal(1),
    state: z.object({
      counters: z.record(z.string(), z.string()),
      renewals: z.record(z.string(), z.array(RenewalEntrySchema)),
      lines: z.record(z.string(), z.record(z.string(), LineRecordSchema)),
    }),
    applied: z.record(z.string(), z.number().int().min(0)).meta({ description: '"<topic>:<partition>" → last input offset applied to this ledger' }),
  })
  .meta({ title: 'Family ledger snapshot', description: 'value of a counters-changelog entry keyed by adhérent: the engine ledger (EngineState) and the input watermark' });

export interface Family {
  state: EngineState;
  applied: Record<string, number>;
}

export type Families = Map<string, Family>;

export const watermarkKey = (topic: string, partition: number) => `${topic}:${partition}`;

export function encodeSnapshot(adherentId: string, family: Family, lineKey?: string): OutgoingMessage<'counters-changelog'> {
  const value = JSON.stringify({ v: 1, state: family.state, applied: family.applied });
  return { key: adherentId, value: { key: adherentId, value, ...(lineKey !== undefined ? { lineKey } : {}) } };
}

export function decodeSnapshot(text: string, where: { partition: number; offset: number }): Family {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `counters-changelog[${where.partition}]@${where.offset}: value is not JSON`, { topic: 'counters-changelog', ...where, offset: String(where.offset) }, { cause });
  }
  const parsed = LedgerSnapshotSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `counters-changelog[${where.partition}]@${where.offset}: not a ledger snapshot: ${why}`, { topic: 'counters-changelog', ...where, offset: String(where.offset) });
  }
  return { state: parsed.data.state as unknown as EngineState, applied: parsed.data.applied };
}

/**
 * Rebuilds family ledgers by reading the changelog partitions to their end (the last snapshot per
 * key wins; `value: null` deletes). Reads outside any consumer group. Holds every family unless
 * `only` names the ones wanted (replay: the families of its range); the liquidation service uses
 * the bounded LedgerStore instead (ledger-store.ts).
 */
export async function loadFamilies(bus: Bus, only?: ReadonlySet<string>): Promise<Families> {
  const families: Families = new Map();
  for (const { partition, low, high } of await bus.endOffsets('counters-changelog')) {
    if (high <= low) continue;
    for await (const batch of bus.readRange('counters-changelog', partition, { from: low, to: high })) {
      for (const r of batch) {
        if (only && !only.has(r.value.key)) continue;
        if (r.value.value === null) families.delete(r.value.key);
        else families.set(r.value.key, decodeSnapshot(r.value.value, { partition, offset: r.offset }));
      }
    }
  }
  return families;
}
