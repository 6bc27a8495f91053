import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import { ingestDrop } from '../src/ingest/ingest-drop.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import { BusIngestSink } from '../src/pipeline/bus-sink.js';
import { loadFamilies, type StoredLineRecord } from '../src/pipeline/ledgers.js';
import { LiquidationService } from '../src/pipeline/liquidation-service.js';
import { referencePaths } from '../src/pipeline/reference.js';
import { LIQUIDATION_GROUP, LIQUIDATION_TOPICS } from '../src/pipeline/keys.js';
import { prepareDrop } from './support.js';

/**
 * What keeping each line's input costs the ledger (src/pipeline/README.md "Re-liquidation"): a
 * generated drop liquidated on the embedded bus, then every line record of every family read back
 * from counters-changelog and measured as JSON, with and without its `input`, beside the act line
 * as its own JSON (the pointer alternative, topic + partition + offset, is given for comparison).
 *
 *   npm run build && node dist/bench/line-input-size.js [--lines 5000] [--dir <dir>]
 */
const { values } = parseArgs({ options: { lines: { type: 'string' }, dir: { type: 'string' } } });
const lines = Number(values.lines ?? 5000);
const { dir, ref, drop } = await prepareDrop(lines, values.dir);
const paths = referencePaths(ref);
const { index } = await loadBeneficiaries(join(ref, `beneficiaries-${lines}.csv`));
const home = join(dir, `home-input-size-${Date.now()}`);
const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
await ingestDrop(drop, { sink: new BusIngestSink(bus) });
const service = await LiquidationService.start({ bus, beneficiaries: index, reference: paths, workers: 0 });
for (;;) {
  const lag = await bus.lag(LIQUIDATION_GROUP, LIQUIDATION_TOPICS);
  if (lag.every((l) => l.lag === 0)) break;
  await new Promise((r) => setTimeout(r, 200));
}
await service.stop();
const families = await loadFamilies(bus);
let records = 0;
let withInput = 0;
let inputBytes = 0;
let recordBytes = 0;
let lineBytes = 0;
for (const family of families.values()) {
  for (const bucket of Object.values(family.state.lines)) {
    for (const [key, r] of Object.entries(bucket)) {
      const record = r as StoredLineRecord;
      records += 1;
      const { input, ...rest } = record;
      const entry = Buffer.byteLength(JSON.stringify({ [key]: rest }));
      recordBytes += entry;
      if (input) {
        withInput += 1;
        inputBytes += Buffer.byteLength(JSON.stringify({ [key]: record })) - entry;
      }
    }
  }
}
for (const topic of ['decompte-lines', 'invoice-lines'] as const) {
  for (const { partition, high } of await bus.endOffsets(topic)) {
    if (high === 0) continue;
    for await (const batch of bus.readRange(topic, partition, { from: 0, to: high })) for (const r of batch) lineBytes += Buffer.byteLength(JSON.stringify(r.value.line));
  }
}
await bus.close();
const per = (n: number, d: number) => Math.round(n / Math.max(1, d));
process.stdout.write(`${JSON.stringify({
  lines, families: families.size, records, withInput,
  inputBytesPerLine: per(inputBytes, withInput),
  recordBytesWithoutInput: per(recordBytes, records),
  actLineJsonBytes: per(lineBytes, withInput),
  pointerBytes: Buffer.byteLength(',"src":["decompte-lines",3,123456]'),
}, null, 1)}\n`);
