import { channel } from 'node:diagnostics_channel';
import { cp, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Decimal } from 'decimal.js';
import { initiatingParty, insurerIdentity, kafkaSettings, paymentLimits, readEnv, reconSettings } from '../../config.js';
import { onShutdownSignals, openBus, type Bus } from '../../bus/index.js';
import { INCOMPLETE_GRACE_MS, incompleteTail, inboxLayout, ensureLayout, isInProgressName, processInboxOnce, watchInbox, Ledger, type InboxLayout, type InboxOutcome, type InboxOptions } from '../../ingest/inbox/index.js';
import { sha256File } from '../../ingest/ingest-drop.js';
import { EMPTY_TOTALS, dropNeedsAttention } from '../../ingest/summary.js';
import { createLogger, maskPersonalData, type Logger } from '../../log.js';
import { BusIngestSink, clearSpool } from '../../pipeline/bus-sink.js';
import { DropMarks, forgetMarks, pruneMarks } from '../../pipeline/publication-marks.js';
import { LiquidationService } from '../../pipeline/liquidation-service.js';
import { RowDecodePool } from '../../pipeline/row-decoder.js';
import { LIQUIDATION_GROUP, LIQUIDATION_TOPICS } from '../../pipeline/keys.js';
import { liquidationState } from '../../pipeline/liquidation-settings.js';
import { correctGrids, watchGridCorrections, type GridCorrectionResult, type GridCorrectionWatch } from '../../pipeline/grid-corrections.js';
import { startReconcileService, RECONCILE_GROUP, RECONCILE_TOPICS } from '../../pipeline/reconcile-service.js';
import { runPaymentStage } from '../../pipeline/payments-service.js';
import { applyInboxBankReturns, renderBankReturnReport } from '../../pipeline/bank-returns.js';
import { isTpClaimsFile, publishTpClaims } from '../../pipeline/tp-claims-sink.js';
import { waitCaughtUp, type CatchUpProgress } from '../../pipeline/catch-up.js';
import { StatementIndex, startStatementIndexer, updateStatementIndex, type StatementIndexer } from '../../pipeline/statement-index.js';
import { writeStatementPass } from '../../pipeline/statement-pass.js';
import { StateStore } from '../../state/kv-store.js';
import { UsageError, parseFlags, writeHumanLine, writeLine, type CliIo, type Command } from '../command.js';
import { referencePaths, type ReferenceSource } from '../../pipeline/reference.js';
import type { ReferenceKind } from '../../pipeline/reference-store.js';
import { chooseReference, publishSampleReference } from '../home-reference.js';
import { loadProfessionalAccounts } from './payments.js';
import { MembershipStore, membershipAccountBook } from '../../pipeline/membership-store.js';
import { membershipGroupOf, startMembershipConsumer, type MembershipConsumer } from '../../pipeline/membership-consumer.js';
import { membersIn, type MembersFileOutcome } from '../../pipeline/members-inbox.js';
import { SAMPLE_BENEFICIARIES, importPopulationFile } from '../members.js';
import { JSON_FLAG, humanIo, jsonUsage, writeJson } from '../json-output.js';
import type { CliOutput } from '../output-schemas.js';

import { AdminRequestError, type AdminActions } from '../../http/admin.js';
import { recordDropPart, recordPaymentRun } from '../../http/metrics.js';
import { consumerWatch, type StageConsumer } from '../../http/readiness.js';
import { PipelineError } from '../../model/errors.js';
import { STATEMENTS_GROUP } from '../../pipeline/statement-index.js';
import { maskedReport, paymentCutoff } from '../payment-cutoff.js';
import { replayAction } from '../replay-action.js';
import { storeLedgers } from '../../pipeline/replay-ledgers.js';
import { oneAtATime, paymentStateActions } from '../payment-state.js';
import { HTTP_FLAGS, HTTP_USAGE, httpSettings, startRunHttp } from '../run-http.js';
import { limitHeapGrowth } from '../../heap-growth.js';

