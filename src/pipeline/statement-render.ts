import { closeSync, fdatasync, fsync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderStatementHtml, renderStatementText, statementData } from '../statement/index.js';
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

const datasync = promisify(fdatasync);
const fullSync = promisify(fsync);

/**
 * A task of a statement worker: each family's files rendered and written, each file only when it
 * does not already hold exactly these bytes (StatementFiles' rule: an unchanged statement writes no
 * page). Written with plain synchronous calls — this is a worker thread, blocking it is its job, and
 * the main thread never waits on them — each file in one `write` after `open(…, 'w')`, as
 * StatementFiles does, so a kill leaves a file whole, or empty and still marked (written again by
 * the next pass). `durable`: the task resolves only once every one of its files (an unchanged one
 * too: a crashed run may have written it and never synced it) is fdatasynced, and the folder too
 * when a file was created — so the pass may clear the families' marks once its tasks resolved.
 * The syncs of a task are issued together (the file system commits its journal once for many of
 * them: statement-files.ts says what one at a time cost).
 */
export async function writeFamilyStatements(families: readonly FamilyStatementInput[], setup: StatementRenderSetup): Promise<StatementRenderResult> {
  const result: StatementRenderResult = { written: 0, unchanged: 0 };
  const open: number[] = [];
  let created = false;
  try {
    for (const family of families) {
      for (const [path, text] of familyStatementFiles(family, setup)) {
        const bytes = Buffer.from(text, 'utf8');
        const before = statSync(path, { throwIfNoEntry: false });
        // a file of another size cannot hold these bytes: not read
        if (before !== undefined && before.size === bytes.length && readFileSync(path).equals(bytes)) {
          result.unchanged += 1;
          if (setup.durable) open.push(openSync(path, 'r'));
          continue;
        }
        const fd = openSync(path, 'w');
        try {
          for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
        } catch (e) {
          closeSync(fd);
          throw e;
        }
        if (setup.durable) open.push(fd);
        else closeSync(fd);
        if (before === undefined) created = true;
        result.written += 1;
      }
    }
    if (setup.durable) {
      // fdatasync: the bytes and the size (what reading the file needs), not the times
      await Promise.all(open.map((fd) => datasync(fd)));
      if (created) {
        const dir = openSync(setup.dir, 'r');
        try {
          await fullSync(dir);
        } finally {
          closeSync(dir);
        }
      }
    }
  } finally {
    for (const fd of open) closeSync(fd);
  }
  return result;
}
