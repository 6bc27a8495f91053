import type { ChaosReport } from './harness.js';

/** The human-readable report: the figures first, then up to a few examples of each finding. */
export function renderReport(r: ChaosReport): string {
  const s = r.summary;
  const f = r.findings;
  const o = r.options;
  const lines: string[] = [];
  const push = (x = '') => lines.push(x);
  const some = <T>(xs: readonly T[], show: (x: T) => string, n = 5) => {
    for (const x of xs.slice(0, n)) push(`      ${show(x)}`);
    if (xs.length > n) push(`      … ${xs.length - n} more (--json for all)`);
  };
  push(`chaos: ${o.lines} lines (${o.format}, seed ${o.seed}), ${o.kills} kills, ${o.bus} bus, ${o.workers} workers — work dir ${r.dir}`);
  push(`reference run: ${r.reference.seconds.toFixed(1)} s (${Object.entries(r.reference.stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')})`);
  push(`chaos home:    ${r.chaos.seconds.toFixed(1)} s, ${r.chaos.runs} runs, ${r.chaos.restarts} restarts, completed: ${r.chaos.completed ? 'yes' : 'NO'}`);
  push(`kills per stage (where they landed): ${Object.entries(r.chaos.killsPerStage).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  push(`  ${r.chaos.killsWithReconcileWorkLeft} of them cut the reconcile service with records still to take (it consumes beside liquidation)`);
  const missed = r.chaos.kills.filter((k) => !k.landed).length;
  if (missed > 0) push(`  ${missed} planned kill(s) did not land: the run ended first`);
  push();
  push(`lines in                        ${r.linesIn}`);
  push(`settlements (lineKeys)          reference ${f.settlements.reference}, chaos ${f.settlements.chaos}`);
  push(`lines lost                      ${s.linesLost}`);
  push(`lines paid twice                ${s.linesPaidTwice}`);
  push(`EndToEndIds in two files        ${s.endToEndIdsInTwoFiles}`);
  push(`empty/truncated pain.001 files  ${s.emptyOrUnreadablePainFiles}`);
  push(`pain.001 control sum errors     ${s.controlSumErrors}`);
  push(`lines settled differently       ${s.latestSettlementDiffers}`);
  push(`extra settlement versions       ${s.extraSettlementVersions} (on ${f.settlements.linesWithExtraVersions.length} lines)`);
  push(`duplicate notices               ${s.duplicateNotices} (reconciliation outcomes the reference has not, or with other content)`);
  push(`payment ledger differs (lines)  ${s.ledgerDiffers}`);
  push(`stray files                     ${s.strayFiles} (${s.strayFilesWithPersonalData} with NIR/IBAN-shaped data; ${f.unrecordedRuns.length} in run folders the ledger never recorded)`);
  push(`transfers: reference ${f.payments.referenceTotal} €, chaos ${f.payments.chaosTotal} € in ${f.pain.chaos.files} pain.001 file(s) (reference ${f.pain.reference.files})`);
  push(`redelivered identical copies: settlements ${f.settlements.redeliveredCopies}, outcomes ${f.reconciliation.redeliveredCopies}`);
  push();
  if (f.settlements.missing.length) (push('  settlements missing:'), some(f.settlements.missing, (x) => x));
  if (f.settlements.latestDiffers.length) (push('  latest settlement differs:'), some(f.settlements.latestDiffers, (x) => x));
  if (f.settlements.linesWithExtraVersions.length) (push('  lines with extra versions:'), some(f.settlements.linesWithExtraVersions, (x) => x));
  if (f.settlements.conflictingCopies.length) (push('  one version published with two contents:'), some(f.settlements.conflictingCopies, (x) => x));
  if (f.settlements.conflictingInReference.length) (push('  one version published with two contents, in the uninterrupted run too (not from the kills):'), some(f.settlements.conflictingInReference, (x) => x));
  if (f.payments.overpaid.length) (push('  paid more than the reference (files):'), some(f.payments.overpaid, (x) => `${x.lineKey} ${x.payee}: ${x.reference} → ${x.chaos}`));
  if (f.payments.underpaid.length) (push('  paid less than the reference (files):'), some(f.payments.underpaid, (x) => `${x.lineKey} ${x.payee}: ${x.reference} → ${x.chaos}`));
  if (f.pain.chaos.duplicateEndToEndIds.length) (push('  EndToEndIds in two files:'), some(f.pain.chaos.duplicateEndToEndIds, (x) => `${x.endToEndId}: ${x.files.join(', ')}`));
  if (f.pain.chaos.emptyFiles.length + f.pain.chaos.unreadableFiles.length) (push('  empty or truncated pain.001:'), some([...f.pain.chaos.emptyFiles, ...f.pain.chaos.unreadableFiles], (x) => x));
  if (f.pain.chaos.controlSumErrors.length) (push('  control sums:'), some(f.pain.chaos.controlSumErrors, (x) => x));
  if (f.reconciliation.unexpected.length) (push('  outcomes the reference has not:'), some(f.reconciliation.unexpected, (x) => x));
  if (f.reconciliation.missing.length) (push('  outcomes missing:'), some(f.reconciliation.missing, (x) => x));
  if (f.payments.brokenOrderFiles.length) (push('  orders.ndjson cut short:'), some(f.payments.brokenOrderFiles, (x) => x));
  if (f.stray.length) (push('  stray files:'), some(f.stray, (x) => `${x.path} (${x.bytes} bytes${x.personalData ? ', NIR/IBAN inside' : ''})`, 10));
  if (f.inboxLeft.length) (push('  left in the inbox:'), some(f.inboxLeft, (x) => x));
  push();
  push(r.moneyUnsafe.length === 0 ? 'money safety: OK' : `money safety: FAILED — ${r.moneyUnsafe.join('; ')}`);
  return lines.join('\n');
}
