import { resolve } from 'node:path';
import { readEnv } from '../../config.js';
import { cliKafkaOptions } from '../kafka.js';
import { openBus } from '../../bus/index.js';
import { MembershipStore } from '../../pipeline/membership-store.js';
import { membershipOf } from '../members.js';
import { createLogger } from '../../log.js';
import { referencePaths } from '../../pipeline/reference.js';
import { chooseReference } from '../home-reference.js';
import { replay } from '../../pipeline/replay.js';
import { UsageError, parseFlags, writeLine, type Command } from '../command.js';
import { jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie replay`: re-liquidates one partition range with the current grids and publishes what
 * changed as new versions (src/pipeline/replay.ts); `--dry-run` prints the diff only.
 */
const USAGE = `noemie replay --topic <decompte-lines|invoice-lines> --partition <p> --from <offset|ISO date> [--to <offset|ISO date>] [--dry-run] [--json]
             [--kafka <brokers>] [--home <dir>] [--reference <dir>] [--grids <dir>]

  --from / --to   first offset replayed / first offset not replayed (default: the liquidation
                  group's committed offset: lines not liquidated yet are left to the service)
  --dry-run       print per changed line old → new AMC amount and status, and totals; publish nothing
  --reference     directory holding grids/, nomenclature.csv, pmss.csv; without it grids,
                  nomenclature and PMSS are the home's versions in force (noemie reference show;
                  none: REFERENCE_MISSING)
  --grids <dir>   these grids instead (e.g. a corrected version not yet published)
${jsonUsage('replay')}
  Members: the home's membership store, brought up to date with the members topic first (a dry
  run reads it as it is).
  Stop the liquidation service first (the embedded bus refuses a second writer anyway).`;

const FLAGS = {
  topic: { type: 'string' }, partition: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
  'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, kafka: { type: 'string' }, home: { type: 'string' },
  reference: { type: 'string' }, grids: { type: 'string' },
} as const;

export const command: Command = {
  name: 'replay',
  summary: 're-liquidate a partition range with the current grids; publish only what changed (--dry-run: diff)',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, FLAGS, false);
    if (!values.topic) throw new UsageError('--topic is required');
    if (values.partition === undefined || !/^\d+$/.test(values.partition)) throw new UsageError(`--partition must be a partition number, got ${JSON.stringify(values.partition)}`);
    if (values.from === undefined) throw new UsageError('--from is required (an offset or an ISO date)');
    const env = readEnv();
    const paths = referencePaths(values.reference ?? 'fixtures');
    const home = resolve(values.home ?? env.NOEMIE_HOME);
    const files = values.reference !== undefined ? { grids: paths.gridsDir, nomenclature: paths.nomenclatureFile, pmss: paths.pmssFile } : {};
    const { data: reference } = await chooseReference(['grids', 'nomenclature', 'pmss'], { home, files: { ...files, ...(values.grids ? { grids: values.grids } : {}) } });
    const brokers = values.kafka ?? env.KAFKA_BROKERS;
    const logger = createLogger({ name: 'replay' });
    const bus = await openBus({ home, logger, ...(brokers ? { kafka: cliKafkaOptions(env, brokers) } : {}) });
    let membership: MembershipStore | null = null;
    try {
      membership = values['dry-run'] ? MembershipStore.openForReading(home) : (await membershipOf(bus, home, logger)).store;
      if (membership === null) {
        writeLine(io.err, `no membership store in ${home}: every line would be an unknown beneficiary (noemie members import first)`);
        return 1;
      }
      const index = membership.index();
      const result = await replay({
        bus, topic: values.topic, partition: Number(values.partition), from: values.from, ...(values.to !== undefined ? { to: values.to } : {}),
        dryRun: values['dry-run'] ?? false, beneficiaries: index, reference,
      });
      if (values.json) {
        writeJson(io, 'replay', result);
        return 0;
      }
      for (const d of result.changed) {
        // A version a re-liquidation produced says so: the ops person sees what the replay overrides.
        const from = d.replaces ? `v${d.version.from} (re-liquidated after ${d.replaces.type} effective ${d.replaces.effectiveDate}, event ${d.replaces.eventId})` : `v${d.version.from}`;
        writeLine(io.out, `${d.lineKey} @${d.offset}  ${from} → v${d.version.to}  AMC ${d.amc.from} → ${d.amc.to}  ${d.status.from} → ${d.status.to}`);
      }
      writeLine(io.out, `${result.topic}[${result.partition}] offsets ${result.from}..${result.to - 1}: ${result.read} read, ${result.replayed} re-liquidated, ${result.totals.lines} changed`);
      writeLine(io.out, `AMC ${result.totals.amcBefore} → ${result.totals.amcAfter} (difference ${result.totals.delta})`);
      for (const [why, n] of Object.entries(result.skipped)) writeLine(io.out, `skipped ${n}: ${why}`);
      writeLine(io.out, values['dry-run'] ? 'dry run: nothing published' : `published ${result.published.settlements} settlements, ${result.published.snapshots} ledger snapshots`);
      return 0;
    } finally {
      await bus.close();
      await membership?.close();
    }
  },
};
