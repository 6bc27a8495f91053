// Are two `noemie run --once` homes the same in what they produced? The check every A/B bench
// pair needs before its figures mean anything (a faster build that pays differently is not faster):
//   node bench/compare-homes.mjs <home A> <home B> [--mask-field inputHash] [--mask-field …]
// Compares:
// - `statements/`: every file, byte for byte (names and contents);
// - `payments/<run>/`: the runs paired in name order; orders.ndjson, report.csv / .json / .html and
//   the pain.001 file with what differs between any two runs masked (run ids, instants, the
//   EndToEndId / message ids derived from the run);
// - `bus/<topic>/<p>.log`: every record, in order, with its append time masked; a topic whose
//   records are the same but in another order is reported as such (the reconciliation's outcomes
//   of two runs can interleave differently across batches); the `*-changelog` topics are internal
//   state as each batch left it, so their differences are reported but do not fail the comparison.
// `--mask-field f` also masks the JSON string field `f` everywhere (a field a change altered on
// purpose, e.g. `inputHash`). Exit 1 when anything differs. Memory: one 16-byte digest a record.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'mask-field': { type: 'string', multiple: true, default: [] } } });
if (positionals.length !== 2) throw new Error('usage: compare-homes.mjs <home A> <home B> [--mask-field f]…');
const [homeA, homeB] = positionals;

const MASKS = [
  [/"t":\d+/g, '"t":0'],
  [/run-\d{8}T\d{6}Z/g, 'run-RUN'],
  [/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/g, 'INSTANT'],
  [/\bP[0-9A-F]{32}\b/g, 'E2E'],
  [/\b(NOE|PMT)[0-9A-F]{32}\b/g, 'MSGID'],
  ...values['mask-field'].map((f) => [new RegExp(`"${f}":"[^"]*"`, 'g'), `"${f}":"MASKED"`]),
];
const mask = (line) => MASKS.reduce((text, [re, by]) => text.replace(re, by), line);
const digest = (text) => createHash('md5').update(text).digest('hex');

/** each line's digest, masked, in file order; and without its offset (`"o"`), for an order-free comparison */
async function lineDigests(file) {
  const inOrder = [];
  const orderFree = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const masked = mask(line);
    inOrder.push(digest(masked));
    orderFree.push(digest(masked.replace(/^\{"o":\d+,/, '{')));
  }
  return { inOrder, orderFree };
}

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const results = [];
const report = (what, verdict, detail = '') => results.push({ what, verdict, detail });

async function compareLines(what, fileA, fileB, orderMayDiffer, informational = false) {
  const [{ inOrder: a, orderFree: oa }, { inOrder: b, orderFree: ob }] = await Promise.all([lineDigests(fileA), lineDigests(fileB)]);
  if (a.length === b.length && a.every((d, i) => d === b[i])) return report(what, 'same', `${a.length} records`);
  if (orderMayDiffer && a.length === b.length) {
    const sa = [...oa].sort(); const sb = [...ob].sort();
    if (sa.every((d, i) => d === sb[i])) return report(what, 'same (order differs)', `${a.length} records`);
  }
  const first = a.findIndex((d, i) => d !== b[i]);
  report(what, informational ? 'differs (internal)' : 'DIFFERENT', `${a.length} / ${b.length} records, first difference at record ${first < 0 ? Math.min(a.length, b.length) : first}`);
}

async function compareStatements() {
  const dirA = join(homeA, 'statements'); const dirB = join(homeB, 'statements');
  const a = filesUnder(dirA); const b = filesUnder(dirB);
  if (a.length === 0 && b.length === 0) return;
  const onlyOne = a.filter((f) => !b.includes(f)).length + b.filter((f) => !a.includes(f)).length;
  let differ = 0;
  const bSet = new Set(b);
  for (const f of a) {
    if (!bSet.has(f)) continue;
    const [da, db] = await Promise.all([fileDigest(join(dirA, f)), fileDigest(join(dirB, f))]);
    if (da !== db) differ += 1;
  }
  report('statements/', onlyOne + differ === 0 ? 'same' : 'DIFFERENT', `${a.length} / ${b.length} files, ${differ} differ, ${onlyOne} in one home only`);
}

function fileDigest(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(file).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

async function comparePayments() {
  const runs = (home) => (existsSync(join(home, 'payments')) ? readdirSync(join(home, 'payments')).filter((d) => d.startsWith('run-') && statSync(join(home, 'payments', d)).isDirectory()).sort() : []);
  const ra = runs(homeA); const rb = runs(homeB);
  if (ra.length !== rb.length) report('payments/', 'DIFFERENT', `${ra.length} / ${rb.length} runs`);
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const da = join(homeA, 'payments', ra[i]); const db = join(homeB, 'payments', rb[i]);
    const kind = (f) => (f.startsWith('pain.001') ? 'pain.001.xml' : f);
    const fa = new Map(readdirSync(da).map((f) => [kind(f), f])); const fb = new Map(readdirSync(db).map((f) => [kind(f), f]));
    for (const k of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
      if (!fa.has(k) || !fb.has(k)) { report(`payments/run ${i + 1}/${k}`, 'DIFFERENT', 'in one home only'); continue; }
      await compareLines(`payments/run ${i + 1}/${k}`, join(da, fa.get(k)), join(db, fb.get(k)), false);
    }
  }
}

async function compareTopics() {
  const topics = (home) => (existsSync(join(home, 'bus')) ? readdirSync(join(home, 'bus')).filter((t) => statSync(join(home, 'bus', t)).isDirectory()).sort() : []);
  const ta = topics(homeA); const tb = new Set(topics(homeB));
  for (const t of ta) {
    if (!tb.has(t)) { report(`bus/${t}`, 'DIFFERENT', 'in one home only'); continue; }
    const logs = readdirSync(join(homeA, 'bus', t)).filter((f) => f.endsWith('.log')).sort();
    for (const f of logs) {
      const b = join(homeB, 'bus', t, f);
      if (!existsSync(b)) { report(`bus/${t}/${f}`, 'DIFFERENT', 'in one home only'); continue; }
      // a changelog holds the state as each batch left it: two runs cut batches at other records
      await compareLines(`bus/${t}/${f}`, join(homeA, 'bus', t, f), b, true, t.endsWith('-changelog'));
    }
  }
}

await compareStatements();
await comparePayments();
await compareTopics();
const width = Math.max(...results.map((r) => r.what.length));
for (const r of results) process.stdout.write(`${r.what.padEnd(width)}  ${r.verdict.padEnd(20)}  ${r.detail}\n`);
const different = results.filter((r) => r.verdict === 'DIFFERENT').length;
process.stdout.write(different === 0 ? `the same: ${results.length} checks\n` : `${different} of ${results.length} checks differ\n`);
process.exitCode = different === 0 ? 0 : 1;
