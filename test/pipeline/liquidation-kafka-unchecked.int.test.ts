import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { prepare } from '../../src/bus/codec.js';
import type { Bus } from '../../src/bus/bus.js';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { LineMessage } from '../../src/bus/messages.js';
import type { BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { LIQUIDATION_GROUP } from '../../src/pipeline/keys.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { HAND_NIR, handLine, makeWorld, worldMembers, readTopic, type World } from './liquidation-support.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/**
 * On Kafka the liquidation consumes its lines raw (ConsumeOptions.checksRaw): the service's thread
 * reads the routing fields from kafkajs's bytes, its workers check each line (task-lines.ts
 * `checkedLine`). A line written to the topic by another producer (kafkajs here, past the bus's
 * checks) that fails the topic schema, or whose bytes or line-key header say other than its line,
 * must end the service with BUS_INVALID_MESSAGE before anything of its batch is written or committed
 * — as when the consuming thread checked it.
 */
const broker = useTestBroker();

describe('kafka: liquidation lines nobody checked', () => {
  let world: World;
  let beneficiaries: BeneficiaryIndex;
  let members: { close: () => Promise<void> } | undefined;
  beforeAll(async () => {
    world = await makeWorld(20, 0);
    const store = await worldMembers(world);
    members = store;
    beneficiaries = store.index;
  }, 60_000);
  afterAll(async () => {
    await members?.close();
    await rm(world.dir, { recursive: true, force: true });
  });

  const good = (lineNo: number): LineMessage => ({ line: { ...handLine(), lineNo }, origin: { file: 'd.csv', record: lineNo }, recordId: `0123456789abcdef:1:${lineNo}` });
  /** the wire form the bus would write for `value` (key, JSON, headers), then `edit`ed */
  const wire = (value: LineMessage, edit: (m: { key: string; value: string; headers: Record<string, string> }) => void = () => undefined) => {
    const [p] = prepare('decompte-lines', [{ value }]);
    const m = { key: p!.key, value: p!.value as string, headers: { ...p!.headers } };
    edit(m);
    return m;
  };

  const cases: [string, (m: { key: string; value: string; headers: Record<string, string> }) => void, RegExp][] = [
    ['fails the topic schema', (m) => void (m.value = m.value.replace('"record":2', '"record":0')), /does not match the topic schema/],
    ['has a line-key header that is not its line key', (m) => void (m.headers['line-key'] = 'noemie-011751001:HAND0001:99'), /not what its bytes or its line-key header said/],
    ['names another NIR first (the byte scan reads the first, JSON the last)', (m) => void (m.value = m.value.replace('"line":{', `"line":{"nir":"2${HAND_NIR.slice(1)}",`)), /not what its bytes or its line-key header said/],
  ];

  /** `messages` written to decompte-lines of new topics by a plain kafkajs producer (past the bus's checks), then `run` with a bus on those topics */
  async function withLinesWritten(messages: ReturnType<typeof wire>[], run: (bus: Bus) => Promise<void>): Promise<void> {
    const prefix = `p${randomUUID().slice(0, 8)}.`;
    const bus = await openKafkaBus(testBusOptions(broker, prefix, 'noemie-pipeline-test'));
    const kafka = new Kafka({ clientId: 'unchecked-test', brokers: broker.brokers(), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic: `${prefix}decompte-lines`, acks: -1, messages });
      await run(bus);
    } finally {
      await producer.disconnect();
      await bus.close();
    }
  }

  for (const [what, edit, error] of cases) {
    it(`a line that ${what} ends the service: nothing of its batch written or committed`, async () => {
      // a good line, then the bad one, same key (same partition): one batch
      await withLinesWritten([wire(good(1)), wire(good(2), edit)], async (bus) => {
        const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference });
        await expect(service.done).rejects.toThrow(error);
        await service.stop();
        expect(await readTopic(bus, 'settlements')).toEqual([]);
        expect(await readTopic(bus, 'counters-changelog')).toEqual([]);
        expect((await bus.committedOffsets(LIQUIDATION_GROUP, 'decompte-lines')).filter((o) => o.offset !== null)).toEqual([]);
      });
    });
  }

  it('the same two lines, unedited, are liquidated and committed (the check refuses only the bad)', async () => {
    await withLinesWritten([wire(good(1)), wire(good(2))], async (bus) => {
      const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference });
      for (let i = 0; i < 600; i++) {
        if ((await bus.committedOffsets(LIQUIDATION_GROUP, 'decompte-lines')).some((o) => o.offset === 2)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await service.stop();
      expect((await readTopic(bus, 'settlements')).map((r) => r.headers.lineKey)).toEqual(['noemie-011751001:HAND0001:1', 'noemie-011751001:HAND0001:2']);
      expect((await bus.committedOffsets(LIQUIDATION_GROUP, 'decompte-lines')).filter((o) => o.offset !== null).map((o) => o.offset)).toEqual([2]);
    });
  });
});
