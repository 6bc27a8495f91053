// What a kept home's state changelog records hold (bench/README.md "Session 16 — changelog"):
//   node bench/profiles/changelog-records.mjs <home>/bus/counters-changelog   (or reconcile-changelog)
// Reads the embedded bus's partition logs (one JSON record a line: {"o","t","k","h","v"}) and
// prints records, bytes a record, the share of backslashes (a value written as a string of JSON:
// the form before session 16), the bytes of a key repeated in the value, of the values themselves,
// and for counters-changelog the heads and line pieces apart (with their `record.input`).
import { readdirSync, readFileSync } from 'node:fs';

const dir = process.argv[2];
if (!dir) throw new Error('usage: changelog-records.mjs <bus topic folder>');
const s = { records: 0, bytes: 0, backslashes: 0, keyInValue: 0, valueBytes: 0, stringForm: 0, heads: 0, headBytes: 0, lines: 0, lineBytes: 0, inputBytes: 0, undos: 0, removals: 0 };
for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
  for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) {
    if (!line) continue;
    s.records++;
    s.bytes += Buffer.byteLength(line) + 1;
    for (let i = line.indexOf('\\'); i !== -1; i = line.indexOf('\\', i + 1)) s.backslashes++;
    const r = JSON.parse(line);
    if (typeof r.v.key === 'string') s.keyInValue += Buffer.byteLength(JSON.stringify(r.v.key)) + 7;
    const v = r.v.value;
    if (v === null) { s.removals++; continue; }
    if (typeof v === 'string') s.stringForm++;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    const bytes = Buffer.byteLength(text);
    s.valueBytes += bytes;
    const p = typeof v === 'string' ? JSON.parse(v) : v;
    // a ledger line piece since session 17: [4, seq, record, undo] (src/pipeline/line-piece.ts; the input at record[16], itself [at, n0, n1, line])
    if (Array.isArray(p) && p[0] === 4 && r.k.includes('#')) {
      s.lines++;
      s.lineBytes += bytes;
      if (p[3] !== null) s.undos++;
      if (p[2]?.[16] != null) s.inputBytes += Buffer.byteLength(JSON.stringify(p[2][16]));
      continue;
    }
    if (Array.isArray(p)) { if (p.length > 3 && p[3] !== null) s.undos++; continue; }
    if (p.piece === 'head') { s.heads++; s.headBytes += bytes; continue; }
    s.lines++;
    s.lineBytes += bytes;
    if (p.undo) s.undos++;
    if (p.record?.input) s.inputBytes += Buffer.byteLength(JSON.stringify(p.record.input));
  }
}
const per = (n, d) => (d > 0 ? Math.round(n / d) : 0);
console.log({
  records: s.records, bytesPerRecord: per(s.bytes, s.records), backslashShare: +(s.backslashes / s.bytes).toFixed(3),
  keyInValueBytesPerRecord: per(s.keyInValue, s.records), valueBytesPerRecord: per(s.valueBytes, s.records - s.removals),
  envelopeBytesPerRecord: per(s.bytes - s.valueBytes - s.backslashes, s.records), stringForm: s.stringForm, removals: s.removals, undos: s.undos,
  ...(s.heads + s.lines > 0 ? { heads: s.heads, bytesPerHead: per(s.headBytes, s.heads), linePieces: s.lines, bytesPerLinePiece: per(s.lineBytes, s.lines), inputBytesPerLinePiece: per(s.inputBytes, s.lines) } : {}),
});
