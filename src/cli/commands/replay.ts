import { resolve } from 'node:path';
import { kafkaSettings, readEnv } from '../../config.js';
import { cliKafkaOptions } from '../kafka.js';
import { liquidationState } from '../../pipeline/liquidation-settings.js';
import { storeLedgers } from '../../pipeline/replay-ledgers.js';
import { openBus } from '../../bus/index.js';
import type { ReplayResult } from '../../pipeline/replay.js';
import type { ReplayRequest } from '../../http/admin.js';
import { createLogger } from '../../log.js';
import { printReplay, replayAction } from '../replay-action.js';
import { adminOrHere } from '../service-client.js';
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
  --kafka <list>  Apache Kafka (host:port,…) instead of the home's embedded bus
  --home <dir>    default NOEMIE_HOME (var/)
${jsonUsage('replay')}
  Members: the home's membership store, brought up to date with the members topic first (a dry
  run reads it as it is).
  While noemie run holds the home's embedded bus, the replay is sent to that running service's
  admin API (POST /v1/admin/replays; the key in NOEMIE_ADMIN_KEY), which runs it with its live
  members and, for a real replay, with its liquidation paused meanwhile; the output is the same.
  On Kafka, stop the liquidation service before a real replay.`;

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
    const home = resolve(values.home ?? env.NOEMIE_HOME);
    const request: ReplayRequest = {
      topic: values.topic, partition: Number(values.partition), from: values.from, ...(values.to !== undefined ? { to: values.to } : {}),
      dryRun: values['dry-run'] ?? false,
      ...(values.reference !== undefined ? { reference: resolve(values.reference) } : {}),
      ...(values.grids !== undefined ? { grids: resolve(values.grids) } : {}),
    };
    const brokers = values.kafka ?? env.KAFKA_BROKERS;
    const logger = createLogger({ name: 'replay' });
    const open = () => openBus({ home, logger, ...(brokers ? { kafka: cliKafkaOptions(env, brokers) } : {}) });
    // no service on this home: the families' ledgers from the home's ledger store, caught up first
    const { busId } = liquidationState(home, brokers ? kafkaSettings(env, brokers) : undefined, env);
    const result = await adminOrHere<ReplayResult | null>({ home, open, path: '/v1/admin/replays', request, logger }, async (bus, membership) =>
      membership === null ? null : replayAction(request, { bus, home, beneficiaries: membership.index(), ledgers: storeLedgers({ bus, home, busId, heal: !request.dryRun, logger }) }),
    );
    if (result === null) {
      writeLine(io.err, `no membership store in ${home}: every line would be an unknown beneficiary (noemie members import first)`);
      return 1;
    }
    if (values.json) writeJson(io, 'replay', result);
    else printReplay(io, result, request.dryRun);
    return 0;
  },
};