const USAGE = `noemie run [--once] [--sample] [--home <dir>] [--kafka <brokers>] [--workers n] [--complete-when rename|ok]
           [--beneficiaries <csv>] [--professionals <csv>] [--reference <dir>] [--no-payments] [--stable-ms <ms>] [--json]
           [--http-port <n>] [--http-host <h>] [--http-tls-key <pem> --http-tls-cert <pem>] [--no-http]

The main job. Watches <home>/inbox and runs every stage: ingestion (drops → décompte/invoice lines,
rejects; tp_claims*.csv → TP claims; members*.csv / members*.json → membership events; the bank's
returns camt054*.xml / pain002*.xml, or any .xml whose root is a camt.054 / pain.002 message →
returned transfers due again, payees blocked until their account changes: see noemie payments
returns), liquidation (piscina pool), tiers-payant reconciliation,
then — with --once — a payment run (orders topic + pain.001) and member statements.
  --once           process what is in the inbox, run the stages to the end, print a summary, exit
  --sample         first copy the sample drop of fixtures/sample/inbox into the inbox, import the
                   sample's members (fixtures/sample/beneficiaries.csv) into the home as membership
                   events, and publish the sample's grids, nomenclature, PMSS and professionals'
                   accounts as the home's reference data in force (reruns are idempotent: drops by
                   their SHA-256, events by their id, reference data by its hash)
  --beneficiaries <csv>  import this population into the home as membership events first
                   (noemie members import); members are otherwise the home's membership store only
  --home <dir>     default NOEMIE_HOME (var/); the embedded bus lives in <home>/bus
  --kafka <list>   use Apache Kafka (host:port,…) instead of the embedded bus
  --workers <n>    liquidation worker threads (default NOEMIE_WORKERS, else 2)
  --complete-when rename|ok  when an inbox file is complete (noemie ingest --help), default rename
  --stable-ms <n>  inbox: two looks this far apart must see the same size (default 1000)
  --reference <d>  read grids/, nomenclature.csv, pmss.csv from this directory instead of the home's
                   reference data (fixed for the run: no hot reload)
  --professionals <csv>  TP payees' accounts instead of the home's version in force
  --no-payments    with --once: no payment run (the statements are still written)
${jsonUsage('run')}
                   with --once: the summary, stage by stage (with wall and CPU seconds per stage and
                   the peak RSS); the human lines go to stderr
${HTTP_USAGE}
Grids, nomenclature, PMSS and professionals' accounts are the home's reference data (noemie
reference import / show): a home without them is an error (REFERENCE_MISSING), never the sample's.
A version published while noemie run watches the inbox is used from the next liquidation batch on.
Without --once it runs until SIGINT/SIGTERM (batches in flight finish and commit); payment runs are
then the operator's cut-off: noemie payments run.

exit code (--once; the same rule as noemie ingest):
  0 every part of every drop was read (rejected records and skipped duplicates allowed),
  1 a part or a whole drop was refused (even if its other parts were read and published), a drop was
    quarantined, a bank return file was malformed (quarantined, nothing of it applied), a file could
    not be handled (left in the inbox, e.g. still being written), or a later stage failed,
  2 usage error`;

const FLAGS = {
  once: { type: 'boolean' }, sample: { type: 'boolean' }, home: { type: 'string' }, kafka: { type: 'string' },
  workers: { type: 'string' }, 'complete-when': { type: 'string' }, beneficiaries: { type: 'string' },
  professionals: { type: 'string' }, reference: { type: 'string' }, 'no-payments': { type: 'boolean' }, 'stable-ms': { type: 'string' },
  ...JSON_FLAG,
  ...HTTP_FLAGS,
} as const;

const SAMPLE_INBOX = 'fixtures/sample/inbox';
const SAMPLE_TP_CLAIMS = 'fixtures/sample/tp_claims.csv';
/** the sample's members feed of "the next day" (fixtures/sample/README.md): copied once the sample's drop was read */
const SAMPLE_FEEDS = 'fixtures/sample/feeds';
const SAMPLE_FIRST_DROP = join(SAMPLE_INBOX, 'cpam-lot-0001.zip');
/** the membership fold cache's bound once `run --once` has liquidated (≈ 1 750 families of the bench's population) */
const FOLD_CACHE_AFTER_LIQUIDATION = 4 * 1024 * 1024;

