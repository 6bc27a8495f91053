import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { prepare } from '../../src/bus/codec.js';
import { WIRE_HEADERS } from '../../src/bus/messages.js';
import { TOPIC_NAMES, topicDef, type TopicName } from '../../src/bus/topics.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * schemas/topics/*.schema.json are generated from the zod schemas the bus validates with (same
 * habit as test/engine and test/reconcile). After changing one:
 *   UPDATE_SCHEMAS=1 npx vitest run test/bus/topic-schemas.int.test.ts
 * Other topics' files are generated next to the code that owns them (tp-claims, reconciliation,
 * payment-orders: test/reconcile/schemas.int.test.ts; reconcile-changelog: test/pipeline); the
 * last test checks every topic has one.
 */
const DIR = join(import.meta.dirname, '../../schemas/topics');
const MINE: readonly TopicName[] = ['decompte-lines', 'invoice-lines', 'rejects', 'settlements', 'counters-changelog', 'reliquidations'];
const HOW = 'do not edit (test/bus/topic-schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites)';

function valueDocument(t: TopicName): unknown {
  const { description, title, ...body } = z.toJSONSchema(topicDef(t).schema, { io: 'output' }) as { description?: string; title?: string; [k: string]: unknown };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${t}.schema.json`,
    title: `${t}: ${title ?? 'message value'}`,
    description: `GENERATED from src/bus/topics.ts, ${HOW}. Value of topic ${t}, keyed by ${topicDef(t).key}. ${description ?? ''}`.trim(),
    ...body,
  };
}

function envelopeDocument(): unknown {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'envelope.schema.json',
    title: 'Bus message envelope',
    description: `GENERATED from src/bus/topics.ts and src/bus/messages.ts, ${HOW}. A message on a pipeline topic, the same on Kafka and on the embedded bus. Key and header values are UTF-8 strings; the value is JSON, described per topic in x-topics. The embedded bus stores one message per line of <bus>/<topic>/<partition>.log as {"o": offset, "t": timestamp ms, "k": key, "h": headers, "v": value}.`,
    type: 'object',
    properties: {
      key: { type: 'string', description: 'partition = (murmur2(utf8 key) & 0x7fffffff) mod partitions: the Kafka Java client / kafkajs DefaultPartitioner; partitions = NOEMIE_PARTITIONS, the same for every topic (x-topics shows the default, 4)' },
      headers: {
        type: 'object',
        properties: {
          [WIRE_HEADERS.file]: { type: 'string', minLength: 1, description: 'source drop file as received' },
          [WIRE_HEADERS.entry]: { type: 'string', minLength: 1, description: 'entry inside a ZIP drop' },
          [WIRE_HEADERS.record]: { type: 'string', pattern: '^[1-9][0-9]*$', description: '1-based record number in the file or entry' },
          [WIRE_HEADERS.lineKey]: { type: 'string', minLength: 1, description: 'source:decompte_id:line_no, stable across replays' },
        },
        additionalProperties: false,
      },
      value: {},
    },
    required: ['key', 'headers', 'value'],
    additionalProperties: false,
    'x-topics': Object.fromEntries(
      TOPIC_NAMES.map((t) => [t, { value: `${t}.schema.json`, key: topicDef(t).key, partitions: topicDef(t).partitions, compacted: topicDef(t).compacted, ...(topicDef(t).retentionMs !== undefined ? { retentionMs: topicDef(t).retentionMs } : {}) }]),
    ),
  };
}

const FILES: [string, () => unknown][] = [['envelope.schema.json', envelopeDocument], ...MINE.map((t): [string, () => unknown] => [`${t}.schema.json`, () => valueDocument(t)])];

describe('topic schemas', () => {
  it.each(FILES)('schemas/topics/%s matches the code', async (file, make) => {
    const expected = `${JSON.stringify(make(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(join(DIR, file), expected);
    expect(await readFile(join(DIR, file), 'utf8')).toBe(expected);
  });

  it('every topic has a published value schema', async () => {
    for (const t of TOPIC_NAMES) await expect(readFile(join(DIR, `${t}.schema.json`), 'utf8')).resolves.toContain('"$schema"');
  });

  it('real messages, as the bus writes them, validate against the published schemas', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const load = async (f: string) => ajv.compile(JSON.parse(await readFile(join(DIR, f), 'utf8')));
    const envelope = await load('envelope.schema.json');
    const lines = await load('decompte-lines.schema.json');
    const changelog = await load('counters-changelog.schema.json');

    const [m] = prepare('decompte-lines', [{ value: lineMessage(NIRS[1], 1, 3) }]);
    const wire = { key: m!.key, headers: m!.headers, value: JSON.parse(m!.value) as unknown };
    expect(envelope(wire), JSON.stringify(envelope.errors)).toBe(true);
    expect(lines(wire.value), JSON.stringify(lines.errors)).toBe(true);
    const [c] = prepare('counters-changelog', [{ value: { key: '2900175987654-1:optique:2025', value: '1', lineKey: 'noemie-011751234:D0001:3', version: 1 } }]);
    expect(changelog(JSON.parse(c!.value)), JSON.stringify(changelog.errors)).toBe(true);

    // And the schemas have teeth: an amount with one decimal and a header with a record of 0 fail.
    expect(lines({ ...(wire.value as object), line: { ...(wire.value as { line: object }).line, expense: '30.5' } })).toBe(false);
    expect(envelope({ ...wire, headers: { record: '0' } })).toBe(false);
  });
});
