import { randomUUID } from 'node:crypto';
import { expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { Settlement } from '../../src/model/settlement.js';
import { startStatementIndexer, StatementIndex, updateStatementIndex } from '../../src/pipeline/statement-index.js';
import { settlementsForStatement } from '../../src/pipeline/statement-source.js';
import { renderStatementText, statementData } from '../../src/statement/index.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { settlement, tempDir } from './stages-given.js';

// every consumer-group join on the mock broker waits ~3 s (its session timeout)
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/**
 * The statement index over Kafka (librdkafka's mock cluster, or KAFKA_BROKERS): the group
 * `statements` consumes each part of the settlements once, and the index gives the topic's statements.
 */
const broker = useTestBroker();

const FAMILIES = ['ADH0000001', 'ADH0000002', 'ADH0000003', 'ADH0000004', 'ADH0000005'];

/** 40 lines over 5 families; every third line replayed as version 2 (AMC 1.00 lower), every seventh annulled in version 2. */
function drop(): { first: Settlement[]; second: Settlement[] } {
  const first: Settlement[] = [];
  const second: Settlement[] = [];
  for (let n = 0; n < 40; n++) {
    const base = { lineKey: `noemie:K${n}:1`, adherentId: FAMILIES[n % 5]!, beneficiary: { nir: `2${String(n).padStart(12, '0')}`, rang: 1 }, careDate: `2025-0${1 + (n % 6)}-1${n % 10}`, payee: 'member' as const, expense: '40.00' };
    first.push(settlement({ ...base, amcAmount: `${10 + n}.00` }));
    if (n % 3 === 0) second.push(settlement({ ...base, amcAmount: `${9 + n}.00`, version: 2 }));
    else if (n % 7 === 0) second.push(settlement({ ...base, amcAmount: `${10 + n}.00`, version: 2, operation: 'A' }));
  }
  return { first, second };
}

it('Kafka: the index consumes each part once and gives the statements the topic gives', async () => {
  const { dir: home, cleanup } = await tempDir('statement-index-kafka-');
  const bus = await openKafkaBus(testBusOptions(broker, `s${randomUUID().slice(0, 8)}.`));
  const index = await StatementIndex.open(home);
  try {
    const { first, second } = drop();
    for (const part of [first, second]) {
      await bus.produce('settlements', part.map((value) => ({ value })));
      expect((await updateStatementIndex(bus, index)).consumed).toBe(part.length);
      for (const adherentId of FAMILIES) {
        const request = { adherentId, from: '2025-01-01', to: '2025-03-31' };
        const expected = renderStatementText(statementData(request, await settlementsForStatement(bus, request), []));
        expect(renderStatementText(statementData(request, await index.settlementsIn(request), []))).toBe(expected);
      }
    }
    expect((await updateStatementIndex(bus, index)).consumed).toBe(0);
  } finally {
    await index.close();
    await bus.close();
    await cleanup();
  }
}, 120_000);

it('Kafka: a statement run beside a running indexer (two members of the group) finishes, and the index misses nothing', async () => {
  const { dir: home, cleanup } = await tempDir('statement-index-kafka2-');
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const service = await openKafkaBus(testBusOptions(broker, prefix));
  const cli = await openKafkaBus(testBusOptions(broker, prefix));
  const index = await StatementIndex.open(home);
  try {
    const { first, second } = drop();
    const indexer = await startStatementIndexer({ bus: service, home, index });
    await service.produce('settlements', first.map((value) => ({ value })));
    for (let i = 0; i < 400 && indexer.stats.consumed < first.length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(indexer.stats.consumed).toBe(first.length);
    await service.produce('settlements', second.map((value) => ({ value })));
    // the CLI joins the group: the partitions are split between the two; it ends once every
    // partition is committed up to the end it saw, whichever member consumed it
    const update = await updateStatementIndex(cli, index);
    await indexer.stop();
    expect(indexer.stats.consumed + update.consumed).toBeGreaterThanOrEqual(first.length + second.length);
    for (const adherentId of FAMILIES) {
      const request = { adherentId, from: '2025-01-01', to: '2025-06-30' };
      const expected = renderStatementText(statementData(request, await settlementsForStatement(cli, request), []));
      expect(renderStatementText(statementData(request, await index.settlementsIn(request), []))).toBe(expected);
    }
  } finally {
    await index.close();
    await cli.close();
    await service.close();
    await cleanup();
  }
}, 150_000);