export const command: Command = {
  name: 'run',
  summary: 'the main job: watch the inbox and run every stage (embedded bus by default, Kafka with --kafka)',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, cliIo) {
    const { values } = parseFlags(argv, FLAGS, false);
    // V8 grows the old generation up to ~4× what survives a full GC when the allocation rate is
    // high; the run's live heap is a fraction of that (heap-growth.ts; bench/README.md, "Session 6
    // — memory and bytes written": 20 k lines, peak RSS ~620 → ~470 MB, CPU within the noise).
    limitHeapGrowth();
    if (values.json && !values.once) throw new UsageError('--json reports a run: it goes with --once');
    // with --json, stdout holds the summary document alone
    const io = humanIo(cliIo, values.json);
    const env = readEnv();
    const home = resolve(values.home ?? env.NOEMIE_HOME);
    const workers = Number(values.workers ?? env.NOEMIE_WORKERS ?? 2);
    if (!Number.isInteger(workers) || workers < 0) throw new UsageError(`--workers expects a whole number, got "${values.workers}"`);
    const completeWhen = values['complete-when'] ?? 'rename';
    if (completeWhen !== 'rename' && completeWhen !== 'ok') throw new UsageError(`--complete-when is rename or ok, got "${completeWhen}"`);
    // Explicit files (--reference) are fixed for the run; otherwise the home's versioned reference
    // data, which the liquidation service follows batch by batch.
    const referenceFiles = values.reference !== undefined ? referencePaths(values.reference) : undefined;
    const reference: ReferenceSource = referenceFiles ? { gridsDir: referenceFiles.gridsDir, nomenclatureFile: referenceFiles.nomenclatureFile, pmssFile: referenceFiles.pmssFile } : { home };
    const logger = createLogger({ name: 'run' });
    httpSettings(values, env); // its usage errors before anything is opened

    const layout = inboxLayout(home);
    await ensureLayout(layout);
    if (values.sample) {
      await copySampleFeedsOnDayTwo(layout, io);
      await copySample(layout.inbox, io);
      await publishSampleReference(home, io);
    }
    // Fail before the bus is opened when the home lacks what the stages will need.
    const needed: ReferenceKind[] = [
      ...(referenceFiles ? [] : (['grids', 'nomenclature', 'pmss'] as const)),
      ...(values.once && !values['no-payments'] && values.professionals === undefined ? (['professionals'] as const) : []),
    ];
    if (needed.length > 0) await chooseReference(needed, { home, files: {} });

    const kafka = values.kafka ? kafkaSettings(env, values.kafka) : undefined;
    const bus = await openBus({ home, logger, ...(kafka ? { kafka } : {}) });
    // Members: the home's membership store only (issue 10, no silent sample default), kept by its
    // consumer as events pass; the liquidation and the ingest sink read it live.
    const membership = MembershipStore.open(home);
    if (values.sample) await importPopulationFile(bus, SAMPLE_BENEFICIARIES, io, membership);
    if (values.beneficiaries) await importPopulationFile(bus, values.beneficiaries, io, membership);
    const membershipConsumer: MembershipConsumer = await startMembershipConsumer({ bus, store: membership, logger });
    // members known before the first line is decided; on a stall, the consumer is stopped (the process would stay up behind the error)
    await waitCaughtUp(bus, membershipGroupOf(membership), ['members'], env.NOEMIE_STALL_MS).catch(async (e: unknown) => {
      await membershipConsumer.stop();
      await bus.close();
      await membership.close();
      throw e;
    });
    const beneficiaries = membership.index();
    // The ledgers persist in the home, so a restart reads only the changelog's tail.
    const state = liquidationState(home, kafka, env);
    const startLiquidation = () => LiquidationService.start({ bus, beneficiaries, reference, workers, logger, ...state, ...(env.NOEMIE_STEP_DELAY_MS ? { stepDelayMs: env.NOEMIE_STEP_DELAY_MS } : {}) });
    let liquidation = await startLiquidation();
    // Reconciliation states live in the home's state store too: a restart reads only the changelog's tail.
    const reconcile = await startReconcileService({ bus, config: reconSettings(env), logger, home, busId: state.busId });
    // Ingestion staging (README "Ingest bus sink"): spools of a killed run are lines in clear of
    // parts never published (their drop is still in the inbox): removed. Publication marks of
    // drops the inbox ledger now records are no longer needed.
    const spoolDir = join(home, 'spool');
    const marksDir = join(home, 'state', 'ingest');
    await clearSpool(spoolDir);
    const inboxLedger = await Ledger.open(layout.ledger);
    await pruneMarks(marksDir, (sha256) => inboxLedger.ingestedAs(sha256) !== undefined);
    // CSV rows validated off this thread while a drop is read (row-decoder.ts); with --workers 0, here
    const rowDecoder = workers > 0 ? new RowDecodePool() : undefined;
    const inboxOptions: InboxOptions = {
      completeWhen,
      logger,
      ...(rowDecoder ? { decodeRows: rowDecoder.decode, decodeRowRuns: rowDecoder.decodeRuns } : {}),
      ...(values['stable-ms'] ? { stableMs: Number(values['stable-ms']) } : {}),
      sinkFor: async ({ sha256 }) => new BusIngestSink(bus, { spoolDir, members: beneficiaries, onUnknownPersons: (p) => membership.noteUnknownPersons(p), drop: { sha256, marks: await DropMarks.open(marksDir, sha256) } }),
    };
    let indexer: StatementIndexer | null = null;
    // A grids version corrected in the home (noemie reference import) re-liquidates the period it
    // corrects (src/pipeline/README.md "Grid correction"); with fixed --reference files, nothing changes.
    const gridCorrection = referenceFiles ? undefined : { bus, membership, busId: state.busId, logger };
    let gridWatch: GridCorrectionWatch | undefined;
    // the stages' consumers as /readyz sees them (looked up at each probe: an admin replay restarts the liquidation)
    const watches = new Map<unknown, () => boolean>();
    const watch = (stage: { done: Promise<void> }, name: string) => {
      if (!watches.has(stage)) {
        watches.set(stage, consumerWatch(stage.done));
        stage.done.catch((e: unknown) => logger.error({ err: e, stage: name }, `${name}: the stage's consumer stopped`));
      }
      return watches.get(stage)!;
    };
    const consumers = (): StageConsumer[] => [
      { stage: 'membership', group: membershipGroupOf(membership), topics: ['members'], running: watch(membershipConsumer, 'membership') },
      { stage: 'liquidation', group: LIQUIDATION_GROUP, topics: LIQUIDATION_TOPICS, running: watch(liquidation, 'liquidation') },
      { stage: 'reconciliation', group: RECONCILE_GROUP, topics: RECONCILE_TOPICS, running: watch(reconcile, 'reconciliation') },
      ...(indexer ? [{ stage: 'statements', group: STATEMENTS_GROUP, topics: ['settlements'] as const, running: watch(indexer, 'statements') }] : []),
    ];
    // the service's writers of the payment state, one at a time: admin cut-offs, bank returns and
    // approvals, and the inbox's bank return pass (a return applied while a run is being applied
    // would apply that run again: bank-returns.ts finishes an interrupted run first)
    const paymentTurn = oneAtATime();
    const actions: AdminActions = values.once
      ? onceActions(home)
      : {
          ...paymentStateActions(home, paymentTurn, env.NOEMIE_ADMIN_CRASH_AFTER),
          paymentRun: (request) =>
            asAdminRequest(() =>
              paymentTurn(async () => {
                // a cut-off pays the members' accounts as the members topic has them now
                await waitCaughtUp(bus, membershipGroupOf(membership), ['members'], 60_000);
                const run = await paymentCutoff(request, { bus, home, env, io, membership });
                if (!run.dryRun && !run.alreadyRun) recordPaymentRun({ orders: run.orderHeads, blocked: run.blocked });
                return maskedReport(run);
              }),
            ),
          replay: (request) =>
            asAdminRequest(async () => {
              if (request.dryRun) return replayAction(request, { bus, home, beneficiaries });
              // A real replay rewrites ledgers: the liquidation must not run beside it (src/pipeline/replay.ts).
              // Stopped (its batch in flight finishes), then started again: it restores the ledgers
              // the replay wrote from the changelog before its next batch.
              await liquidation.stop();
              try {
                // the liquidation stopped, its ledger store is the home's to read (caught up first)
                return await replayAction(request, { bus, home, beneficiaries, ledgers: storeLedgers({ bus, home, busId: state.busId, heal: true, logger }) });
              } finally {
                liquidation = await startLiquidation();
                consumers();
              }
            }),
        };
    consumers(); // each stage's end is logged from its start, probed or not
    const http = await startRunHttp({ values, env, home, bus, logger, consumers, actions, members: beneficiaries }).catch(async (e: unknown) => {
      // the stages are running: stopped, or the process would stay up behind the error
      await liquidation.stop();
      await reconcile.stop();
      await membershipConsumer.stop();
      await rowDecoder?.close();
      await bus.close();
      await membership.close();
      throw e;
    });
    if (http) writeLine(io.out, `http: listening on ${http.url}`);
    const stopAll = async () => {
      await gridWatch?.stop();
      await http?.close();
      await liquidation.stop();
      await reconcile.stop();
      await indexer?.stop();
      await membershipConsumer.stop();
      await rowDecoder?.close();
      await bus.close();
      await membership.close();
    };

    if (!values.once) {
      // the statement index follows the settlements as they pass (with --once, the statement stage catches it up)
      indexer = await startStatementIndexer({ bus, home, logger });
      const controller = new AbortController();
      onShutdownSignals(async () => {
        controller.abort();
        await stopAll();
      }, logger);
      if (gridCorrection) gridWatch = watchGridCorrections(gridCorrection);
      const timer = setInterval(() => void reconcile.tick(new Date().toISOString()).catch((e: unknown) => logger.error({ err: e }, 'reconcile tick failed')), 60_000);
      writeLine(io.out, `watching ${layout.inbox} (${bus.kind} bus); Ctrl-C to stop`);
      // The inbox scanner leaves TP claims files to us: look for them on our own clock too (a lone
      // claims file would otherwise wait for the next drop), one look at a time.
      let claiming: Promise<unknown> = Promise.resolve();
      const lookForClaims = () => {
        claiming = claiming
          .then(() => paymentTurn(() => bankReturnsIn(layout, io)))
          .catch((e: unknown) => logger.error({ err: e }, 'bank returns failed'))
          .then(async () => {
            for (const m of await membersIn(layout, bus, { logger })) reportMembers(io, m);
            await claimsIn(layout, bus, io);
          })
          .catch((e: unknown) => logger.error({ err: e }, 'TP claims / membership feed ingestion failed'));
        return claiming;
      };
      void lookForClaims();
      const claimsTimer = setInterval(() => void lookForClaims(), 2000);
      await watchInbox(home, async (o) => {
        if (o.sha256 && o.action !== 'failed') await forgetMarks(marksDir, o.sha256);
        await lookForClaims();
        report(io, o);
      }, { ...inboxOptions, signal: controller.signal });
      clearInterval(timer);
      clearInterval(claimsTimer);
      await claiming;
      return 0;
    }

    const started = Date.now();
    const stages = new StageClock();
    // Until the services are stopped below, an error must stop them too: the process would otherwise
    // stay up behind the error, its consumers still at work (seen at 1 M lines: the run reported the
    // failure and went on liquidating).
    const once = await (async () => {
      // before the drops: a bank file must not be read as a décompte, and the payment run below sees its returns
      const returns = await bankReturnsIn(layout, io);
      const claims = await claimsIn(layout, bus, io);
      // membership feeds first, and applied before the drops are read: lines are keyed and
      // liquidated against the members as the inbox left them
      const memberFiles = await membersIn(layout, bus, { logger });
      for (const m of memberFiles) reportMembers(io, m);
      await waitCaughtUp(bus, membershipGroupOf(membership), ['members'], env.NOEMIE_STALL_MS);
      const outcomes = await processInboxOnce(home, inboxOptions);
      for (const o of outcomes) if (o.sha256 && o.action !== 'failed') await forgetMarks(marksDir, o.sha256);
      for (const o of outcomes) report(io, o);

      const m = membershipConsumer.stats;
      const familiesInStore = membership.familyCount();
      writeLine(io.out, `members: ${m.applied} membership event(s) applied, ${m.duplicates} already applied, ${familiesInStore} families in the store; ${m.requested} re-liquidation request(s)${m.restored > 0 ? `; ${m.restored} event(s) restored from members-changelog first` : ''}`);
      if (gridCorrection) reportGridCorrections(io, await correctGrids(gridCorrection));
      stages.end('ingest');
      writeLine(io.out, 'liquidating…');
      // A stage that commits nothing for NOEMIE_STALL_MS has stalled; a slow one (a large drop, a loaded machine) is waited for, and said.
      const tell = (what: string) => ({ onProgress: (p: CatchUpProgress) => writeLine(io.out, `${what}… ${p.done} message(s) done, ${p.lag} to go (${Math.round(p.elapsedMs / 1000)} s)`) });
      await waitCaughtUp(bus, LIQUIDATION_GROUP, LIQUIDATION_TOPICS, env.NOEMIE_STALL_MS, 50, tell('liquidating'));
      stages.end('liquidation');
      // the reconcile service consumes beside the liquidation: this is what is left of it once the lines are decided
      await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, env.NOEMIE_STALL_MS, 50, tell('reconciling'));
      const exceptions = await reconcile.tick(new Date().toISOString());
      stages.end('reconciliation');
      const l = liquidation.stats;
      writeLine(io.out, `liquidation: ${l.lines} lines, ${l.published} settlements published, ${l.unchanged} unchanged, ${l.redelivered} already applied, ${l.republished} records published twice dropped`);
      const r = reconcile.stats.outcomes;
      writeLine(io.out, `reconciliation: ${Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ')}${exceptions.length ? ` (${exceptions.length} raised by this run's clock)` : ''}`);
      await liquidation.stop();
      await reconcile.stop();
      await rowDecoder?.close();
      stages.end('stopping');
      return { returns, claims, memberFiles, outcomes, m, familiesInStore, exceptions, l, r };
    })().catch(async (e: unknown) => {
      await stopAll().catch((stopError: unknown) => logger.error({ err: stopError }, 'run --once: stopping the stages after an error failed'));
      throw e;
    });
    const { returns, claims, memberFiles, outcomes, m, familiesInStore, exceptions, l, r } = once;
    // The lines are keyed and liquidated: from here each family is folded once or twice (its payees'
    // accounts, its statement), and a fold cache of the whole portfolio would only be heap held
    // through the payment run, the run's peak (bench/README.md "Session 16 — payments").
    membership.limitCache(FOLD_CACHE_AFTER_LIQUIDATION);

    // the rule of noemie ingest: a drop archived with a refused part still needs attention
    let code = outcomes.some((o) => dropNeedsAttention({ action: o.action, error: o.result?.error, totals: o.result?.totals ?? EMPTY_TOTALS })) || returns.refused > 0 ? 1 : 0;
    if (memberFiles.some((m) => m.action === 'quarantined' || m.action === 'waiting')) code = 1;
    let professionalNames: Record<string, string> = {};
    let payments: CliOutput<'run'>['payments'] = null;
    let statementsDone: CliOutput<'run'>['statements'] = null;
    try {
      if (!values['no-payments']) {
        // each family's account as of the run's day, from the membership store (a payee without one is blocked)
        const at = new Date().toISOString();
        const accounts = membershipAccountBook(membership, at.slice(0, 10), await loadProfessionalAccounts(values.professionals, io, home));
        professionalNames = Object.fromEntries(Object.entries(accounts.professionals).map(([psId, a]) => [psId, a.name]));
        const run = await runPaymentStage({ bus, home, accounts, at, logger, limits: paymentLimits(env), initiatingParty: initiatingParty(env), orderLines: false, ...(env.NOEMIE_PAYMENT_SLICE_LINES === undefined ? {} : { sliceLines: env.NOEMIE_PAYMENT_SLICE_LINES }) });
        if (!run.alreadyRun) recordPaymentRun({ orders: run.orderHeads, blocked: run.blocked, carried: run.carried.filter((c) => c.kind === undefined) });
        const total = run.orderHeads.filter((o) => o.kind === 'payment').reduce((s, o) => s.plus(o.amount), new Decimal(0));
        writeLine(io.out, `payment run ${run.runId}: ${run.orderHeads.length} orders (transfers ${total.toFixed(2)} €), ${run.blocked.length} blocked${run.carried.length > 0 ? ` (+ ${run.carried.length} blocked or held before, nothing changed for them)` : ''}, ${run.held.length} held for approval`);
        for (const h of run.held) writeLine(io.out, `  held: ${h.payee} ${h.amount} (${h.ceiling} ceiling): ${h.reason}`);
        for (const b of run.blocked) if (b.reason.includes('returned by the bank')) writeLine(io.out, `  blocked: ${b.amount} — ${b.reason}`);
        for (const f of run.sepaFiles) writeLine(io.out, `  pain.001: ${typeof f === 'string' ? f : (f as { file: string }).file}`);
        if (run.ordersFile) writeLine(io.out, `  orders:   ${run.ordersFile}`);
        for (const b of run.blocked) writeLine(io.out, `  blocked: ${b.payee} ${b.amount}: ${b.reason}`);
        // a recovery is not a transfer (no pain.001 line): say it, it is what a re-liquidation of paid care leads to
        for (const o of run.orderHeads) if (o.kind === 'recovery') writeLine(io.out, `  recovery: ${o.payee} ${o.amount} (debt carried ${o.debtAfter})`);
        if (run.reportFiles) writeLine(io.out, `  report:   ${run.reportFiles.html} (also .json, .csv)`);
        payments = {
          runId: run.runId, orders: run.orderHeads.length, transfers: total.toFixed(2),
          blocked: run.blocked.map((b) => ({ payee: b.payee, amount: b.amount, reason: b.reason })),
          carried: run.carried.map((b) => ({ payee: b.payee, amount: b.amount, reason: b.reason, since: b.since })),
          held: run.held.map((h) => ({ payee: h.payee, amount: h.amount, ceiling: h.ceiling, reason: h.reason })),
          recoveries: run.orderHeads.filter((o) => o.kind === 'recovery').map((o) => ({ payee: o.payee, amount: o.amount, debtAfter: o.debtAfter })),
          sepaFiles: run.sepaFiles.map((f) => (typeof f === 'string' ? f : (f as { file: string }).file)),
          ordersFile: run.ordersFile, reportFiles: run.reportFiles, reconciled: run.report?.reconciled ?? null,
        };
        if (run.report !== null && !run.report.reconciled) {
          // the run is made (its files are handed over); its figures must be looked at before the next
          writeLine(io.err, `payment run ${run.runId}: THE RUN DOES NOT RECONCILE to the cent with its settlements: see ${run.reportFiles?.html ?? 'its report'}`);
          code = 1;
        }
      }
      stages.end('payments');
      await membershipConsumer.stop();
      const statements = await writeStatements(bus, home, membership, referenceFiles?.nomenclatureFile, logger, professionalNames, env.NOEMIE_STATEMENT_THREADS);
      writeLine(io.out, `statements: ${statements.dir} (${statements.families} families; index: ${statements.consumed} new settlements consumed) — ${statements.pass === 'all' ? 'every family' : 'the families changed since the last run'}: ${statements.files.written} files written, ${statements.files.unchanged} unchanged`);
      statementsDone = statements;
      stages.end('statements');
    } catch (e) {
      code = 1;
      throw e;
    } finally {
      await http?.close();
      await membershipConsumer.stop();
      await bus.close();
      await membership.close();
    }
    writeLine(io.out, `stages: ${stages.describe()}`);
    writeLine(io.out, `done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${outcomes.length} drops, ${claims} TP claims; home ${home}`);
    if (values.json) {
      writeJson(cliIo, 'run', {
        home, bus: bus.kind, exitCode: code, durationMs: Date.now() - started, bankReturns: returns, tpClaims: claims,
        memberFiles: memberFiles.map((f) => ({ file: f.file, action: f.action, events: f.events, rejected: f.rejected, message: maskPersonalData(f.message) })),
        drops: outcomes.map((o) => ({ file: o.file, action: o.action, storedAs: o.storedAs ?? null, report: o.report ?? null, totals: o.result?.totals ?? null, message: maskPersonalData(o.message) })),
        members: { applied: m.applied, duplicates: m.duplicates, families: familiesInStore, reliquidationRequests: m.requested },
        liquidation: { lines: l.lines, published: l.published, unchanged: l.unchanged, redelivered: l.redelivered, republished: l.republished },
        reconciliation: { outcomes: r, exceptionsRaised: exceptions.length },
        payments,
        statements: statementsDone,
        stages: stages.json(),
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      });
    }
    return code;
  },
};

