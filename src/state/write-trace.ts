import { appendFileSync, readFileSync } from 'node:fs';
import { stateTraceFile } from '../config.js';

/**
 * Opt-in trace of which sub-stores' commits write the bytes (bench/README.md "Session 8 —
 * log-structured store"): with `NOEMIE_STATE_TRACE=<file>`, every commit of the state stores
 * (LMDB `StateStore`, LevelDB `LevelStore`) is counted under its group — the sorted names of the
 * sub-stores it wrote — with its puts/removes and the process's `/proc/self/io` write_bytes
 * before and after it (so the bus and files written by other code during the commit count too:
 * an upper bound per group). At each store's last close the totals are appended to the file, one
 * JSON line per group. Off (no env): one boolean test per commit and per put.
 */
const FILE = stateTraceFile();

export const tracing = FILE !== null;

interface GroupTotals {
  commits: number;
  puts: number;
  bytes: number;
}

const totals = new Map<string, Map<string, GroupTotals>>();

/** Per sub-store: puts and removes, and the key + value bytes they hand the engine (what LevelDB's log gets). */
interface SubTotals {
  puts: number;
  putBytes: number;
  removes: number;
  removeBytes: number;
}
const subTotals = new Map<string, Map<string, SubTotals>>();

/** Counts one put (value bytes ≥ 0) or remove (value null) of `name`'s key, when tracing. */
export function traceOp(engine: string, file: string, name: string, storedKey: string, value: string | Uint8Array | null): void {
  const store = `${engine} ${file}`;
  let byName = subTotals.get(store);
  if (!byName) subTotals.set(store, (byName = new Map()));
  let t = byName.get(name);
  if (!t) byName.set(name, (t = { puts: 0, putBytes: 0, removes: 0, removeBytes: 0 }));
  const keyBytes = Buffer.byteLength(storedKey); // the stored key, `<name>␟<key>`
  if (value === null) {
    t.removes += 1;
    t.removeBytes += keyBytes;
  } else {
    t.puts += 1;
    t.putBytes += keyBytes + (typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength);
  }
}

/** The process's write_bytes so far (0 where /proc is absent). */
export function writeBytesNow(): number {
  try {
    return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** One commit's names written (sub-store names; duplicates allowed), its puts, the write_bytes it started at. */
export class TraceCommit {
  readonly names = new Set<string>();
  puts = 0;
  private readonly start = writeBytesNow();

  constructor(
    private readonly engine: string,
    private readonly file: string,
  ) {}

  touch(name: string): void {
    this.names.add(name);
    this.puts += 1;
  }

  end(): void {
    if (this.names.size === 0) return;
    const group = [...this.names].sort().join('+');
    const store = `${this.engine} ${this.file}`;
    let byEngine = totals.get(store);
    if (!byEngine) totals.set(store, (byEngine = new Map()));
    const t = byEngine.get(group) ?? { commits: 0, puts: 0, bytes: 0 };
    t.commits += 1;
    t.puts += this.puts;
    t.bytes += Math.max(0, writeBytesNow() - this.start);
    byEngine.set(group, t);
  }
}

/** Appends a note about a store (e.g. LevelDB's compaction statistics) to the trace file, when tracing. */
export function traceNote(engine: string, file: string, note: Record<string, unknown>): void {
  if (FILE !== null) appendFileSync(FILE, `${JSON.stringify({ engine, file, ...note, pid: process.pid })}\n`);
}

/** Appends a store's totals (then forgets them), one JSON line per group, largest first. */
export function flushTrace(engine: string, file: string): void {
  const store = `${engine} ${file}`;
  const byEngine = totals.get(store);
  if (FILE === null || !byEngine) return;
  totals.delete(store);
  const subs = subTotals.get(store);
  subTotals.delete(store);
  if (subs) {
    const rows = [...subs].sort((a, b) => b[1].putBytes + b[1].removeBytes - (a[1].putBytes + a[1].removeBytes)).map(([name, t]) => JSON.stringify({ engine, file, subStore: name, ...t, pid: process.pid }));
    appendFileSync(FILE, `${rows.join('\n')}\n`);
  }
  const lines = [...byEngine].sort((a, b) => b[1].bytes - a[1].bytes).map(([group, t]) => JSON.stringify({ engine, file, group, ...t, pid: process.pid }));
  appendFileSync(FILE, `${lines.join('\n')}\n`);
}

// A store not closed before the process ends (an error path, a command that exits) still reports.
if (FILE !== null) {
  process.once('exit', () => {
    for (const key of [...totals.keys()]) {
      const [engine, ...file] = key.split(' ');
      flushTrace(engine!, file.join(' '));
    }
  });
}
