import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { topicDef, type TopicName } from '../../src/bus/topics.js';
import { membershipRecordJsonSchema } from '../../src/ingest/reference/members-feed.js';
import { MEMBERSHIP_COLUMNS, MEMBERSHIP_EVENT_TYPES } from '../../src/model/membership.js';

/**
 * The membership feed's published schemas, generated from the zod schemas the code validates with:
 *   UPDATE_SCHEMAS=1 npx vitest run test/pipeline/membership-schemas.int.test.ts
 * schemas/members.schema.json: one record of a `members*.json` / `members*.csv` file (formats.md
 * §3 columns plus the event's); schemas/topics/members.schema.json, members-changelog.schema.json
 * and reliquidations.schema.json: the topic values.
 */
const SCHEMAS = join(import.meta.dirname, '../../schemas');
const HOW = 'do not edit (test/pipeline/membership-schemas.int.test.ts compares; UPDATE_SCHEMAS=1 rewrites)';

function recordDocument(): unknown {
  const { description: _d, ...body } = z.toJSONSchema(membershipRecordJsonSchema(), { io: 'input' }) as { description?: string; [k: string]: unknown };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'members.schema.json',
    title: 'Membership feed record — members*.json (an array of these, or {"events": [...]}) and members*.csv (one row each)',
    description: `GENERATED from src/model/membership.ts and src/ingest/reference/members-feed.ts, ${HOW}. One dated change of the member base: the columns of beneficiaries.csv (formats.md §3) plus event_id (default: a hash of the record), event_type (${MEMBERSHIP_EVENT_TYPES.join(', ')}), effective_date (the FIRST day the change is in force; an affiliation_end may leave it empty and give request_date: one month after the request) and request_date. CSV: ';' separated, UTF-8, header naming at least event_type and adherent_id (others may be left out), cells as in beneficiaries.csv (contracts and suspended '|'-separated, periods from..to, noemie Y/N), an empty cell is an absent value. JSON: native types. Which fields each type needs: README "Members". iban/bic checked with ibantools (ISO 13616 mod-97 and country format; ISO 9362).`,
    'x-columns': [...MEMBERSHIP_COLUMNS],
    ...body,
  };
}

function topicDocument(t: TopicName): unknown {
  const { description, title, ...body } = z.toJSONSchema(topicDef(t).schema, { io: 'output' }) as { description?: string; title?: string; [k: string]: unknown };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${t}.schema.json`,
    title: `${t}: ${title ?? 'message value'}`,
    description: `GENERATED from src/bus/topics.ts, ${HOW}. Value of topic ${t}, keyed by ${topicDef(t).key}. ${description ?? ''}`.trim(),
    ...body,
  };
}

const FILES: [string, () => unknown][] = [
  ['members.schema.json', recordDocument],
  ['topics/members.schema.json', () => topicDocument('members')],
  ['topics/members-changelog.schema.json', () => topicDocument('members-changelog')],
];

describe('membership schemas', () => {
  it.each(FILES)('schemas/%s matches the code', async (file, make) => {
    const expected = `${JSON.stringify(make(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(join(SCHEMAS, file), expected);
    expect(await readFile(join(SCHEMAS, file), 'utf8')).toBe(expected);
  });

  it('the published record schema accepts a family_created record and refuses an unknown event type', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(await readFile(join(SCHEMAS, 'members.schema.json'), 'utf8')));
    const record = { event_type: 'family_created', effective_date: '2024-01-01', adherent_id: 'ADH1', nir: '1870459280378', nir_key: '27', rang: 1, birth_date: '1987-04-20', role: 'A', contracts: ['CCN-HLA-BASE'], name: 'X' };
    expect(validate(record)).toBe(true);
    expect(validate({ ...record, event_type: 'moved_house' })).toBe(false);
    expect(validate({ ...record, adherentId: 'camelCase is not a file field' })).toBe(false);
  });

  it('the published members-changelog schema accepts a family history and refuses one without events', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(await readFile(join(SCHEMAS, 'topics/members-changelog.schema.json'), 'utf8')));
    const event = { eventId: 'e1', eventType: 'family_created', effectiveDate: '2024-01-01', adherentId: 'ADH1', nir: '1870459280378', nirKey: '27', rang: 1, birthDate: '1987-04-20', role: 'A', contracts: ['CCN-HLA-BASE'], name: 'X' };
    const value = { adherentId: 'ADH1', events: [{ seq: 0, appliedAt: '2026-06-15T08:00:00.000Z', event }] };
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...value, events: [] })).toBe(false);
    expect(validate({ ...value, events: [{ ...value.events[0], seq: -1 }] })).toBe(false);
  });
});