function reportGridCorrections(io: CliIo, r: GridCorrectionResult): void {
  for (const c of r.corrected) {
    const changed = Object.entries(c.changes).map(([grid, from]) => `${grid} from ${from}`).join(', ');
    writeLine(io.out, `grid correction ${c.versionId} (after ${c.previous}): ${changed || 'no past care date decided differently'}; ${c.requests} re-liquidation request(s)`);
  }
}

/**
 * The end of each stage of `run --once`, published (the stage's name) for in-process profilers that
 * split what they count by stage: bench/profiles/alloc-stages.mjs. No subscriber, no cost.
 */
export const stageEnds = channel('noemie:run-stage-end');

/**
 * Wall time of each stage of `run --once`, in the order they end (the stage begins where the
 * previous one ended). Reconciliation runs beside the liquidation: its figure is the tail left once
 * the lines are decided, plus the run's tick.
 */

export class StageClock {
  private last = performance.now();
  private lastCpu = process.cpuUsage();
  private readonly spent = new Map<string, { wall: number; cpu: number }>();

  /** `stopping`: the liquidation and reconcile services finishing their batches in flight and closing */
  end(stage: 'ingest' | 'liquidation' | 'reconciliation' | 'stopping' | 'payments' | 'statements'): void {
    const now = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const was = this.spent.get(stage) ?? { wall: 0, cpu: 0 };
    this.spent.set(stage, { wall: was.wall + (now - this.last) / 1000, cpu: was.cpu + (cpu.user + cpu.system) / 1e6 });
    this.last = now;
    this.lastCpu = process.cpuUsage();
    if (stageEnds.hasSubscribers) stageEnds.publish(stage);
  }

