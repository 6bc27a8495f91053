import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { parseArgs } from 'node:util';
import { decodeCsvRow } from '../src/ingest/csv/index.js';
import { CSV_COLUMN_NAMES, CSV_COLUMNS } from '../src/model/act-line.js';
import type { Settlement } from '../src/model/settlement.js';
import type { IngestEvent } from '../src/ingest/types.js';

/**
 * What the service's thread pays per record for two thread crossings of `noemie run`
 * (bench/README.md "Session 12 — mainthread"), CPU µs per record, best of `--rounds`:
 * - a settlement back from a liquidation worker: the settlement object with its JSON (before)
 *   against its JSON and a summary (pool-messages.ts WrittenOutcome), deserialised per task of 256;
 * - a CSV row: validated here (`decodeCsvRow`, before) against its event received back from the
 *   row decoder's worker (a batch of 512 deserialised, row-decoder.ts), and against the same
 *   events packed as a pool task's lines are (values without names, task-lines.ts) and rebuilt.
 *
 *   npm run bench:mainthread-clone -- --drop <drop.csv> --settlements <home>/bus/settlements/0.log [--rows 40000] [--rounds 5]
 * (the files of a `bench:run -- --keep` home: its drop under gen-<lines>/, its settlements' log)
 */
const { values } = parseArgs({ options: { drop: { type: 'string' }, settlements: { type: 'string' }, rows: { type: 'string' }, rounds: { type: 'string' } } });
if (!values.drop || !values.settlements) throw new Error('--drop <csv> and --settlements <log> are required');
const n = Number(values.rows ?? 40_000);
const rounds = Number(values.rounds ?? 5);

const cpuUs = (fn: () => void): number => {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return d.user + d.system;
};
const best = (fn: () => void, per: number) => Math.min(...Array.from({ length: rounds }, () => cpuUs(fn))) / per;

// settlements: the values of the log's records, as the workers make them
const settlements = readFileSync(values.settlements, 'utf8').split('\n').filter(Boolean).slice(0, n).map((l) => (JSON.parse(l) as { v: Settlement }).v);
const tasks: Buffer[][] = [[], []];
for (let i = 0; i < settlements.length; i += 256) {
  const slice = settlements.slice(i, i + 256);
  tasks[0]!.push(serialize({ outcomes: slice.map((s) => ({ settlement: s, changed: true, json: JSON.stringify(s) })) }));
  tasks[1]!.push(serialize({ outcomes: [], written: slice.map((s) => ({ changed: true, json: JSON.stringify(s), lineKey: s.lineKey, adherentId: s.adherentId, status: s.status, amcAmount: s.amcAmount })) }));
}
const bytes = (bufs: Buffer[]) => bufs.reduce((a, b) => a + b.length, 0) / settlements.length;
console.log(`${settlements.length} settlements: clone bytes per settlement ${bytes(tasks[0]!).toFixed(0)} → ${bytes(tasks[1]!).toFixed(0)}`);
console.log(`  received per settlement, CPU µs: object + JSON ${best(() => tasks[0]!.forEach((b) => deserialize(b)), settlements.length).toFixed(2)}, JSON + summary ${best(() => tasks[1]!.forEach((b) => deserialize(b)), settlements.length).toFixed(2)}`);

// CSV rows of the drop
const [header, ...rows] = readFileSync(values.drop, 'utf8').split('\n').filter(Boolean);
const names = header!.split(';');
const layout = { positions: CSV_COLUMN_NAMES.map((c) => [CSV_COLUMNS[c], names.indexOf(c)] as const), width: names.length };
const some = rows.slice(0, n);
const where = { file: 'drop.csv' };
/** values without their names, the shape's names once per batch (the form task-lines.ts gives a pool task's lines) */
const pack = (events: IngestEvent[]) => {
  const shape = Object.keys((events.find((e) => e.kind === 'line') as Extract<IngestEvent, { kind: 'line' }>).line);
  return { shape, rows: events.map((e) => (e.kind === 'line' ? [e.origin.record, ...shape.map((k) => (e.line as unknown as Record<string, unknown>)[k])] : e)) };
};
const unpack = ({ shape, rows }: ReturnType<typeof pack>) =>
  rows.map((r) => {
    if (!Array.isArray(r)) return r;
    const line: Record<string, unknown> = {};
    for (let j = 0; j < shape.length; j++) line[shape[j]!] = r[j + 1];
    return { kind: 'line', line, origin: { ...where, record: r[0] } };
  });
const plain: Buffer[] = [];
const packed: Buffer[] = [];
for (let i = 0; i < some.length; i += 512) {
  const events = some.slice(i, i + 512).map((t, k) => decodeCsvRow(t, { ...where, record: i + k + 2 }, layout));
  plain.push(serialize(events));
  packed.push(serialize(pack(events)));
}
const decodeHere = best(() => some.forEach((t, i) => decodeCsvRow(t, { ...where, record: i + 2 }, layout)), some.length);
const receive = best(() => plain.forEach((b) => deserialize(b)), some.length);
const receivePacked = best(() => packed.forEach((b) => unpack(deserialize(b) as ReturnType<typeof pack>)), some.length);
const send = best(() => { for (let i = 0; i < some.length; i += 512) deserialize(serialize({ texts: some.slice(i, i + 512) })); }, some.length);
const per = (bufs: Buffer[]) => (bufs.reduce((a, b) => a + b.length, 0) / some.length).toFixed(0);
console.log(`${some.length} CSV rows: per row on the service's thread, CPU µs: decodeCsvRow ${decodeHere.toFixed(2)}; with the worker: rows sent ${send.toFixed(2)} (serialise + the worker's deserialise), events received ${receive.toFixed(2)} (${per(plain)} B), packed and rebuilt ${receivePacked.toFixed(2)} (${per(packed)} B)`);
