/**
 * Where a `noemie run --once` child is, read from its own output: stdout progress lines
 * (src/cli/commands/run.ts) and stderr pino JSON. The main thread walks the stages in order; the
 * split between liquidation and reconciliation has no line of its own, so the caller tells the
 * tracker when the liquidation group has caught up (a lag probe on the bus, see probe.ts).
 */
export const STAGES = ['ingestion', 'liquidation', 'reconciliation', 'payment', 'statements'] as const;
export type Stage = (typeof STAGES)[number];
export type Position = Stage | 'done';

/**
 * Within the payment stage: consuming settlements into the ledger; then deciding the run ('files',
 * from the log line); then writing it ('write', from the run's folder appearing under payments/).
 */
export type PaymentStep = 'consume' | 'files' | 'write';

export interface StageEvent {
  stage: Position;
  /** set inside the payment stage once the inputs are applied (the run's files come next) */
  step?: PaymentStep;
  /** ms since the child started */
  at: number;
}

const STDOUT_MARKS: readonly [RegExp, Position][] = [
  [/^liquidating/, 'liquidation'],
  [/^liquidation: /, 'reconciliation'],
  [/^reconciliation: /, 'payment'],
  [/^payment run /, 'statements'],
  [/^statements: /, 'done'],
  [/^done in /, 'done'],
];

const PAYMENT_INPUTS_APPLIED = 'payments: inputs applied to the ledger';

export class StageTracker {
  private position: Position = 'ingestion';
  private paymentStep: PaymentStep = 'consume';
  /** ms since start at which each stage (and the payment files step) was entered */
  readonly entered: Partial<Record<Position | 'payment-files' | 'payment-write' | 'payment-recorded', number>> = { ingestion: 0 };
  private readonly listeners: ((e: StageEvent) => void)[] = [];

  constructor(private readonly startedAt: number, private readonly now: () => number = () => performance.now()) {}

  get current(): Position {
    return this.position;
  }

  get step(): PaymentStep | undefined {
    return this.position === 'payment' ? this.paymentStep : undefined;
  }

  onEnter(listener: (e: StageEvent) => void): void {
    this.listeners.push(listener);
  }

  stdoutLine(line: string): void {
    for (const [re, stage] of STDOUT_MARKS) if (re.test(line)) return this.moveTo(stage);
  }

  stderrLine(line: string): void {
    if (!line.startsWith('{')) return;
    let msg: unknown;
    try {
      msg = (JSON.parse(line) as { msg?: unknown }).msg;
    } catch {
      return;
    }
    if (msg === PAYMENT_INPUTS_APPLIED && this.position === 'payment' && this.paymentStep === 'consume') {
      this.paymentStep = 'files';
      const at = this.elapsed();
      this.entered['payment-files'] = at;
      this.emit({ stage: 'payment', step: 'files', at });
    }
  }

  /** a new run folder appeared under payments/: the run's files are being written */
  paymentWriting(): void {
    if (this.position !== 'payment' || this.paymentStep === 'write') return;
    this.paymentStep = 'write';
    const at = this.elapsed();
    this.entered['payment-write'] = at;
    this.emit({ stage: 'payment', step: 'write', at });
  }

  /** the payment ledger was saved after the run's folder appeared: the run is recorded */
  paymentRecorded(): void {
    if (this.position !== 'payment' || this.paymentStep !== 'write' || this.entered['payment-recorded'] !== undefined) return;
    this.entered['payment-recorded'] = this.elapsed();
  }

  /** the liquidation group has caught up with every line published (from the bus probe) */
  liquidationCaughtUp(): void {
    if (this.position === 'liquidation') this.moveTo('reconciliation');
  }

  private elapsed(): number {
    return this.now() - this.startedAt;
  }

  /** Forward only; a stage jumped over is entered and left at the same instant, so its listeners still fire. */
  private moveTo(stage: Position): void {
    const order: Position[] = [...STAGES, 'done'];
    const from = order.indexOf(this.position);
    const to = order.indexOf(stage);
    if (to <= from) return;
    const at = this.elapsed();
    for (let i = from + 1; i <= to; i++) {
      const s = order[i]!;
      this.position = s;
      this.entered[s] = at;
      this.emit({ stage: s, ...(s === 'payment' ? { step: 'consume' as const } : {}), at });
    }
  }

  private emit(e: StageEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** Durations of each stage (and of the two payment steps) from the instants a tracker recorded. */
export function stageDurations(entered: StageTracker['entered'], end: number): Record<Stage | 'payment-consume' | 'payment-files' | 'payment-write', number> {
  const next = (i: number): number => {
    for (let j = i + 1; j < STAGES.length; j++) {
      const t = entered[STAGES[j]!];
      if (t !== undefined) return t;
    }
    return entered.done ?? end;
  };
  const out = {} as Record<Stage | 'payment-consume' | 'payment-files' | 'payment-write', number>;
  STAGES.forEach((s, i) => {
    const t = entered[s];
    out[s] = t === undefined ? 0 : Math.max(0, next(i) - t);
  });
  const pay = entered.payment;
  const files = entered['payment-files'];
  const payEnd = entered.statements ?? entered.done ?? end;
  out['payment-consume'] = pay === undefined ? 0 : Math.max(0, (files ?? payEnd) - pay);
  const write = entered['payment-write'];
  out['payment-files'] = files === undefined ? 0 : Math.max(0, (write ?? payEnd) - files);
  // the write step as aimed at: from the run's folder appearing to the ledger recording the run
  const recorded = entered['payment-recorded'];
  out['payment-write'] = write === undefined ? 0 : Math.max(0, (recorded ?? payEnd) - write);
  return out;
}