  /** wall seconds per stage */
  seconds(): Record<string, number> {
    return Object.fromEntries([...this.spent].map(([k, v]) => [k, Math.round(v.wall * 1000) / 1000]));
  }

  /** CPU seconds per stage, every thread of the process (the liquidation workers included): the figure on a shared machine */
  cpuSeconds(): Record<string, number> {
    return Object.fromEntries([...this.spent].map(([k, v]) => [k, Math.round(v.cpu * 1000) / 1000]));
  }

  /** per stage, for `run --once --json` */
  json(): Record<string, { seconds: number; cpuSeconds: number }> {
    const cpu = this.cpuSeconds();
    return Object.fromEntries(Object.entries(this.seconds()).map(([k, seconds]) => [k, { seconds, cpuSeconds: cpu[k]! }]));
  }

  describe(): string {
    return [...this.spent].map(([k, v]) => `${k === 'payments' ? 'payment run' : k} ${v.wall.toFixed(1)} s (CPU ${v.cpu.toFixed(1)} s)`).join(', ');
  }
}

/**
 * The sample's members feed (a résiliation back-dated into the care already paid, the arrival of
 * the person a line left in review names) is "the next day's" file: applied in the same run as the
 * drop, it would come before the lines are decided (feeds are applied first), they would simply be
 * decided under it and nothing would show a re-liquidation. So `--sample` copies it only into a
 * home that has already read the sample's drop — the second `npm start` on a home — and then once
 * (a feed seen twice is skipped by its hash).
 */
