import { join } from 'node:path';
import { renderStatementHtml, renderStatementText, statementData } from '../statement/index.js';
import { StatementFiles } from './statement-files.js';
import type { FamilyStatementInput, StatementRenderResult, StatementRenderSetup } from './statement-render-messages.js';

/**
 * One family's statement files, `<dir>/<adhérent>.txt` and `.html`, as [path, text] — the same on
 * the main thread (statement-pass.ts without a pool) and in a statement worker
 * (workers/statements.worker.ts): one function, so both give the same bytes. The period is the
 * family's first to last care date. Pure apart from the paths.
 */
export function familyStatementFiles(input: FamilyStatementInput, setup: Pick<StatementRenderSetup, 'dir' | 'labels' | 'insurer' | 'issuedOn' | 'professionalNames'>): [path: string, text: string][] {
  const { adherentId, settlements } = input;
  const years = settlements.map((s) => s.careDate).sort();
  const period = { adherentId, from: years[0]!, to: years[years.length - 1]! };
  const data = statementData(period, settlements, input.members, setup.labels, { insurer: setup.insurer, issuedOn: setup.issuedOn, professionalNames: setup.professionalNames, payments: input.payments });
  return [
    [join(setup.dir, `${adherentId}.txt`), renderStatementText(data)],
    [join(setup.dir, `${adherentId}.html`), renderStatementHtml(data)],
  ];
}

/**
 * A task of a statement worker: each family's files rendered and written by the same
 * StatementFiles as the one-thread pass (each file only when it does not already hold these
 * bytes; `durable`: every file of the task fdatasynced, and the folder when a file was created,
 * before it resolves) — so the pass may clear the families' marks once its tasks resolved.
 */
export async function writeFamilyStatements(families: readonly FamilyStatementInput[], setup: StatementRenderSetup): Promise<StatementRenderResult> {
  const files = new StatementFiles(undefined, { durable: setup.durable });
  for (const family of families) await files.add(familyStatementFiles(family, setup));
  await files.flush();
  return { ...files.counts };
}
