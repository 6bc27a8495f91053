import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, onTestFinished } from 'vitest';
import { hereOrService, serviceHoldingHome } from '../../src/cli/service-client.js';
import { serviceFileOf } from '../../src/http/service-file.js';
import { LevelStore, levelDirOf } from '../../src/state/level-store.js';

/**
 * How a command on the payment state tells that a running service holds the home (src/cli/service-client.ts):
 * `<home>/run/service.json` names a live process AND that process holds the embedded bus's lock (its
 * pid in `<home>/bus/LOCK`) or the home's LevelDB (LEVEL_LOCKED: `noemie run --kafka`, no bus lock).
 * The holder here is a real second process (dist/: `npm run build` first) that opens the LevelDB
 * and waits.
 */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'service-holding-'));
  onTestFinished(() => rm(home, { recursive: true, force: true }));
  return home;
}

const writeService = async (home: string, pid: number) => {
  await mkdir(join(home, 'run'), { recursive: true });
  await writeFile(serviceFileOf(home), JSON.stringify({ pid, url: 'http://127.0.0.1:1', startedAt: new Date().toISOString() }));
};

/** A process holding the home's LevelDB until killed (as `noemie run --kafka` holds it). */
async function levelHolder(home: string): Promise<ChildProcess> {
  const module = join(import.meta.dirname, '../../dist/src/state/level-store.js');
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const { LevelStore } = await import(${JSON.stringify(module)}); await LevelStore.open(${JSON.stringify(home)}); console.log('open'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('open') && resolve());
    child.on('exit', (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return child;
}

it('no service.json, or one naming a dead process: the command runs here', async () => {
  const home = await newHome();
  expect(await serviceHoldingHome(home)).toBeNull();
  const dead = spawn(process.execPath, ['-e', '']);
  const pid = dead.pid!;
  await new Promise((r) => dead.on('exit', r));
  await writeService(home, pid);
  expect(await serviceHoldingHome(home)).toBeNull();
});

it("the embedded bus's lock names the live service: ask it", async () => {
  const home = await newHome();
  const holder = await levelHolder(join(home, 'elsewhere')); // alive, holds nothing of this home
  await writeService(home, holder.pid!);
  expect(await serviceHoldingHome(home)).toBeNull(); // alive but holding neither lock
  await mkdir(join(home, 'bus'), { recursive: true });
  await writeFile(join(home, 'bus', 'LOCK'), String(holder.pid));
  expect(await serviceHoldingHome(home)).toBe('http://127.0.0.1:1');
});

it("the home's LevelDB held by the live service (LEVEL_LOCKED, no bus lock): ask it; released: here again, and the probe leaves no LevelDB behind", async () => {
  const home = await newHome();
  const holder = await levelHolder(home);
  await writeService(home, holder.pid!);
  expect(await serviceHoldingHome(home)).toBe('http://127.0.0.1:1');
  const asked: string[] = [];
  const answer = await hereOrService(home, async () => 'here', async (url) => (asked.push(url), 'there'));
  expect([answer, asked]).toEqual(['there', ['http://127.0.0.1:1']]);

  holder.kill('SIGKILL');
  await new Promise((r) => holder.on('exit', r));
  expect(await serviceHoldingHome(home)).toBeNull(); // service.json names a dead pid
  const other = await newHome();
  const live = await levelHolder(join(other, 'x'));
  await writeService(other, live.pid!);
  expect(await serviceHoldingHome(other)).toBeNull();
  expect(existsSync(levelDirOf(other))).toBe(false); // no LevelDB made by asking
  // the first home's LevelDB exists, free; its service.json names a live process holding nothing of it
  await writeService(home, live.pid!);
  expect(await serviceHoldingHome(home)).toBeNull();
});

it('a command that meets LEVEL_LOCKED here (the service took the home after the probe) asks the service after all; another error is its own', async () => {
  const home = await newHome();
  const holder = await levelHolder(home);
  // the probe's moment: no service.json yet; it is written before `here` opens the store
  const answer = await hereOrService(
    home,
    async () => {
      await writeService(home, holder.pid!);
      await LevelStore.open(home); // LEVEL_LOCKED: the holder has it
      return 'here';
    },
    async (url) => `there ${url}`,
  );
  expect(answer).toBe('there http://127.0.0.1:1');
  const quiet = await newHome();
  await expect(hereOrService(quiet, async () => { throw new Error('disk full'); }, async () => 'there')).rejects.toThrow('disk full');
});