async function copySampleFeedsOnDayTwo(layout: InboxLayout, io: CliIo): Promise<void> {
  const ledger = await Ledger.open(layout.ledger);
  if (ledger.ingestedAs(await sha256File(SAMPLE_FIRST_DROP)) === undefined) return;
  const copied: string[] = [];
  for (const name of await readdir(SAMPLE_FEEDS)) {
    if (ledger.ingestedAs(await sha256File(join(SAMPLE_FEEDS, name))) !== undefined) continue;
    await cp(join(SAMPLE_FEEDS, name), join(layout.inbox, name));
    copied.push(name);
  }
  if (copied.length > 0) writeLine(io.out, `sample members feed of the next day copied into ${layout.inbox}: ${copied.join(', ')}`);
}

async function copySample(inbox: string, io: CliIo): Promise<void> {
  for (const name of await readdir(SAMPLE_INBOX)) await cp(join(SAMPLE_INBOX, name), join(inbox, name));
  await cp(SAMPLE_TP_CLAIMS, join(inbox, 'tp_claims_sample.csv'));
  writeLine(io.out, `sample drop copied into ${inbox}`);
}

/**
 * TP claim files travel through the same inbox; they go to the tp-claims topic, then to archive/,
 * and share the drops' SHA-256 ledger so a file sent twice is published once.
 */
