import { z } from 'zod';
import { busPartitions } from '../config.js';
import { murmur2 } from './murmur2.js';
import { beneficiaryKey, lineKeyOf } from '../model/act-line.js';
import { SettlementSchema } from '../model/settlement.js';
import { TpClaimSchema } from '../model/tp-claim.js';
import { ReconOutcomeSchema } from '../model/reconciliation.js';
import { PaymentOrderSchema } from '../model/payment.js';
import { MembersChangelogSchema, MembershipEventSchema } from '../model/membership.js';
import { CounterChangelogSchema, LineMessageSchema, RejectMessageSchema, ReliquidationRequestSchema, type Headers, type LineMessage } from './messages.js';

/**
 * The named topics, their message schema, partition count and how a message is keyed. The default
 * key of lines and settlements is the beneficiary (NIR + rang); the pipeline's producers pass the
 * ADHÉRENT explicitly instead (src/pipeline/keys.ts), because the liquidation ledgers are per
 * family and a family must live on one partition — which keeps each beneficiary in order too.
 */

/**
 * Partitions of every topic: NOEMIE_PARTITIONS (src/config.ts, default 4, which is what librdkafka's
 * mock cluster auto-creates, so kcat's test broker, the embedded bus and topics we create on a real
 * Kafka agree). Read on first use, not at load, so a bad value surfaces as a ConfigError where the
 * bus is opened (the CLI prints it), and kept for the life of the process: a key's partition must
 * not move under a running service. Changing it moves keys to other partitions; both buses refuse
 * a topic whose partition count differs (BUS_PARTITION_MISMATCH).
 */
let partitionsOfProcess: number | undefined;

export function partitionCount(): number {
  return (partitionsOfProcess ??= busPartitions());
}

export interface TopicDef<S extends z.ZodType = z.ZodType> {
  name: string;
  schema: S;
  partitions: number;
  /** cleanup.policy=compact on Kafka: only the last value per key is needed */
  compacted: boolean;
  /** retention.ms given when the pipeline creates the topic on Kafka (absent: the broker's default) */
  retentionMs?: number;
  /** what the key is, for the README and `noemie topics` */
  key: string;
  /** the key of a message given without one (undefined: none, the producer must give it) */
  keyOf?: (value: z.output<S>) => string | undefined;
  headersOf?: (value: z.output<S>) => Headers;
}

const def = <S extends z.ZodType>(d: Omit<TopicDef<S>, 'partitions' | 'compacted'> & { compacted?: boolean }): TopicDef<S> => ({
  compacted: false,
  ...d,
  get partitions() {
    return partitionCount();
  },
});

const lineHeaders = (m: LineMessage): Headers => ({ ...m.origin, lineKey: lineKeyOf(m.line) });

/**
 * Retention of `members` when the pipeline creates it on Kafka: 30 days. Every home's store keeps
 * the history and writes it to the compacted `members-changelog`, so `members` only has to keep
 * events until every home has applied them: a home down (or lagging) longer than this catches up
 * from the changelog (src/pipeline/membership-changelog.ts), not from `members`.
 */
export const MEMBERS_RETENTION_MS = 30 * 24 * 3_600_000;

