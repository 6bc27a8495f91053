import { join } from 'node:path';
import type { RunReport } from './report.js';
import { reportCsv, reportHtmlChunks, reportJsonChunks, type SettledRows } from './report-render.js';
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
 * of MB, never built as one string); `rows`, when given, reads the settled rows of a report recorded
 * without them (a streamed run's, src/pipeline/payment-run-stream.ts).
 */
export async function writeReportFiles(runDir: string, report: RunReport, rows?: SettledRows): Promise<ReportFiles> {
  const files = reportFilesOf(runDir);
  await writeDurably(files.json, reportJsonChunks(report, rows));
  await writeDurably(files.csv, reportCsv(report));
  await writeDurably(files.html, reportHtmlChunks(report, rows));
  return files;
}
