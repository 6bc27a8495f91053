import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LagProbe } from './probe.js';
import { StageTracker, type PaymentStep, type Position, type Stage } from './stages.js';

/**
 * One `noemie run --once` child: follows its stage (stages.ts), and when given a kill plan sends it
 * SIGKILL a chosen delay after it enters the planned stage (or payment step). Records where the kill
 * really landed: a stage can end before the delay does, and then the kill lands in a later one.
 */
export interface KillPlan {
  stage: Stage;
  /** payment only: count the delay from the start of the stage or from its files step */
  step?: PaymentStep;
  /** ms after entering, decided when the child enters (the liquidation left after a restart is shorter) */
  delayMs: (ctx: { liquidationLag: number | null }) => number;
}

export interface ChildResult {
  outcome: 'completed' | 'killed' | 'failed';
  code: number | null;
  /** where the SIGKILL landed */
  killedIn?: { stage: Position; step?: PaymentStep; atMs: number; liquidationLag: number | null; reconcileLag: number | null };
  elapsedMs: number;
  entered: StageTracker['entered'];
  stdoutTail: string[];
}

export interface ChildOptions {
  cmd: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  probe: LagProbe;
  kill?: KillPlan;
  /** stdout and stderr of the child are appended here */
  logFile: string;
  pollMs?: number;
  label: string;
  /** `<home>/payments`: a run folder appearing there marks the payment run's writes */
  paymentsDir: string;
  /** SIGKILL a child still running after this long; it counts as failed */
  timeoutMs?: number;
}

export function runChild(o: ChildOptions): Promise<ChildResult> {
  const started = performance.now();
  const tracker = new StageTracker(started);
  const log = createWriteStream(o.logFile, { flags: 'a' });
  log.write(`\n===== ${o.label} ${new Date().toISOString()} =====\n`);
  const child = spawn(o.cmd[0]!, o.cmd.slice(1), { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let killedIn: ChildResult['killedIn'];
  let killTimer: NodeJS.Timeout | undefined;
  let exited = false;
  let timedOut = false;
  const watchdog = o.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    log.write(`[harness] no end after ${o.timeoutMs} ms: SIGKILL\n`);
    child.kill('SIGKILL');
  }, o.timeoutMs);

  createInterface({ input: child.stdout! }).on('line', (l) => {
    log.write(`[out +${Math.round(performance.now() - started)}] ${l}\n`);
    tail.push(l);
    if (tail.length > 20) tail.shift();
    tracker.stdoutLine(l);
  });
  createInterface({ input: child.stderr! }).on('line', (l) => {
    log.write(`[err +${Math.round(performance.now() - started)}] ${l}\n`);
    tracker.stderrLine(l);
  });

  // The probe runs while the child liquidates: its answer is the liquidation → reconciliation boundary.
  let lastLag: number | null = null;
  let polling = false;
  const poll = setInterval(() => {
    if (polling || exited || tracker.current !== 'liquidation') return;
    polling = true;
    void o.probe.liquidationLag().then((lag) => {
      polling = false;
      lastLag = lag;
      if (lag === 0 && !exited) tracker.liquidationCaughtUp();
    });
  }, o.pollMs ?? 50);

  // While the run is decided, look for its folder every few ms: the window between its files and the
  // ledger's save is short, and it is the one where a kill can leave a run paid but not recorded.
  const runsBefore = new Set(existsSync(o.paymentsDir) ? readdirSync(o.paymentsDir) : []);
  // the payment state's commits (the run's intent, then its completion) change the state store's file
  const storeFile = join(o.paymentsDir, '..', 'state', 'store.mdb');
  const ledgerMtime = () => (existsSync(storeFile) ? statSync(storeFile).mtimeMs : 0);
  let mtimeAtWrite = 0;
  const watchRuns = setInterval(() => {
    if (exited || tracker.current !== 'payment' || !existsSync(o.paymentsDir)) return;
    if (tracker.step === 'files' && readdirSync(o.paymentsDir).some((n) => n.startsWith('run-') && !runsBefore.has(n))) {
      mtimeAtWrite = ledgerMtime();
      tracker.paymentWriting();
    } else if (tracker.step === 'write' && ledgerMtime() !== mtimeAtWrite) {
      tracker.paymentRecorded();
    }
  }, 3);

  if (o.kill) {
    const plan = o.kill;
    let armed = false;
    const arm = async () => {
      if (armed) return;
      armed = true;
      const lag = plan.stage === 'liquidation' ? await o.probe.liquidationLag() : lastLag;
      const delay = Math.max(0, plan.delayMs({ liquidationLag: lag }));
      killTimer = setTimeout(() => {
        if (exited) return;
        const step = tracker.step;
        killedIn = { stage: tracker.current, ...(step ? { step } : {}), atMs: Math.round(performance.now() - started), liquidationLag: null, reconcileLag: null };
        child.kill('SIGKILL');
      }, delay);
    };
    tracker.onEnter((e) => {
      if (e.stage !== plan.stage) return;
      if ((plan.step ?? 'consume') === (e.step ?? 'consume')) void arm();
    });
    if (plan.stage === 'ingestion') void arm();
  }

  return new Promise((resolve) => {
    child.once('exit', async (code, signal) => {
      exited = true;
      clearInterval(poll);
      clearInterval(watchRuns);
      if (killTimer) clearTimeout(killTimer);
      if (watchdog) clearTimeout(watchdog);
      const elapsedMs = performance.now() - started;
      log.write(`[exit +${Math.round(elapsedMs)}] code ${code} signal ${signal}\n`);
      log.end();
      // the bus as the kill left it: what each stage still had to take
      if (killedIn) [killedIn.liquidationLag, killedIn.reconcileLag] = [await o.probe.liquidationLag(), await o.probe.reconcileLag()];
      const outcome = timedOut ? 'failed' : killedIn && signal === 'SIGKILL' ? 'killed' : code === 0 && tracker.current === 'done' ? 'completed' : 'failed';
      resolve({ outcome, code, ...(outcome === 'killed' ? { killedIn: killedIn! } : {}), elapsedMs, entered: { ...tracker.entered }, stdoutTail: tail });
    });
  });
}