/** TP claims files left as still being written, by mtime: said once, not at every look. */
const claimsWaiting = new Map<string, number>();

async function claimsIn(layout: InboxLayout, bus: Bus, io: CliIo): Promise<number> {
  const ledger = await Ledger.open(layout.ledger);
  let count = 0;
  const entries = await readdir(layout.inbox, { withFileTypes: true });
  for (const name of entries.filter((e) => e.isFile()).map((e) => e.name).sort()) {
    // regular files only: a link or a pipe under that name is the inbox's to refuse (never opened here)
    if (!isTpClaimsFile(name) || isInProgressName(name)) continue;
    const path = join(layout.inbox, name);
    // claims are published as they are read: a file cut mid-row (written in place) must wait (inbox/settled.ts)
    const cut = await incompleteTail(path, name);
    const mtimeMs = (await stat(path)).mtimeMs;
    if (cut !== null && Date.now() - mtimeMs < INCOMPLETE_GRACE_MS) {
      if (claimsWaiting.get(name) !== mtimeMs) writeHumanLine(io.out, `${name}: ${cut}: still being written? Left in the inbox for a later look`);
      claimsWaiting.set(name, mtimeMs);
      continue;
    }
    claimsWaiting.delete(name);
    const sha256 = await sha256File(path);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const seen = ledger.ingestedAs(sha256);
    const storedAs = `archive/${stamp}-${name}${seen ? '.duplicate' : ''}`;
    let claims = 0;
    let rejected = 0;
    if (seen) {
      writeHumanLine(io.out, `${name}: duplicate — already published on ${seen.at} as ${seen.storedAs}, skipped`);
    } else {
      const published = await publishTpClaims(bus, path);
      ({ claims, rejectedCount: rejected } = published);
      count += claims;
      writeHumanLine(io.out, `${name}: ${claims} TP claims published, ${rejected} rejected`);
    }
    await rename(path, join(layout.home, storedAs));
    await ledger.append({ sha256, file: name, action: seen ? 'duplicate' : 'archived', storedAs, at: new Date().toISOString(), records: claims + rejected, accepted: claims, rejected, refusedParts: 0 });
  }
  return count;
}

