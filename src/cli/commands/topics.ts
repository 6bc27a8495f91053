import { resolve } from 'node:path';
import { readEnv } from '../../config.js';
import { cliKafkaOptions } from '../kafka.js';
import { openBus } from '../../bus/index.js';
import { TOPIC_NAMES, topicDef } from '../../bus/topics.js';
import { PIPELINE_GROUPS } from '../../pipeline/groups.js';
import { membershipGroupOfHome } from '../../pipeline/membership-consumer.js';
import { parseFlags, writeLine, type Command } from '../command.js';
import { jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie topics`: per topic, its partitions and end offsets, then the lag of every consumer group
 * of the pipeline (src/pipeline/groups.ts). The embedded bus is opened read-only, so it works while the pipeline runs.
 */
const USAGE = `noemie topics [--kafka <brokers>] [--home <dir>] [--json]

  --kafka <brokers>  host:port[,host:port] (default KAFKA_BROKERS; unset: the embedded bus in <home>/bus)
  --home <dir>       NOEMIE_HOME (default var)
${jsonUsage('topics')}

Groups: liquidation, reconcile, payments, statements (committed offset, end, lag per partition).
With --kafka, a broker that cannot be reached fails in seconds with BUS_BROKER and the address.`;

const FLAGS = { kafka: { type: 'string' }, home: { type: 'string' }, json: { type: 'boolean' } } as const;

export const command: Command = {
  name: 'topics',
  summary: 'list topics (partitions, end offsets) and the lag of every consumer group',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, FLAGS, false);
    const env = readEnv();
    const brokers = values.kafka ?? env.KAFKA_BROKERS;
    const bus = await openBus({ home: resolve(values.home ?? env.NOEMIE_HOME), readOnly: true, ...(brokers ? { kafka: cliKafkaOptions(env, brokers) } : {}) });
    try {
      const topics = [];
      for (const name of TOPIC_NAMES) topics.push({ topic: name, key: topicDef(name).key, partitions: await bus.endOffsets(name) });
      const groups = [];
      for (const { group, topics: consumed, stage } of PIPELINE_GROUPS) groups.push({ group, stage, lag: await bus.lag(group, consumed) });
      // the membership consumer's group is the home's own (membershipGroupOf)
      const members = membershipGroupOfHome(values.home ?? env.NOEMIE_HOME);
      groups.push({ group: members, stage: 'membership store (noemie run, the service)', lag: await bus.lag(members, ['members']) });
      if (values.json) {
        writeJson(io, 'topics', { bus: bus.kind, topics, groups });
        return 0;
      }
      writeLine(io.out, `bus: ${bus.kind}`);
      for (const t of topics) {
        const total = t.partitions.reduce((s, p) => s + (p.high - p.low), 0);
        writeLine(io.out, `${t.topic.padEnd(20)} ${String(total).padStart(9)} messages  end offsets ${t.partitions.map((p) => `${p.partition}:${p.high}`).join(' ')}`);
      }
      for (const g of groups) {
        writeLine(io.out, `group ${g.group} (${g.stage}): lag ${g.lag.reduce((s, l) => s + l.lag, 0)}`);
        for (const l of g.lag) writeLine(io.out, `  ${l.topic}[${l.partition}] committed ${l.committed ?? '-'} end ${l.end} lag ${l.lag}`);
      }
      return 0;
    } finally {
      await bus.close();
    }
  },
};
