import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { readDrop } from '../../ingest/drop.js';
import { IngestError, type CsvRowLayout } from '../../ingest/types.js';
import { sumMoneyText } from '../../model/cents.js';
import { describeOrigin, firstIssueText, type Origin, type RejectedRecord } from '../../model/issues.js';
import { DropLiquidator, type RowBatch } from '../../pipeline/drop-liquidator.js';
import type { ShardRequest, ShardResult, ShardRowResult } from '../../pipeline/drop-shard.js';
import { rowRouter, type RowRouter } from '../../pipeline/drop-rows.js';
import { zipLimits } from '../../config.js';
import { maskPersonalData } from '../../log.js';
import { UsageError, parseFlags, writeLine, type Command } from '../command.js';
import { REFERENCE_FLAGS, REFERENCE_USAGE, loadReference } from '../reference.js';
import { readLedgerPieces, writeLedgerPieces } from '../ledger-file.js';
import { JSON_FLAG, jsonUsage, writeJson } from '../json-output.js';

const USAGE = `noemie liquidate --in <drop or file> [--beneficiaries <csv>] [--grids <dir>] [--state <file>] [--out <file>] [--as-of <date>] [--workers <n>] [--json]

Liquidates every act line of a drop without any bus and writes one settlement per line as NDJSON
(stdout, or --out). Counters are carried across the lines of the run, and across runs with --state.
  --in <path>       a drop: .zip, .noemie, .csv, .xml, or an invoice .json
  --state <file>    family ledgers read before and written after the run (created when missing)
  --as-of <date>    the liquidation date the 2-year prescription is judged against (default: today)
  --out <file>      the NDJSON settlements go there instead of stdout
  --workers <n>     liquidation threads, each owning the ledgers of its share of the families
                    (default: 2, or 1 on a one-core machine; 0: in this thread)
${jsonUsage('liquidate')}:
                    the figures (lines per status, AMC total, rejects); needs --out (stdout holds the document)
${REFERENCE_USAGE}

exit code: 0 all parts read, 1 a part was refused (its lines are not liquidated), 2 usage error`;

const FLAGS = { in: { type: 'string' }, state: { type: 'string' }, out: { type: 'string' }, 'as-of': { type: 'string' }, workers: { type: 'string' }, ...JSON_FLAG, ...REFERENCE_FLAGS } as const;

/** Lines per batch handed to the shards, and batches in flight: the reader parses the next batch while the threads liquidate. */
const BATCH_LINES = 4096;
const IN_FLIGHT = 2;

/** A CSV part being read as rows: where they come from, their layout, and how each is routed. */
interface RowFile {
  where: { file: string; entry?: string };
  layout: CsvRowLayout;
  route: RowRouter;
}

type Outcome = ShardResult & Pick<ShardRowResult, 'lines' | 'rejects'>;

/** A batch handed to the shards, and what to say about it once its settlements are written. */
interface Pending {
  result: Promise<Outcome>;
  /** the rejects found while reading (before `at` rows of the batch), ready to be said */
  rejects: { at: number; message: string }[];
  /** the origin of the batch's row `row`, to name the rejects found by the shards */
  originOf(row: number): Origin;
  /** said after the batch (a part's refusal) */
  after: string[];
}

const rejectMessage = (origin: Origin, detail: string) => `rejected ${describeOrigin(origin)}: ${detail}`;

/** The next batch: the rows of one CSV part, or the act lines of one part of another format. */
class Batch {
  size = 0;
  readonly rejects: Pending['rejects'] = [];
  private readonly requests: ShardRequest[] = [];
  private rows: RowBatch | null = null;

  row(file: RowFile, record: number, text: string): void {
    this.rows ??= { where: file.where, layout: file.layout, texts: [], records: [], beneficiaries: [], families: [] };
    const { family, beneficiary } = file.route(text);
    this.rows.texts.push(text);
    this.rows.records.push(record);
    this.rows.beneficiaries.push(beneficiary);
    this.rows.families.push(family);
    this.size++;
  }

  line(request: ShardRequest): void {
    this.requests.push(request);
    this.size++;
  }

  reject(rejected: RejectedRecord): void {
    this.rejects.push({ at: this.size, message: rejectMessage(rejected.origin, firstIssueText(rejected)) });
  }

  send(liquidator: DropLiquidator, asOf: string, after: string[]): Pending {
    const rows = this.rows;
    const nothing: Outcome = { bytes: new Uint8Array(0), ends: new Uint32Array(0), statuses: {}, amcTotal: '0.00', lines: 0, rejects: [] };
    const result: Promise<Outcome> =
      rows !== null
        ? liquidator.liquidateRows(rows, asOf)
        : this.requests.length > 0
          ? liquidator.liquidate(this.requests, asOf).then((r) => ({ ...r, lines: this.requests.length, rejects: [] }))
          : Promise.resolve(nothing);
    return { result, rejects: this.rejects, originOf: (row) => ({ ...rows!.where, record: rows!.records[row]! }), after };
  }
}

