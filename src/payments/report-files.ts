import { join } from 'node:path';
import type { RunReport } from './report.js';
import { reportCsv, reportHtmlChunks, reportJsonChunks } from './report-render.js';
import { writeDurably } from './sepa/write.js';

/** Where a run's report is: next to its pain.001 files and orders.ndjson, in `<out>/<runId>/`. */
export interface ReportFiles {
  json: string;
  csv: string;
  html: string;
}

export const reportFilesOf = (runDir: string): ReportFiles => ({ json: join(runDir, 'report.json'), csv: join(runDir, 'report.csv'), html: join(runDir, 'report.html') });

/**
 * Writes the three forms, each durably (temp + fsync + rename): a crash never leaves a half report
 * under its name. Each is streamed (one row per due line: a large run's JSON and HTML are hundreds
 * of MB, never built as one string).
 */
export async function writeReportFiles(runDir: string, report: RunReport): Promise<ReportFiles> {
  const files = reportFilesOf(runDir);
  await writeDurably(files.json, reportJsonChunks(report));
  await writeDurably(files.csv, reportCsv(report));
  await writeDurably(files.html, reportHtmlChunks(report));
  return files;
}
