import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEnv } from '../config.js';
import { BusError, type Bus } from '../bus/index.js';
import { isAlive } from '../bus/embedded/lock.js';
import { PipelineError } from '../model/errors.js';
import { readServiceFile } from '../http/service-file.js';
import { isLevelLocked, LevelStore, levelDirOf } from '../state/level-store.js';
import type { Logger } from '../log.js';
import { MembershipStore } from '../pipeline/membership-store.js';
import { membershipOf } from './members.js';

/**
 * The CLI while `noemie run` holds the embedded bus (issue 11): a command that writes to the bus
 * (`payments run`, `replay`) is refused by the lock with BUS_LOCKED; when the lock's owner is the
 * running service that wrote `<home>/run/service.json`, the command sends its flags to the
 * service's admin API instead and prints the report it answers, as if it had run here. Finance's
 * commands on the payment state (`payments show / returns / approve`, `statement`'s payment facts)
 * do the same when the service holds the home (`serviceHoldingHome`, `hereOrService`): its LevelDB
 * allows one opener, and on Kafka there is no bus lock to meet.
 */
export class ServiceClientError extends PipelineError {}

/** Opens the bus, or says which running service to ask instead (null when the bus is not held by one). */
export async function busOrService(home: string, open: () => Promise<Bus>): Promise<{ bus: Bus } | { service: string }> {
  try {
    return { bus: await open() };
  } catch (e) {
    if (!(e instanceof BusError) || e.code !== 'BUS_LOCKED') throw e;
    const service = await readServiceFile(home);
    if (service === null || service.pid !== e.context.pid || !isAlive(service.pid)) throw e;
    return { service: service.url };
  }
}

/**
 * The running service holding this home's payment state, or null: `<home>/run/service.json` names a
 * live process, and that process holds the lock a command on the payment state meets — the
 * embedded bus's `<home>/bus/LOCK` naming its pid, or (with --kafka, no bus lock here) the home's
 * LevelDB, which allows one opener (LEVEL_LOCKED: its LOCK names no pid; the live service named in
 * service.json is taken as the holder). Tried without taking either: the bus lock is read, the
 * LevelDB opened only when it exists, and closed at once.
 */
export async function serviceHoldingHome(home: string): Promise<string | null> {
  const service = await readServiceFile(home);
  if (service === null || !isAlive(service.pid)) return null;
  const busOwner = Number((await readFile(join(home, 'bus', 'LOCK'), 'utf8').catch(() => '')).trim());
  if (busOwner === service.pid) return service.url;
  if (!existsSync(levelDirOf(home))) return null;
  try {
    await (await LevelStore.open(home)).close();
    return null;
  } catch (e) {
    if (isLevelLocked(e)) return service.url;
    throw e;
  }
}

/**
 * A command on the payment state (`payments show / returns / approve`, `statement`'s payment
 * facts): asks the service holding the home (`there`), else runs `here` — and asks the service
 * after all when `here` meets the LevelDB's lock of a service started meanwhile (`here` must meet
 * it before it writes anything: opening the store is its first step).
 */
export async function hereOrService<T>(home: string, here: () => Promise<T>, there: (url: string) => Promise<T>): Promise<T> {
  const url = await serviceHoldingHome(home);
  if (url !== null) return there(url);
  try {
    return await here();
  } catch (e) {
    if (!isLevelLocked(e)) throw e;
    const late = await serviceHoldingHome(home).catch(() => null);
    if (late === null) throw e;
    return there(late);
  }
}

/**
 * Sends an admin request to the service (POST with a JSON body, or a GET); its error answers become
 * the CLI's errors (same codes). A 422 is the action's own error (a PipelineError the service's
 * code raised, masked): said as the command says it when it runs here, so the output is the same.
 */
export async function callAdmin<T>(url: string, path: string, body: unknown, method: 'POST' | 'GET' = 'POST'): Promise<T> {
  const key = readEnv().NOEMIE_ADMIN_KEY;
  if (key === undefined) {
    throw new ServiceClientError('HTTP_ADMIN_KEY_MISSING', `this home is held by the running service at ${url}: this command goes through its admin API, which needs an admin key in NOEMIE_ADMIN_KEY (a client with the "admin" scope in <home>/config/api-keys.json)`, { url });
  }
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, method === 'GET'
      ? { method, headers: { authorization: `Bearer ${key}` } }
      : { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (e) {
    throw new ServiceClientError('HTTP_SERVICE_UNREACHABLE', `the service holding this home does not answer at ${url}: ${(e as Error).message}`, { url }, { cause: e });
  }
  const text = await response.text();
  if (response.ok) return JSON.parse(text) as T;
  let issues: { code: string; message: string; path?: unknown[] }[] = [];
  try {
    issues = (JSON.parse(text) as { issues?: typeof issues }).issues ?? [];
  } catch {
    // not our error body: said with the status below
  }
  const first = issues[0];
  if (response.status === 422 && first !== undefined && issues.length === 1) throw new ServiceClientError(first.code, first.message, { url, status: response.status });
  const message = issues.length > 0 ? issues.map((i) => `${i.path && i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ') : `HTTP ${response.status} ${text.slice(0, 200)}`;
  throw new ServiceClientError(first?.code ?? 'HTTP_ADMIN_REFUSED', `the service at ${url} refused ${path}: ${message}`, { url, status: response.status });
}

/**
 * A bus-writing action of the CLI: sent to the running service's admin route (`path`) when that
 * service holds the home (its bus, or on Kafka its LevelDB: `serviceHoldingHome`), else run here with the bus and the home's membership store — as it is for
 * a dry run (none: null), brought up to date with `members` otherwise — both closed after.
 */
export async function adminOrHere<T>(
  o: { home: string; open: () => Promise<Bus>; path: string; request: { dryRun: boolean }; logger?: Logger },
  here: (bus: Bus, membership: MembershipStore | null) => Promise<T>,
): Promise<T> {
  // a service holding the home's LevelDB (`noemie run --kafka`: no bus lock to meet) is asked too
  const holder = await serviceHoldingHome(o.home);
  if (holder !== null) return callAdmin<T>(holder, o.path, o.request);
  const opened = await busOrService(o.home, o.open);
  if ('service' in opened) return callAdmin<T>(opened.service, o.path, o.request);
  const { bus } = opened;
  let membership: MembershipStore | null = null;
  try {
    membership = o.request.dryRun ? MembershipStore.openForReading(o.home) : (await membershipOf(bus, o.home, o.logger)).store;
    return await here(bus, membership);
  } finally {
    await bus.close();
    await membership?.close();
  }
}
