import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { kafkaSettings, readEnv } from '../config.js';
import { onShutdownSignals, openBus } from '../bus/index.js';
import { importPopulation } from './members-import.js';
import { startMembershipConsumer, updateMembershipStore } from './membership-consumer.js';
import { MembershipStore } from './membership-store.js';
import { createLogger } from '../log.js';
import { LIQUIDATION_GROUP, LIQUIDATION_TOPICS } from './keys.js';
import { liquidationState } from './liquidation-settings.js';
import { LiquidationService } from './liquidation-service.js';
import { watchGridCorrections } from './grid-corrections.js';
import { ReferenceCache, isHomeSource, referencePaths, type ReferenceSource } from './reference.js';
import { PipelineError } from '../model/errors.js';
import { limitHeapGrowth } from '../heap-growth.js';

/**
 * The liquidation service alone in a process (what the crash tests kill -9, and what `noemie run`
 * may spawn):
 *   node dist/src/pipeline/service-main.js --home <dir> [--reference <dir>] [--beneficiaries <csv>] [--workers n]
 *     [--task-lines n] [--kafka brokers] [--topic-prefix p] [--exit-when-idle] [--step-delay-ms n]
 *     [--ledger-cache n] [--ledger-cache-mb n]   (family ledgers / MiB of ledger text in memory;
 *     the store is the home's state store, <home>/state/store.mdb, ledger.*)
 * Grids, nomenclature and PMSS: the files of --reference <dir> (fixed), else the home's versioned
 * reference data (a version published while it runs is used from the next batch on; a home without
 * it fails at start with REFERENCE_MISSING). Members are the home's membership store, kept by the
 * membership consumer running beside the service (a change applied while it runs is seen by the
 * next batch); `--beneficiaries` first imports that population into the home as events
 * (src/pipeline/members-import.ts).
 * Prints one JSON line per batch on stdout ({"batch":n,"lines":…,"reference":…}); SIGINT/SIGTERM finish the batch
 * in flight, commit, and exit 0. --exit-when-idle stops once the group has no lag.
 */
const { values } = parseArgs({
  options: {
    home: { type: 'string' }, reference: { type: 'string' }, beneficiaries: { type: 'string' }, workers: { type: 'string' }, 'task-lines': { type: 'string' },
    kafka: { type: 'string' }, 'topic-prefix': { type: 'string' }, 'exit-when-idle': { type: 'boolean' }, 'step-delay-ms': { type: 'string' },
    'session-timeout-ms': { type: 'string' }, 'ledger-cache': { type: 'string' }, 'ledger-cache-mb': { type: 'string' },
  },
});

// As `noemie run`: the old generation grows by half what survives a full GC, not up to ~4× (heap-growth.ts).
limitHeapGrowth();
const env = readEnv();
const logger = createLogger({ name: 'liquidation' });
const paths = referencePaths(values.reference ?? 'fixtures');
const brokers = values.kafka ?? env.KAFKA_BROKERS;
const kafka = brokers
  ? {
      ...kafkaSettings(env, brokers),
      ...(values['topic-prefix'] !== undefined ? { topicPrefix: values['topic-prefix'] } : {}),
      ...(values['session-timeout-ms'] !== undefined ? { sessionTimeout: Number(values['session-timeout-ms']) } : {}),
      // librdkafka's mock cluster answers timestamp lookups wrongly (see the bus tests)
      timestampLookup: false,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 30 },
    }
  : undefined;
const home = resolve(values.home ?? env.NOEMIE_HOME);
const reference: ReferenceSource = values.reference !== undefined ? { gridsDir: paths.gridsDir, nomenclatureFile: paths.nomenclatureFile, pmssFile: paths.pmssFile } : { home };
if (isHomeSource(reference)) {
  // before the bus is opened: a home without reference data is said plainly, not as a stack trace
  const check = new ReferenceCache(reference);
  try {
    check.currentKey();
  } catch (e) {
    if (!(e instanceof PipelineError)) throw e;
    process.stderr.write(`liquidation: [${e.code}] ${e.message}\n`);
    process.exit(1);
  } finally {
    await check.close();
  }
}
const bus = await openBus({ home, logger, ...(kafka ? { kafka } : {}) });
if (values.beneficiaries) await importPopulation(bus, resolve(values.beneficiaries));
const membership = MembershipStore.open(home);
// the members known before the first line is liquidated; then kept as events pass
await updateMembershipStore(bus, membership, { logger });
const membershipConsumer = await startMembershipConsumer({ bus, store: membership, logger });
const index = membership.index();
const cacheSize = values['ledger-cache'];
const cacheMb = values['ledger-cache-mb'];
const service = await LiquidationService.start({
  bus, beneficiaries: index, reference, logger,
  ...liquidationState(home, kafka, env, { ...(cacheSize ? { cacheSize: Number(cacheSize) } : {}), ...(cacheMb ? { cacheMb: Number(cacheMb) } : {}) }),
  workers: Number(values.workers ?? env.NOEMIE_WORKERS ?? 1),
  ...(values['task-lines'] ? { taskLines: Number(values['task-lines']) } : {}),
  ...(values['step-delay-ms'] ? { stepDelayMs: Number(values['step-delay-ms']) } : {}),
  onBatch: (s) => process.stdout.write(`${JSON.stringify({ batch: s.batches, lines: s.lines, published: s.published, redelivered: s.redelivered, reference: s.reference })}\n`),
});
// a grids version corrected in the home re-liquidates the period it corrects (README "Grid correction")
const gridWatch = isHomeSource(reference) ? watchGridCorrections({ bus, membership, busId: liquidationState(home, kafka, env).busId, logger }) : undefined;
const close = async () => {
  await gridWatch?.stop();
  await service.stop();
  await membershipConsumer.stop();
  await bus.close();
  await membership.close();
};
onShutdownSignals(close, logger);

if (values['exit-when-idle']) {
  let failed: unknown;
  service.done.catch((e: unknown) => (failed = e ?? new Error('subscription ended')));
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    if (failed !== undefined) throw failed;
    const lag = await bus.lag(LIQUIDATION_GROUP, LIQUIDATION_TOPICS);
    if (lag.every((l) => l.lag === 0)) break;
  }
  await close();
  process.stdout.write(`${JSON.stringify({ idle: true, ...service.stats })}\n`);
} else {
  await service.done;
  await close();
}
