import { dirname } from 'node:path';
import type { Bus } from '../bus/bus.js';
import type { ReliquidationRequest } from '../bus/messages.js';
import type { Logger } from '../log.js';
import type { GridSet } from '../model/grid.js';
import { compositeKey, type SubStore } from '../state/kv-store.js';
import { gridChanges } from './grid-diff.js';
import type { MembershipStore } from './membership-store.js';
import { ReferenceStore, type ReferenceVersion } from './reference-store.js';
import { requestReliquidation } from './reliquidation-requests.js';

/**
 * A grid correction re-liquidates the period it corrects (issue 10; src/pipeline/README.md "Grid
 * correction"). For each grids version of the home not handled yet on this bus, in order: the care
 * dates its rules decide differently from the version before it (grid-diff.ts, per contract level,
 * dates up to today), the families that held one of those levels on or after that date (the
 * membership store's contract index, then each family's dated history), and one re-liquidation
 * request per family: type `grid_correction`, eventId = the version id, from = the first changed
 * date of the levels it held. The liquidation service re-decides those lines under the version in
 * force when it handles the request (this one or a later one) and publishes only what changed;
 * the payment stage pays or recovers the difference.
 *
 * Once per version and bus: `reference.corrected/<busId>␟<version id>` in the home's state store,
 * written once the requests are durable on the bus. A crash between the two sends them again at
 * the next start: a request applied twice publishes nothing the second time (requestReliquidation).
 */
export interface GridCorrectionOptions {
  bus: Bus;
  /** the home's membership store; its state store holds the reference versions and the marks */
  membership: MembershipStore;
  /** the ledger namespace the requests go to (`embedded`, `kafka-<prefix>`): each bus's ledgers are corrected once */
  busId: string;
  logger?: Logger | undefined;
  /** the last care date a correction can concern (default: today, UTC) */
  today?: () => string;
}

export interface CorrectedVersion {
  versionId: string;
  previous: string;
  /** grid id → first care date decided differently */
  changes: Record<string, string>;
  requests: number;
  at: string;
}

export interface GridCorrectionResult {
  corrected: CorrectedVersion[];
  requests: ReliquidationRequest[];
}

const todayUtc = () => new Date().toISOString().slice(0, 10);

function marksOf(o: GridCorrectionOptions): SubStore<CorrectedVersion> {
  return o.membership.kv.sub<CorrectedVersion>('reference.corrected');
}

/** Handles every grids version not handled yet on this bus; nothing when there is none (two point reads). */
export async function correctGrids(o: GridCorrectionOptions): Promise<GridCorrectionResult> {
  const references = new ReferenceStore(o.membership.kv, dirname(dirname(o.membership.kv.file)));
  const marks = marksOf(o);
  const current = references.inForce('grids');
  const result: GridCorrectionResult = { corrected: [], requests: [] };
  if (current === undefined || marks.has(compositeKey(o.busId, current.id))) return result;
  const today = (o.today ?? todayUtc)();
  const versions = references.history().filter((v): v is ReferenceVersion => v.kind === 'grids' && v.seq <= current.seq);
  for (const [i, v] of versions.entries()) {
    const previous = versions[i - 1];
    if (previous === undefined || marks.has(compositeKey(o.busId, v.id))) continue;
    const changes = gridChanges(references.dataOf('grids', previous.id) as GridSet, references.dataOf('grids', v.id) as GridSet, today);
    const requests = await requestsFor(o.membership, v.id, changes, today);
    result.corrected.push({ versionId: v.id, previous: previous.id, changes: Object.fromEntries(changes), requests: requests.length, at: new Date().toISOString() });
    result.requests.push(...requests);
  }
  await requestReliquidation(o.bus, result.requests);
  // The first version has nothing before it: marked too, so the next call is two point reads.
  const first = versions[0];
  const done = [...result.corrected];
  if (first !== undefined && !marks.has(compositeKey(o.busId, first.id))) done.push({ versionId: first.id, previous: '', changes: {}, requests: 0, at: new Date().toISOString() });
  await o.membership.kv.commit(() => {
    for (const c of done) marks.put(compositeKey(o.busId, c.versionId), c);
  });
  for (const c of result.corrected) o.logger?.info({ ...c }, 'grid correction: re-liquidation requested for the families holding the levels it changes');
  return result;
}

/**
 * One request per family that held a changed level on or after its first changed date (and up to
 * today), from the earliest of those dates. Who held it comes from each family's dated history:
 * the contract periods of each person, within their affiliation.
 */
async function requestsFor(membership: MembershipStore, versionId: string, changes: ReadonlyMap<string, string>, today: string): Promise<ReliquidationRequest[]> {
  const fromOf = new Map<string, string>();
  for (const [gridId, from] of changes) {
    for (const adherentId of await membership.familiesHolding(gridId)) {
      const family = membership.family(adherentId);
      if (family === null) continue;
      const held = family.members.some((b) => {
        if (b.start > today || (b.end !== null && b.end < from)) return false;
        const periods = b.contractPeriods ?? [{ from: b.start, to: null, contracts: b.contracts }];
        return periods.some((p) => p.contracts.includes(gridId) && p.from <= today && (p.to === null || p.to >= from));
      });
      const was = fromOf.get(adherentId);
      if (held && (was === undefined || from < was)) fromOf.set(adherentId, from);
    }
  }
  return [...fromOf].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([adherentId, from]) => ({
    requestId: `${versionId}:${adherentId}`,
    adherentId,
    from,
    reason: { eventId: versionId, type: 'grid_correction', effectiveDate: from },
  }));
}

export interface GridCorrectionWatch {
  /** the first check's result (the watch checks at once) */
  readonly first: Promise<GridCorrectionResult>;
  stop(): Promise<void>;
}

/**
 * A running process's watch (`noemie run`, service-main): checks at once, then every `intervalMs`
 * (two point reads of the memory-mapped store when nothing is new), one check at a time. A failed
 * check is logged and tried again at the next tick (nothing was marked).
 */
export function watchGridCorrections(o: GridCorrectionOptions, intervalMs = 5000): GridCorrectionWatch {
  let running: Promise<unknown> = Promise.resolve();
  const check = () => {
    const next = running.then(() => correctGrids(o));
    running = next.catch((e: unknown) => o.logger?.error({ err: e }, 'grid correction: check failed; tried again at the next tick'));
    return next;
  };
  const first = check();
  first.catch(() => undefined); // logged by check(); a caller awaiting `first` still sees the error
  const timer = setInterval(() => void check().catch(() => undefined), intervalMs);
  return {
    first,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
