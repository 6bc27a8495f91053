import type { Bus } from '../bus/index.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import { referencePaths } from '../pipeline/reference.js';
import { replay, type ReplayResult } from '../pipeline/replay.js';
import type { FamilyLedgers } from '../pipeline/replay-ledgers.js';
import type { ReplayRequest } from '../http/admin.js';
import { chooseReference } from './home-reference.js';
import { writeLine, type CliIo } from './command.js';

/**
 * One replay from the flags of `noemie replay` (as `ReplayRequest`, the body of POST
 * /v1/admin/replays): the command runs it on its own bus, the running service on its bus with its
 * live members (a real replay with its liquidation stopped meanwhile: run.ts).
 */
export async function replayAction(request: ReplayRequest, ctx: { bus: Bus; home: string; beneficiaries: BeneficiaryIndex; ledgers?: FamilyLedgers }): Promise<ReplayResult> {
  const paths = referencePaths(request.reference ?? 'fixtures');
  const files = request.reference !== undefined ? { grids: paths.gridsDir, nomenclature: paths.nomenclatureFile, pmss: paths.pmssFile } : {};
  const { data: reference } = await chooseReference(['grids', 'nomenclature', 'pmss'], { home: ctx.home, files: { ...files, ...(request.grids ? { grids: request.grids } : {}) } });
  return replay({
    bus: ctx.bus, topic: request.topic, partition: request.partition, from: request.from, ...(request.to !== undefined ? { to: request.to } : {}),
    dryRun: request.dryRun, beneficiaries: ctx.beneficiaries, reference, ...(ctx.ledgers ? { ledgers: ctx.ledgers } : {}),
  });
}

export function printReplay(io: CliIo, result: ReplayResult, dryRun: boolean): void {
  for (const d of result.changed) {
    // A version a re-liquidation produced says so: the ops person sees what the replay overrides.
    const from = d.replaces ? `v${d.version.from} (re-liquidated after ${d.replaces.type} effective ${d.replaces.effectiveDate}, event ${d.replaces.eventId})` : `v${d.version.from}`;
    writeLine(io.out, `${d.lineKey} @${d.offset}  ${from} → v${d.version.to}  AMC ${d.amc.from} → ${d.amc.to}  ${d.status.from} → ${d.status.to}`);
  }
  writeLine(io.out, `${result.topic}[${result.partition}] offsets ${result.from}..${result.to - 1}: ${result.read} read, ${result.replayed} re-liquidated, ${result.totals.lines} changed`);
  writeLine(io.out, `AMC ${result.totals.amcBefore} → ${result.totals.amcAfter} (difference ${result.totals.delta})`);
  for (const [why, n] of Object.entries(result.skipped)) writeLine(io.out, `skipped ${n}: ${why}`);
  writeLine(io.out, dryRun ? 'dry run: nothing published' : `published ${result.published.settlements} settlements, ${result.published.snapshots} ledger snapshots`);
}
