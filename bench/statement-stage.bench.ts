import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import { chooseReference } from '../src/cli/home-reference.js';
import { insurerIdentity } from '../src/config.js';
import { MembershipStore } from '../src/pipeline/membership-store.js';
import { StatementIndex, updateStatementIndex } from '../src/pipeline/statement-index.js';
import { writeStatementPass } from '../src/pipeline/statement-pass.js';
import { StateStore } from '../src/state/kv-store.js';
import { LevelStore, levelDirOf } from '../src/state/level-store.js';
import { STATEMENTS_DIRTY, STATEMENTS_META, STATEMENTS_WHERE } from '../src/pipeline/statement-dirty.js';

/**
 * The statement stage of `noemie run --once` alone, on a home a run kept (`bench:run -- --keep`),
 * for comparing builds back to back without the other stages' noise (bench/README.md, "Session 11
 * — statements", "Session 12 — statements"): the home's LevelDB is copied to
 * `<scratch>/state/level` (not timed) with its statement index removed, so the payment facts are
 * the run's; a fresh index is built there from the home's `settlements` with a group of its own (the
 * catch-up of a first run), then a full pass writes every family's files into
 * `<scratch>/statements` (the home's membership store read, its LMDB marks cleared if any). Prints
 * CPU seconds (whole process, and the main thread's from /proc), system CPU and wall for both
 * steps. The files equal the home's own `statements/` when `--issued` is the run's day (`diff -r`).
 * (Session 11's version built the index in an empty scratch LevelDB: since the payment state moved
 * to LevelDB, its statements had no payment facts.)
 *
 *   node dist/bench/statement-stage.bench.js --home <kept home> --scratch <new folder> [--professionals <csv>] [--issued YYYY-MM-DD]
 *        [--render-threads n] [--per-task n] [--measure-clone]
 * `--render-threads`: the pass's statement workers (statement-pass.ts `renderThreads`, as `run
 * --once --workers n` has them; default 0, rendered on the main thread); `--measure-clone`: the
 * structured-clone size of the workers' tasks, printed with the pass.
 *
 * `--scratch` must not exist yet: removing a large folder just before creating thousands of files
 * costs the creates system CPU on an ext4 without journal (inodes freed in the last 30 s are
 * skipped one by one, `recently_deleted`), which is the previous run's cost, not this one's.
 */
const { values } = parseArgs({
  options: {
    home: { type: 'string' }, scratch: { type: 'string' }, professionals: { type: 'string' }, issued: { type: 'string' },
    'render-threads': { type: 'string' }, 'per-task': { type: 'string' }, 'measure-clone': { type: 'boolean' },
  },
});
if (!values.home || !values.scratch) throw new Error('usage: statement-stage.bench.js --home <kept home> --scratch <new folder> [--professionals <csv>] [--issued YYYY-MM-DD]');
const home = values.home;
const scratch = values.scratch;
if (existsSync(scratch)) throw new Error(`--scratch ${scratch} exists: give a new folder`);
mkdirSync(join(scratch, 'statements'), { recursive: true });
// the home's LevelDB (payment state included) without its statement index: what a first run's stage finds
cpSync(levelDirOf(home), levelDirOf(scratch), { recursive: true });
{
  const level = await LevelStore.open(scratch);
  for (const name of ['statements.line', STATEMENTS_WHERE, STATEMENTS_META, STATEMENTS_DIRTY]) await level.sub(name).clear();
  await level.close();
}

const cpu = () => {
  const u = process.cpuUsage();
  return { all: (u.user + u.system) / 1e6, sys: u.system / 1e6 };
};
/** the main thread's user + system and system seconds (/proc/self/task/<pid>/stat, clock ticks of 1/100 s) */
const main = () => {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { all: (Number(f[11]) + Number(f[12])) / 100, sys: Number(f[12]) / 100 };
};
function step<T>(label: string, run: () => Promise<T>): Promise<T> {
  const c0 = cpu(), m0 = main(), t0 = performance.now();
  return run().then((out) => {
    const c = cpu(), m = main();
    const r = (x: number) => Number(x.toFixed(2));
    console.log(JSON.stringify({ step: label, cpuSeconds: r(c.all - c0.all), sysSeconds: r(c.sys - c0.sys), mainCpuSeconds: r(m.all - m0.all), mainSysSeconds: r(m.sys - m0.sys), wallSeconds: r((performance.now() - t0) / 1000), out }));
    return out;
  });
}

const bus = await openEmbeddedBus({ dir: join(home, 'bus'), readOnly: false });
const nomenclature = (await chooseReference(['nomenclature'], { home, files: {} })).data.nomenclature;
const labels = Object.fromEntries(Object.entries(nomenclature).map(([code, e]) => [code, e.label]));
// the professionals' names as `run --once` has them (its --professionals file: ps_id;name;…)
const professionalNames: Record<string, string> = {};
if (values.professionals) {
  for (const line of readFileSync(values.professionals, 'utf8').split('\n').slice(1)) {
    const [id, name] = line.split(';');
    if (id && name) professionalNames[id] = name;
  }
}
const membership = MembershipStore.open(home);
const members = membership.index();
const index = await StatementIndex.open(scratch);
const kv = StateStore.open(home);
try {
  await step('catch-up', async () => (await updateStatementIndex(bus, index, { groupId: `statement-stage-${process.pid}` })).consumed);
  await step('pass', () =>
    writeStatementPass({
      dir: join(scratch, 'statements'), index, kv, labels, insurer: insurerIdentity(), issuedOn: values.issued ?? new Date().toISOString().slice(0, 10), professionalNames,
      families: { all: () => membership.adherents(), has: (id) => membership.hasFamily(id), members: (id) => members.byAdherent(id) },
      renderThreads: Number(values['render-threads'] ?? 0),
      ...(values['per-task'] ? { familiesPerTask: Number(values['per-task']) } : {}),
      measureClone: values['measure-clone'] ?? false,
    }),
  );
} finally {
  await kv.close();
  await index.close();
  await bus.close();
}