/** A batch's rejects in the order their records were read: those found while reading, and the shards'. */
function* inReadOrder(pending: Pending, found: Outcome['rejects']): Generator<string> {
  let j = 0;
  for (const local of pending.rejects) {
    for (; j < found.length && found[j]!.row < local.at; j++) yield rejectMessage(pending.originOf(found[j]!.row), found[j]!.detail);
    yield local.message;
  }
  for (; j < found.length; j++) yield rejectMessage(pending.originOf(found[j]!.row), found[j]!.detail);
}

export const command: Command = {
  name: 'liquidate',
  summary: 'liquidate a drop against the guarantee grids, no bus: NDJSON settlements',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, FLAGS, false);
    if (!values.in) throw new UsageError('--in <drop or file> is required');
    if (values.json && !values.out) throw new UsageError('--json needs --out <file> for the settlements: stdout holds the JSON document');
    const asOf = values['as-of'] ?? new Date().toISOString().slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new UsageError(`--as-of expects YYYY-MM-DD, got "${asOf}"`);
    const workers = values.workers === undefined ? Math.min(2, availableParallelism()) : Number(values.workers);
    if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new UsageError(`--workers expects a whole number from 0 to 64, got "${values.workers}"`);
    const reference = await loadReference(values);
    const liquidator = DropLiquidator.open({ workers, reference: { grids: reference.grids, nomenclature: reference.nomenclature, pmss: reference.pmss } });

    const out = values.out ? createWriteStream(values.out) : io.out;
    const tally = { lines: 0, rejected: 0, byStatus: new Map<string, number>(), amc: '0.00' };
    const say = (message: string) => writeLine(io.err, maskPersonalData(message));
    // Batches in input order; each written when it and every batch before it are liquidated, with
    // its rejects (found here, or by the shards) and any refusal after it, in the order read.
    const inFlight: Pending[] = [];
    const writeOldest = async () => {
      const pending = inFlight.shift()!;
      const result = await pending.result;
      tally.lines += result.lines;
      tally.rejected += pending.rejects.length + result.rejects.length;
      for (const [status, n] of Object.entries(result.statuses)) tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + n);
      tally.amc = sumMoneyText([tally.amc, result.amcTotal]);
      for (const message of inReadOrder(pending, result.rejects)) say(message);
      // Respect the consumer's pace: a slow pipe must not make us buffer a whole drop of settlements.
      if (result.bytes.length > 0 && !out.write(result.bytes)) await once(out, 'drain');
      for (const message of pending.after) say(message);
    };
    let batch = new Batch();
    const submit = async (after: string[] = []) => {
      if (batch.size === 0 && batch.rejects.length === 0 && after.length === 0) return;
      inFlight.push(batch.send(liquidator, asOf, after));
      batch = new Batch();
      if (inFlight.length >= IN_FLIGHT) await writeOldest();
    };

    let refused = 0;
    try {
      await DropLiquidator.sweep();
      for await (const pieces of readLedgerPieces(values.state)) await liquidator.load(pieces);
      for await (const part of readDrop(values.in, { limits: zipLimits(), name: basename(values.in) })) {
        const where = part.entry === undefined ? { file: part.file } : { file: part.file, entry: part.entry };
        try {
          if (part.rows !== undefined) {
            // A CSV: rows routed raw to their family's shard, validated there (the codec's check).
            let file: RowFile | undefined;
            for await (const ev of part.rows) {
              if (ev.kind === 'layout') file = { where, layout: ev.layout, route: rowRouter(ev.layout, reference.beneficiaries) };
              else if (ev.kind === 'reject') batch.reject(ev.rejected);
              else {
                batch.row(file!, ev.record, ev.text);
                if (batch.size >= BATCH_LINES) await submit();
              }
            }
          } else {
            for await (const ev of part.events) {
              if (ev.kind === 'reject') {
                batch.reject(ev.rejected);
                continue;
              }
              batch.line({ line: ev.line, beneficiary: reference.beneficiaries.byNirRang(ev.line.nir, ev.line.rang) ?? null });
              if (batch.size >= BATCH_LINES) await submit();
            }
          }
        } catch (e) {
          if (!(e instanceof IngestError)) throw e;
          refused++;
          // A refused part's lines read before the refusal are liquidated, as they were line by line.
          await submit([`refused ${part.file}${part.entry ? `!${part.entry}` : ''} [${e.code}]: ${e.message}`]);
        }
        await submit();
      }
      while (inFlight.length > 0) await writeOldest();
      if (values.state) await writeLedgerPieces(values.state, liquidator.dump());
    } finally {
      await Promise.allSettled(inFlight.map((p) => p.result));
      await liquidator.close();
    }
    if (values.out) {
      (out as NodeJS.WritableStream & { end(): void }).end();
      await once(out, 'finish');
    }
    const exitCode = refused > 0 ? 1 : 0;
    if (values.json) {
      writeJson(io, 'liquidate', {
        in: values.in, out: values.out, lines: tally.lines, byStatus: Object.fromEntries(tally.byStatus), amcTotal: tally.amc,
        rejected: tally.rejected, refusedParts: refused, exitCode,
      });
      return exitCode;
    }
    const statuses = [...tally.byStatus].map(([s, n]) => `${s} ${n}`).join(', ');
    writeLine(io.err, `liquidated ${tally.lines} lines (${statuses || 'none'}), AMC total ${tally.amc} €, ${tally.rejected} records rejected, ${refused} parts refused`);
    return exitCode;
  },
};
