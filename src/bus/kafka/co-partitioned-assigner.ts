import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Partition p of EVERY subscribed topic goes to the same member (members sorted by id, partition p
 * to member p mod N), as Kafka Streams co-partitions its inputs. The liquidation service reads
 * decompte-lines and invoice-lines, both keyed by adhérent, and writes a family's ledger to
 * counters-changelog partition p: one member must own p of both inputs, or two members would write
 * the same families' ledgers at once. kafkajs's RoundRobinAssigner deals all topics' partitions out
 * as one list, which splits p across members whenever N does not divide the partition count (with
 * 4 partitions and 3 members, decompte-lines[0] and invoice-lines[0] land on different members).
 */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'NoemieCoPartitioned',
  version: 0,
  async assign({ members, topics }) {
    const sorted = members.map((m) => m.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>(sorted.map((id) => [id, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const owner = assignment.get(sorted[partitionId % sorted.length]!)!;
        (owner[topic] ??= []).push(partitionId);
      }
    }
    return [...assignment].map(([memberId, topicsOf]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: topicsOf, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'NoemieCoPartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
