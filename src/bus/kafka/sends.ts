import type { Message } from 'kafkajs';
import { CallGroups } from './call-groups.js';

/** One produce call's messages for one Kafka topic. */
export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/**
 * Above this many value + key characters (≈ bytes: the bus writes JSON, mostly ASCII), the calls
 * still waiting go in the next send: a request stays well under a broker's limits
 * (message.max.bytes, 1 MiB by default, bounds a partition's record batch) however many callers
 * waited. One call larger than this still goes, alone, as it did before it was grouped.
 */
export const SEND_CHARS = 1024 * 1024;

/** Produce calls grouped into one `sendBatch` while another is in flight (call-groups.ts). */
export function sendGroups(sendBatch: (topicMessages: TopicMessages[]) => Promise<unknown>): CallGroups<TopicMessages> {
  return new CallGroups<TopicMessages>((calls) => sendBatch(byTopic(calls)), upTo(SEND_CHARS));
}

function upTo(limit: number): (waiting: readonly TopicMessages[]) => number {
  return (waiting) => {
    let n = 0;
    let chars = 0;
    for (const call of waiting) {
      let size = 0;
      for (const m of call.messages) size += sizeOf(m.value) + sizeOf(m.key);
      if (n > 0 && chars + size > limit) break;
      chars += size;
      n += 1;
    }
    return n;
  };
}

/** The calls' messages per topic, in call order (kafkajs would merge them too, copying arrays per call). */
function byTopic(calls: readonly TopicMessages[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const call of calls) {
    const list = topics.get(call.topic);
    if (list === undefined) topics.set(call.topic, call.messages.slice());
    else for (const m of call.messages) list.push(m);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

function sizeOf(v: Message['value'] | Message['key']): number {
  return v === null || v === undefined ? 0 : v.length;
}
