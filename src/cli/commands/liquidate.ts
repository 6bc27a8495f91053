import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { readDrop } from '../../ingest/drop.js';
import { IngestError } from '../../ingest/types.js';
import { sumMoneyText } from '../../model/cents.js';
import { describeOrigin } from '../../model/issues.js';
import { DropLiquidator } from '../../pipeline/drop-liquidator.js';
import type { ShardRequest, ShardResult } from '../../pipeline/drop-shard.js';
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
    // Batches in input order; each written when it and every batch before it are liquidated.
    const inFlight: Promise<ShardResult>[] = [];
    const writeOldest = async () => {
      const result = await inFlight.shift()!;
      for (const [status, n] of Object.entries(result.statuses)) tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + n);
      tally.amc = sumMoneyText([tally.amc, result.amcTotal]);
      // Respect the consumer's pace: a slow pipe must not make us buffer a whole drop of settlements.
      if (result.bytes.length > 0 && !out.write(result.bytes)) await once(out, 'drain');
    };
    let batch: ShardRequest[] = [];
    const submit = async () => {
      if (batch.length === 0) return;
      tally.lines += batch.length;
      inFlight.push(liquidator.liquidate(batch, asOf));
      batch = [];
      if (inFlight.length >= IN_FLIGHT) await writeOldest();
    };

    let refused = 0;
    try {
      await DropLiquidator.sweep();
      for await (const pieces of readLedgerPieces(values.state)) await liquidator.load(pieces);
      for await (const part of readDrop(values.in, { limits: zipLimits(), name: basename(values.in) })) {
        try {
          for await (const ev of part.events) {
            if (ev.kind === 'reject') {
              tally.rejected++;
              const first = ev.rejected.issues[0];
              writeLine(io.err, maskPersonalData(`rejected ${describeOrigin(ev.rejected.origin)}: ${first?.path.join('.')} ${first?.message}`));
              continue;
            }
            batch.push({ line: ev.line, beneficiary: reference.beneficiaries.byNirRang(ev.line.nir, ev.line.rang) ?? null });
            if (batch.length >= BATCH_LINES) await submit();
          }
        } catch (e) {
          if (!(e instanceof IngestError)) throw e;
          refused++;
          writeLine(io.err, maskPersonalData(`refused ${part.file}${part.entry ? `!${part.entry}` : ''} [${e.code}]: ${e.message}`));
        }
        // A refused part's lines read before the refusal are liquidated, as they were line by line.
        await submit();
      }
      while (inFlight.length > 0) await writeOldest();
      if (values.state) await writeLedgerPieces(values.state, liquidator.dump());
    } finally {
      await Promise.allSettled(inFlight);
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
