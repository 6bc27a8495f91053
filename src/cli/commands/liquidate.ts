import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename } from 'node:path';
import { Decimal } from 'decimal.js';
import { readDrop } from '../../ingest/drop.js';
import { IngestError } from '../../ingest/types.js';
import { emptyState, liquidate, stateKeyOf, type EngineState } from '../../engine/index.js';
import { describeOrigin } from '../../model/issues.js';
import type { Settlement } from '../../model/settlement.js';
import { zipLimits } from '../../config.js';
import { maskPersonalData } from '../../log.js';
import { UsageError, parseFlags, writeLine, type Command } from '../command.js';
import { REFERENCE_FLAGS, REFERENCE_USAGE, loadReference } from '../reference.js';
import { readLedgers, writeLedgers } from '../ledger-file.js';
import { JSON_FLAG, jsonUsage, writeJson } from '../json-output.js';

const USAGE = `noemie liquidate --in <drop or file> [--beneficiaries <csv>] [--grids <dir>] [--state <file>] [--out <file>] [--as-of <date>] [--json]

Liquidates every act line of a drop without any bus and writes one settlement per line as NDJSON
(stdout, or --out). Counters are carried across the lines of the run, and across runs with --state.
  --in <path>       a drop: .zip, .noemie, .csv, .xml, or an invoice .json
  --state <file>    family ledgers read before and written after the run (created when missing)
  --as-of <date>    the liquidation date the 2-year prescription is judged against (default: today)
  --out <file>      the NDJSON settlements go there instead of stdout
${jsonUsage('liquidate')}:
                    the figures (lines per status, AMC total, rejects); needs --out (stdout holds the document)
${REFERENCE_USAGE}

exit code: 0 all parts read, 1 a part was refused (its lines are not liquidated), 2 usage error`;

const FLAGS = { in: { type: 'string' }, state: { type: 'string' }, out: { type: 'string' }, 'as-of': { type: 'string' }, ...JSON_FLAG, ...REFERENCE_FLAGS } as const;

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
    const reference = await loadReference(values);
    const context = { grids: reference.grids, nomenclature: reference.nomenclature, pmss: reference.pmss, asOf };
    const ledgers = new Map<string, EngineState>(Object.entries(await readLedgers(values.state)));

    const out = values.out ? createWriteStream(values.out) : io.out;
    const emit = async (s: Settlement) => {
      // Respect the consumer's pace: a slow pipe must not make us buffer a whole drop of settlements.
      if (!out.write(`${JSON.stringify(s)}\n`)) await once(out, 'drain');
    };

    const tally = { lines: 0, rejected: 0, byStatus: new Map<string, number>(), amc: new Decimal(0) };
    let refused = 0;
    for await (const part of readDrop(values.in, { limits: zipLimits(), name: basename(values.in) })) {
      try {
        for await (const ev of part.events) {
          if (ev.kind === 'reject') {
            tally.rejected++;
            const first = ev.rejected.issues[0];
            writeLine(io.err, maskPersonalData(`rejected ${describeOrigin(ev.rejected.origin)}: ${first?.path.join('.')} ${first?.message}`));
            continue;
          }
          const request = { line: ev.line, beneficiary: reference.beneficiaries.byNirRang(ev.line.nir, ev.line.rang) };
          const key = stateKeyOf(request);
          const before = ledgers.get(key) ?? emptyState();
          const { settlement, state } = liquidate(request, context, before);
          ledgers.set(key, state);
          tally.lines++;
          tally.byStatus.set(settlement.status, (tally.byStatus.get(settlement.status) ?? 0) + 1);
          tally.amc = tally.amc.plus(settlement.amcAmount);
          await emit(settlement);
        }
      } catch (e) {
        if (!(e instanceof IngestError)) throw e;
        refused++;
        writeLine(io.err, maskPersonalData(`refused ${part.file}${part.entry ? `!${part.entry}` : ''} [${e.code}]: ${e.message}`));
      }
    }
    if (values.out) {
      (out as NodeJS.WritableStream & { end(): void }).end();
      await once(out, 'finish');
    }
    if (values.state) await writeLedgers(values.state, Object.fromEntries(ledgers));
    const exitCode = refused > 0 ? 1 : 0;
    if (values.json) {
      writeJson(io, 'liquidate', {
        in: values.in, out: values.out, lines: tally.lines, byStatus: Object.fromEntries(tally.byStatus), amcTotal: tally.amc.toFixed(2),
        rejected: tally.rejected, refusedParts: refused, exitCode,
      });
      return exitCode;
    }
    const statuses = [...tally.byStatus].map(([s, n]) => `${s} ${n}`).join(', ');
    writeLine(io.err, `liquidated ${tally.lines} lines (${statuses || 'none'}), AMC total ${tally.amc.toFixed(2)} €, ${tally.rejected} records rejected, ${refused} parts refused`);
    return exitCode;
  },
};