/** Bank return files in the inbox (src/pipeline/bank-returns.ts): applied, then archived; a malformed one quarantined. */
const returnsWaiting = new Set<string>();

async function bankReturnsIn(layout: InboxLayout, io: CliIo): Promise<{ applied: number; refused: number }> {
  const done = await applyInboxBankReturns(layout, { now: () => new Date() });
  for (const r of done) {
    // said once, not at every look of the watch loop
    if (r.waiting) {
      if (!returnsWaiting.has(r.file)) writeHumanLine(io.out, `${r.file}: ${r.waiting}`);
      returnsWaiting.add(r.file);
      continue;
    }
    returnsWaiting.delete(r.file);
    if (r.report) for (const l of renderBankReturnReport(r.report)) writeHumanLine(io.out, l);
    else writeHumanLine(io.out, `${r.file}: quarantined as ${r.storedAs} — PAYMENTS_RETURN_MALFORMED: ${r.error}; nothing of it applied`);
  }
  return { applied: done.filter((r) => r.report !== null).length, refused: done.filter((r) => r.error !== null).length };
}

/** A request the admin API refuses as the CLI would (a usage error: 400), not as a failure. */
async function asAdminRequest<T>(act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (e) {
    if (e instanceof UsageError) throw new AdminRequestError(e.message);
    throw e;
  }
}

/**
 * With --once the run makes its own payment run and stops its stages as it goes: an admin action
 * beside that would race it for the payments group. Refused (the reads of the payment state behind
 * `payments show` and `statement` answer); the CLI's own commands work again once the run has exited.
 */
function onceActions(home: string): AdminActions {
  const refuse = async (): Promise<never> => {
    throw new PipelineError('HTTP_ADMIN_UNAVAILABLE', 'noemie run --once runs its own payment run and stops its stages as it goes: no admin action meanwhile (run the command once it has exited)');
  };
  // reads of the payment state answer (what is committed); its writes would race the run's own
  return { ...paymentStateActions(home, { refuse }), paymentRun: refuse, replay: refuse };
}

function reportMembers(io: CliIo, m: MembersFileOutcome): void {
  writeHumanLine(io.out, maskPersonalData(m.message));
}

function report(io: CliIo, o: InboxOutcome): void {
  for (const part of o.result?.parts ?? []) recordDropPart(o.file, part);
  const t = o.result?.totals;
  const figures = t ? `${t.records} records, ${t.accepted} accepted, ${t.rejected} rejected, ${t.decomptes} décomptes, expense ${t.expense} €, RO ${t.roAmount} €` : '';
  writeHumanLine(io.out, maskPersonalData(`${o.file}: ${o.action}${figures ? ` — ${figures}` : ''}${o.report ? ` (report ${o.report})` : ''}${o.action === 'duplicate' ? ` — ${o.message}` : ''}`));
}

/**
 * The member statements of `run --once`: the statement index (src/pipeline/statement-index.ts) is
 * first brought up to date with what is new on `settlements` (marking the families it changes),
 * then the families whose statement can have changed since the last run are written again
 * (src/pipeline/statement-pass.ts; every family on the first run of a home, or when the shared
 * inputs — nomenclature labels, insurer, professionals' names — changed): the cost follows what is
 * new, not the home's history.
 */
async function writeStatements(bus: Bus, home: string, membership: MembershipStore, nomenclatureFile: string | undefined, logger: Logger, professionalNames: Record<string, string> = {}, renderThreads = 0): Promise<{ dir: string; families: number; consumed: number; pass: 'all' | 'changed'; files: { written: number; unchanged: number } }> {
  const dir = join(home, 'statements');
  await mkdir(dir, { recursive: true });
  const nomenclature = (await chooseReference(['nomenclature'], { home, files: { nomenclature: nomenclatureFile } })).data.nomenclature;
  const labels = Object.fromEntries(Object.entries(nomenclature).map(([code, e]) => [code, e.label]));
  const members = membership.index();
  const statementIndex = await StatementIndex.open(home);
  // the payment state (its lines' facts, its statement marks) stays in LMDB: one handle per process, shared
  const kv = StateStore.open(home);
  try {
    const { consumed } = await updateStatementIndex(bus, statementIndex, { logger });
    const pass = await writeStatementPass({
      dir, index: statementIndex, kv, labels, insurer: insurerIdentity(), issuedOn: new Date().toISOString().slice(0, 10), professionalNames,
      families: { all: () => membership.adherents(), has: (id) => membership.hasFamily(id), members: (id) => members.byAdherent(id) },
      // the liquidation's pool is closed by now: as many statement workers render and write while this thread reads
      renderThreads,
    });
    logger.debug({ dir, families: pass.families, looked: pass.looked, pass: pass.pass, consumed, files: pass.files }, 'statements written');
    return { dir, families: pass.families, consumed, pass: pass.pass, files: { ...pass.files } };
  } finally {
    await kv.close();
    await statementIndex.close();
  }
}
