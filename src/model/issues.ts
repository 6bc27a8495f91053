/**
 * A record-level validation problem, zod-shaped (`code`, `path`, `input`, `message`) and
 * located (`file`, `entry` inside an archive, `record` number) so an ops engineer can act on it.
 * A rejected record lists all its issues, not just the first.
 */
export interface RecordIssue {
  code: string;
  /** field path, e.g. ["expense"] or ["lines", 2, "care_date"] */
  path: (string | number)[];
  input?: unknown;
  message: string;
}

export interface Origin {
  /** drop file name as received (the zip, or the single file) */
  file: string;
  /** entry name inside a ZIP archive */
  entry?: string;
  /** 1-based record (line) number within the file or entry */
  record: number;
  /** text line where the record starts, when it differs from `record` (XML: record is the `<line>` ordinal) */
  textLine?: number;
}

export interface RejectedRecord {
  origin: Origin;
  issues: RecordIssue[];
  /** the raw record as read, for the quarantine report (personal data is masked by the logger, not here) */
  raw?: string;
}

export function describeOrigin(o: Origin): string {
  return `${o.file}${o.entry ? `!${o.entry}` : ''}#${o.record}`;
}

/** `<field path> <message>` of a rejected record's first issue: how `noemie liquidate` names a reject. */
export function firstIssueText(rejected: Pick<RejectedRecord, 'issues'>): string {
  const first = rejected.issues[0];
  return `${first?.path.join('.')} ${first?.message}`;
}

/** Turns zod issues into RecordIssues, keeping the offending input value. */
export function fromZodIssues(
  issues: readonly { code: string; path: PropertyKey[]; message: string; input?: unknown }[],
  fieldNames?: (path: PropertyKey[]) => (string | number)[],
): RecordIssue[] {
  return issues.map((i) => ({
    code: i.code,
    path: fieldNames ? fieldNames(i.path) : i.path.map((p) => (typeof p === 'number' ? p : String(p))),
    input: i.input,
    message: i.message,
  }));
}
