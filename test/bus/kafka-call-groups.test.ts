import type { Admin, Kafka, Producer, ProducerBatch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { CallGroups } from '../../src/bus/kafka/call-groups.js';
import { commitGroups, type Offsets } from '../../src/bus/kafka/commits.js';
import { KafkaBus, type KafkaBusOptions } from '../../src/bus/kafka/kafka-bus.js';
import { SEND_CHARS, sendGroups } from '../../src/bus/kafka/sends.js';
import { lineMessage, NIRS } from './fixtures.js';

/** A request kafkajs would send, held until the test lets it answer. */
function gate<T>(): { calls: T[]; answer: (error?: Error) => void; run: (item: T) => Promise<void> } {
  const calls: T[] = [];
  const pending: ((e?: Error) => void)[] = [];
  return {
    calls,
    answer: (error) => pending.shift()!(error),
    run: (item) => {
      calls.push(item);
      return new Promise<void>((resolve, reject) => pending.push((e) => (e ? reject(e) : resolve())));
    },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('kafka bus: calls made while one is in flight go together (call-groups.ts)', () => {
  it('the first call goes at once; those made meanwhile go in ONE next call, in the order made; each resolves with its group only', async () => {
    const g = gate<number[]>();
    const groups = new CallGroups<number>((items) => g.run(items));
    const settled: number[] = [];
    const push = (n: number) => groups.push(n).then(() => void settled.push(n));
    const all = [push(1), push(2), push(3)];
    await tick();
    expect(g.calls).toEqual([[1]]);
    const four = push(4);
    g.answer();
    await tick();
    expect(settled).toEqual([1]);
    expect(g.calls).toEqual([[1], [2, 3, 4]]);
    g.answer();
    await Promise.all([...all, four]);
    expect(settled).toEqual([1, 2, 3, 4]);
  });

  it('a failed group rejects every call it carried and none other; the next group still goes', async () => {
    const g = gate<string[]>();
    const groups = new CallGroups<string>((items) => g.run(items));
    const a = groups.push('a');
    const b = groups.push('b');
    const c = groups.push('c');
    await tick();
    g.answer();
    await a;
    g.answer(new Error('broker gone'));
    await expect(b).rejects.toThrow('broker gone');
    await expect(c).rejects.toThrow('broker gone');
    const d = groups.push('d');
    await tick();
    expect(g.calls).toEqual([['a'], ['b', 'c'], ['d']]);
    g.answer();
    await d;
  });

  it('sends: one sendBatch per group, messages per topic in call order; past SEND_CHARS the rest waits for the next send', async () => {
    const g = gate<{ topic: string; messages: { key: string; value: string }[] }[]>();
    const sends = sendGroups((topicMessages) => g.run(topicMessages as never));
    const msg = (key: string, chars = 10) => ({ key, value: 'v'.repeat(chars) });
    const first = sends.push({ topic: 't1', messages: [msg('a')] });
    const waiting = [
      sends.push({ topic: 't1', messages: [msg('b'), msg('c')] }),
      sends.push({ topic: 't2', messages: [msg('d')] }),
      sends.push({ topic: 't1', messages: [msg('e')] }),
      sends.push({ topic: 't1', messages: [msg('big', SEND_CHARS)] }),
    ];
    await tick();
    g.answer();
    await first;
    await tick();
    const keys = (call: (typeof g.calls)[number]) => call.map((t) => [t.topic, t.messages.map((m) => m.key)]);
    expect(keys(g.calls[1]!)).toEqual([['t1', ['b', 'c', 'e']], ['t2', ['d']]]);
    g.answer();
    await tick();
    expect(keys(g.calls[2]!)).toEqual([['t1', ['big']]]);
    g.answer();
    await Promise.all(waiting);
  });

  it('commits: batches of one generation in one OffsetCommit through the first one\'s commit; another generation waits for its own', async () => {
    const g = gate<Offsets>();
    const used: string[] = [];
    const commitOf = (name: string) => (offsets: Offsets) => (used.push(name), g.run(offsets));
    const commits = commitGroups();
    const first = commits.push({ generation: 1, commit: commitOf('a'), topic: 't', partition: 0, offset: '10' });
    const rest = [
      commits.push({ generation: 1, commit: commitOf('b'), topic: 't', partition: 1, offset: '5' }),
      commits.push({ generation: 1, commit: commitOf('c'), topic: 'u', partition: 1, offset: '7' }),
      commits.push({ generation: 2, commit: commitOf('d'), topic: 't', partition: 1, offset: '6' }),
    ];
    await tick();
    g.answer();
    await first;
    await tick();
    expect(g.calls[1]).toEqual({ topics: [{ topic: 't', partitions: [{ partition: 1, offset: '5' }] }, { topic: 'u', partitions: [{ partition: 1, offset: '7' }] }] });
    g.answer();
    await tick();
    expect(g.calls[2]).toEqual({ topics: [{ topic: 't', partitions: [{ partition: 1, offset: '6' }] }] });
    expect(used).toEqual(['a', 'b', 'd']);
    g.answer();
    await Promise.all(rest);
  });

  it('the Kafka bus: produce calls made while a send is in flight share the next sendBatch, and each resolves once it went', async () => {
    const sent: ProducerBatch[] = [];
    let release!: () => void;
    const producer = {
      sendBatch: (r: ProducerBatch) => {
        sent.push(r);
        return sent.length === 1 ? new Promise<void>((res) => (release = res)) : Promise.resolve();
      },
      disconnect: async () => undefined,
    } as unknown as Producer;
    const options: KafkaBusOptions = { brokers: [], clientId: 'noemie-test', ssl: false, sessionTimeout: 3_000, topicPrefix: 'p.', compression: 'gzip' };
    const bus = new KafkaBus({} as Kafka, { disconnect: async () => undefined } as unknown as Admin, producer, options);
    let secondDone = false;
    const first = bus.produce('decompte-lines', [{ value: lineMessage(NIRS[0], 1, 1) }]);
    const second = bus.produce('decompte-lines', [{ value: lineMessage(NIRS[1], 1, 2) }]).then(() => (secondDone = true));
    const third = bus.produce('decompte-lines', [{ value: lineMessage(NIRS[2], 1, 3) }]);
    await tick();
    expect(sent).toHaveLength(1);
    expect(secondDone).toBe(false);
    release();
    await Promise.all([first, second, third]);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.topicMessages!.map((t) => [t.topic, t.messages.length])).toEqual([['p.decompte-lines', 2]]);
    for (const r of sent) expect(r).toMatchObject({ acks: -1, compression: 1 });
    await bus.close();
  });
});