export const TOPICS = {
  'decompte-lines': def({
    name: 'decompte-lines',
    schema: LineMessageSchema,
    key: 'adhérent (amc_member_id), given by the producer; default NIR-rang',
    keyOf: (m) => beneficiaryKey(m.line),
    headersOf: lineHeaders,
  }),
  'invoice-lines': def({
    name: 'invoice-lines',
    schema: LineMessageSchema,
    key: 'adhérent (amc_member_id), given by the producer; default NIR-rang',
    keyOf: (m) => beneficiaryKey(m.line),
    headersOf: lineHeaders,
  }),
  rejects: def({
    name: 'rejects',
    schema: RejectMessageSchema,
    key: 'source file (a rejected record may have no valid NIR)',
    keyOf: (r) => r.origin.file,
    headersOf: (r) => ({ ...r.origin }),
  }),
  settlements: def({
    name: 'settlements',
    schema: SettlementSchema,
    key: 'adhérent (NIR-rang when the beneficiary is unknown)',
    keyOf: (s) => s.adherentId ?? beneficiaryKey(s.beneficiary),
    headersOf: (s) => ({ lineKey: s.lineKey }),
  }),
  'counters-changelog': def({
    name: 'counters-changelog',
    schema: CounterChangelogSchema,
    key: 'adhérent for a family ledger head, adhérent#lineKey for one of its line records (src/pipeline/ledgers.ts), compacted; the value `{ value: <piece> }` (earlier builds: `{ key, value: "<piece as a JSON string>" }`, read too)',
    compacted: true,
    keyOf: (c) => c.key,
    headersOf: (c) => (c.lineKey === undefined ? {} : { lineKey: c.lineKey }),
  }),
  'tp-claims': def({
    name: 'tp-claims',
    schema: TpClaimSchema,
    key: 'beneficiary: NIR-rang (the reconciliation state is kept per beneficiary)',
    keyOf: (c) => `${c.nir}-${c.rang}`,
  }),
  reconciliation: def({
    name: 'reconciliation',
    schema: ReconOutcomeSchema,
    key: 'beneficiary: NIR-rang',
    keyOf: (o) => `${o.beneficiary.nir}-${o.beneficiary.rang}`,
    headersOf: (o) => (o.lineKey === null ? {} : { lineKey: o.lineKey }),
  }),
  /** the reconcile service's state, one record per line and per claim plus a head per beneficiary (src/reconcile/entry-codec.ts), rebuilt on start */
  'reconcile-changelog': def({
    name: 'reconcile-changelog',
    schema: CounterChangelogSchema,
    key: 'NIR-rang#L#lineKey / NIR-rang#C#tpClaimId (an entry: [3, w, tuple, undo], the last of a write with the head: [3, w, tuple, undo, seq]); on partitionFor(NIR-rang); null = removed; the value `{ value: <record> }` (before session 16: `{ key, value: "<record as a JSON string>" }`, read too). Older builds: NIR-rang, a whole ReconState',
    compacted: true,
    keyOf: (c) => c.key,
  }),
  /** re-decide a family's lines after a back-dated membership or reference change (src/pipeline/reliquidation-requests.ts) */
  reliquidations: def({
    name: 'reliquidations',
    schema: ReliquidationRequestSchema,
    key: 'adhérent (the family whose lines are re-decided), on partitionFor(adhérent) like its lines and ledger pieces',
    keyOf: (r) => r.adherentId,
  }),
  'payment-orders': def({ name: 'payment-orders', schema: PaymentOrderSchema, key: 'payee (member:<adherentId> or ps:<psId>)', keyOf: (o) => o.payee }),
  /** membership events (src/model/membership.ts): the member base as dated changes, folded into the membership store */
  members: def({
    name: 'members',
    schema: MembershipEventSchema,
    key: 'adhérent: a family\'s events in order on one partition',
    keyOf: (e) => e.adherentId,
    headersOf: () => ({}),
    // A store needs only what it has not applied yet: history lives in members-changelog.
    retentionMs: MEMBERS_RETENTION_MS,
  }),
  /** the membership store's families (their whole event history), compacted: how a new home starts without the whole `members` topic */
  'members-changelog': def({
    name: 'members-changelog',
    schema: MembersChangelogSchema,
    key: 'adhérent (the family whose history the value is), compacted',
    compacted: true,
    keyOf: (c) => c.adherentId,
    headersOf: () => ({}),
  }),
} as const;

export type TopicName = keyof typeof TOPICS;
export type MessageOf<T extends TopicName> = z.output<(typeof TOPICS)[T]['schema']>;
export const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];

export function topicDef<T extends TopicName>(name: T): TopicDef {
  return TOPICS[name] as unknown as TopicDef;
}

/**
 * Key → partition, the same function in both buses: the Java client's default partitioner
 * (toPositive(murmur2(utf8 key)) mod partitions, as kafkajs's DefaultPartitioner), with the hash
 * computed by murmur2.ts. The Kafka bus lets kafkajs partition with the real metadata; the test
 * suite checks that both put a key where this function says, and that murmur2.ts gives kafkajs's hash.
 */
export function partitionFor(key: string, partitions: number = partitionCount()): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
