import { AssignerProtocol, type Cluster } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { CoPartitionedAssigner } from '../../src/bus/kafka/co-partitioned-assigner.js';

/** The assignment kafkajs would hand each member, decoded: member → topic → partitions. */
async function assign(memberIds: string[], topics: string[], partitions: number): Promise<Map<string, Record<string, number[]>>> {
  const cluster = { findTopicPartitionMetadata: () => Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })) } as unknown as Cluster;
  const assigner = CoPartitionedAssigner({ cluster, groupId: 'g', logger: undefined as never });
  const out = await assigner.assign({ members: memberIds.map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) })), topics });
  return new Map(out.map((a) => [a.memberId, AssignerProtocol.MemberAssignment.decode(a.memberAssignment)!.assignment]));
}

describe('CoPartitionedAssigner', () => {
  it('with 3 members over 4 partitions gives partition p of both line topics to one member (round-robin would split 0 and 3)', async () => {
    const got = await assign(['m-c', 'm-a', 'm-b'], ['decompte-lines', 'invoice-lines'], 4);
    // Sorted ids m-a, m-b, m-c: p mod 3 → 0 and 3 to m-a, 1 to m-b, 2 to m-c, for each topic.
    expect(got.get('m-a')).toEqual({ 'decompte-lines': [0, 3], 'invoice-lines': [0, 3] });
    expect(got.get('m-b')).toEqual({ 'decompte-lines': [1], 'invoice-lines': [1] });
    expect(got.get('m-c')).toEqual({ 'decompte-lines': [2], 'invoice-lines': [2] });
  });

  it('assigns every partition of every topic exactly once, for 1 to 6 members', async () => {
    for (let n = 1; n <= 6; n += 1) {
      const got = await assign(Array.from({ length: n }, (_, i) => `m${i}`), ['decompte-lines', 'invoice-lines'], 4);
      for (const topic of ['decompte-lines', 'invoice-lines']) {
        const all = [...got.values()].flatMap((a) => a[topic] ?? []).sort();
        expect(all).toEqual([0, 1, 2, 3]);
      }
      for (const a of got.values()) expect(a['decompte-lines'] ?? []).toEqual(a['invoice-lines'] ?? []);
    }
  });
});
