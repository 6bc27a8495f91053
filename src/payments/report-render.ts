import { Decimal } from 'decimal.js';
import { escapeHtml, euros } from '../statement/format.js';
import { SETTLED_FIELDS, type RunReport } from './report.js';

/**
 * The payment-run report as CSV (one row per order, held order, blocked payee) and as one
 * self-contained HTML page in the statement's style (inline CSS and SVG, no script, no URL: it is
 * mailed and archived). Amounts stay decimal strings; the chart's geometry is decimal.js too.
 */

// ---- CSV ----------------------------------------------------------------------------------------

export const REPORT_CSV_HEADER = ['section', 'paymentId', 'payee', 'name', 'amount', 'iban', 'endToEndId', 'messageId', 'fileName', 'lines', 'debtBefore', 'debtAfter', 'reason'] as const;

/** A spreadsheet must not run a cell as a formula (=, +, -, @ first): text cells get a leading quote. */
function cell(value: string | number | null, text = true): string {
  let v = value === null ? '' : String(value);
  if (text && /^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[;"\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * `;`-separated (what French spreadsheets open), `.` decimals (what accounting tools import). Sections:
 * `transferred` (in a pain.001), `zero` (0.00, nothing sent), `recovery` (owed by the payee, carried),
 * `held` (awaiting approval), `blocked` (no usable account), `carried` (blocked, or held by the per-order
 * ceiling, by an earlier run, not decided again: nothing changed for the payee), `returned` (bank returns applied since the
 * previous run: the returned EndToEndId, the bank file in `fileName`), `repaid` (this run's orders paying
 * returned lines again: the new EndToEndId, the returned ones in `reason`).
 */
export function* reportCsv(r: RunReport): Generator<string> {
  yield `${REPORT_CSV_HEADER.join(';')}\n`;
  const row = (section: string, f: Partial<Record<(typeof REPORT_CSV_HEADER)[number], string | number | null>>) =>
    `${REPORT_CSV_HEADER.map((h) => (h === 'section' ? section : cell(f[h] ?? null, !['amount', 'lines', 'debtBefore', 'debtAfter'].includes(h)))).join(';')}\n`;
  for (const o of r.transferred.orders) yield row('transferred', { paymentId: o.paymentId, payee: o.payee, name: o.name, amount: o.amount, iban: o.iban, endToEndId: o.endToEndId, messageId: o.messageId, fileName: o.fileName, lines: o.lines, debtBefore: o.debtBefore, debtAfter: '0.00' });
  for (const o of r.zero.items) yield row('zero', { paymentId: o.paymentId, payee: o.payee, amount: '0.00', lines: o.lines, debtBefore: o.debtBefore, debtAfter: '0.00' });
  for (const o of r.recoveries.items) yield row('recovery', { paymentId: o.paymentId, payee: o.payee, amount: o.amount, lines: o.lines, debtBefore: o.debtBefore, debtAfter: o.debtAfter });
  for (const h of r.held.items) yield row('held', { paymentId: h.paymentId, payee: h.payee, amount: h.amount, lines: h.lines, reason: h.reason });
  for (const b of r.blocked.items) yield row('blocked', { payee: b.payee, amount: b.amount, lines: b.lines, reason: b.reason });
  for (const b of r.carried?.items ?? []) yield row('carried', { payee: b.payee, amount: b.amount, lines: b.lines, reason: `${b.reason} (${b.kind === 'held' ? 'held' : 'blocked'} since ${b.since})` });
  for (const x of r.returned.items) yield row('returned', { paymentId: x.paymentId, payee: x.payee, amount: x.amount, endToEndId: x.endToEndId, fileName: x.file, reason: x.reason });
  for (const x of r.returned.repaid?.items ?? []) yield row('repaid', { paymentId: x.paymentId, payee: x.payee, amount: x.amount, endToEndId: x.endToEndId, lines: x.lines, reason: `re-payment of ${x.returnedEndToEndIds.join(' ')} (returned ${x.returnedAmount})` });
}

// ---- HTML ---------------------------------------------------------------------------------------

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1a202c}
h1{font-size:1.4rem;margin:0 0 .25rem}
h2{font-size:1.1rem;margin:1.5rem 0 .25rem}
p.meta{margin:.1rem 0;color:#4a5568}
p.ok{color:#276749;font-weight:600}
p.alarm{color:#fff;background:#c53030;padding:.5rem .75rem;font-weight:700}
table{border-collapse:collapse;margin:.75rem 0;width:100%;max-width:60rem}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e2e8f0;text-align:left}
th{background:#edf2f7;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
tfoot td{font-weight:700;border-top:2px solid #2d3748}
span.reason{font-size:.85rem;color:#718096}
td.id{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}
.chart text{font-size:12px;fill:#2d3748}
@media print{body{margin:1cm}p.alarm{border:2px solid #c53030;color:#c53030;background:none}}
`;

const eur = (m: string) => escapeHtml(euros(m, '\u00a0'));
const num = (m: string) => `<td class="num">${eur(m)}</td>`;

/** The flow as bars: settled movements, then where the money went (the statement's chart style). */
export const FLOW_COLOURS = { settled: '#4a5568', transferred: '#2f855a', held: '#d69e2e', blocked: '#c53030', recovered: '#2b6cb0', debts: '#805ad5' } as const;

function flowChart(r: RunReport): string {
  const bars: [keyof typeof FLOW_COLOURS, string, string][] = [
    ['settled', 'Mouvements réglés', r.settled.movement],
    ['transferred', 'Virés (pain.001)', r.transferred.total],
    ['held', 'Retenus (approbation)', r.held.total],
    ['blocked', 'Bloqués', r.blocked.total],
    ['recovered', 'Récupérés (dettes)', r.recoveries.total],
    ['debts', 'Dettes reportées', r.debts.broughtForward],
  ];
  const LABEL_W = 190;
  const BAR_W = 420;
  const ROW_H = 30;
  const scale = Decimal.max(...bars.map(([, , m]) => new Decimal(m).abs()), 0);
  const width = LABEL_W + BAR_W + 120;
  const height = bars.length * ROW_H + 10;
  const rows = bars.map(([key, label, m], i) => {
    const y = 5 + i * ROW_H;
    const w = scale.isZero() ? new Decimal(0) : new Decimal(m).abs().div(scale).times(BAR_W);
    const px = w.toDecimalPlaces(1).toString();
    return `<g class="bar" data-flow="${key}"><text x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(label)}</text><rect x="${LABEL_W}" y="${y}" width="${px}" height="20" fill="${FLOW_COLOURS[key]}"><title>${escapeHtml(`${label} : ${euros(m, '\u00a0')}`)}</title></rect><text x="${w.plus(LABEL_W + 6).toDecimalPlaces(1).toString()}" y="${y + 15}">${eur(m)}</text></g>`;
  });
  // no xmlns: inline SVG in HTML needs none, and the page carries no URL at all
  return [`<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Flux du paiement">`, ...rows, '</svg>'].join('\n');
}

function table(id: string, head: string[], rows: string[], foot?: string): string {
  const th = head.map((h) => (h.startsWith('#') ? `<th class="num">${escapeHtml(h.slice(1))}</th>` : `<th>${escapeHtml(h)}</th>`)).join('');
  const body = rows.length === 0 ? `<tr><td colspan="${head.length}">—</td></tr>` : rows.join('\n');
  return `<table id="${id}">\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>${foot ? `\n<tfoot>${foot}</tfoot>` : ''}\n</table>`;
}

const td = (t: string | number) => `<td>${escapeHtml(String(t))}</td>`;
/** identifiers (file names, MsgId, EndToEndId): long, unbreakable, monospace */
const tdId = (t: string) => `<td class="id">${escapeHtml(t)}</td>`;

/** rows per chunk of the page or of report.json (a chunk is a few hundred kB) */
const ROWS_PER_CHUNK = 1000;

/** one row per due line, the page's bulk: one template (the `td` / `num` cells' text, without a string per cell) */
const settledRow = (l: RunReport['settled']['lines'][number]) =>
  `<tr><td>${escapeHtml(String(l.lineKey))}</td><td class="num">${l.version}</td><td class="num">${eur(l.amcAmount)}</td><td class="num">${eur(l.entitled)}</td><td class="num">${eur(l.paidBefore)}</td><td class="num">${eur(l.movement)}</td><td>${escapeHtml(String(l.note ?? ''))}</td></tr>`;

/**
 * The tables whose rows grow with the run: one row per due line (settled), per line withheld, per
 * transfer, per payee recovered from. The page is rendered with a placeholder in place of each
 * one's rows, then written around them, a few rows at a time: a large run never holds its page, or
 * one of these tables, as one string.
 */
const BULK_TABLES = ['settled', 'withheld', 'transfers', 'recoveries'] as const;
type BulkTable = (typeof BULK_TABLES)[number];
const placeholderOf = (id: BulkTable) => `\u241f${id}-rows\u241f`;

type BulkSource = readonly [items: readonly unknown[], row: (item: never) => string];

/** a bulk table's arrays other than the settled lines, in page order, each with its row */
function bulkSources(r: RunReport, id: Exclude<BulkTable, 'settled'>): BulkSource[] {
  type W = RunReport['withheld'];
  type T = RunReport['transferred']['orders'][number];
  type R = RunReport['recoveries']['items'][number];
  if (id === 'withheld') {
    return [
      [r.withheld.reconciliation, (w: W['reconciliation'][number]) => `<tr>${td(w.lineKey)}${td(`tiers payant : ${w.kind}`)}${num(w.amcAmount)}</tr>`],
      [r.withheld.pending, (p: W['pending'][number]) => `<tr>${td(p.lineKey)}${td(p.reason)}<td></td></tr>`],
    ];
  }
  if (id === 'transfers') return [[r.transferred.orders, (o: T) => `<tr>${td(o.paymentId)}${td(`${o.name} (${o.payee})`)}${td(o.iban)}${tdId(o.endToEndId)}${tdId(o.messageId ?? '')}${num(o.amount)}</tr>`]];
  return [[r.recoveries.items, (o: R) => `<tr>${td(o.paymentId)}${td(o.payee)}${num(o.debtBefore)}${num(o.amount)}${num(o.debtAfter)}</tr>`]];
}

/** a bulk table's rows other than the settled ones, in page order (one string per row, made as they are written) */
function* bulkRows(r: RunReport, id: Exclude<BulkTable, 'settled'>): Generator<string> {
  for (const [items, row] of bulkSources(r, id)) for (const item of items) yield (row as (item: unknown) => string)(item);
}

const bulkCount = (r: RunReport, id: Exclude<BulkTable, 'settled'>) => bulkSources(r, id).reduce((n, [items]) => n + items.length, 0);

/** The page, whole (tests, small runs): every table's rows rendered in place; `reportHtmlChunks` writes the same bytes. */
export function renderReportHtml(r: RunReport): string {
  return renderPage(r, (id) => (id === 'settled' ? r.settled.lines.map(settledRow) : [...bulkRows(r, id)]));
}

/**
 * The settled rows of a report, a few at a time: its own `settled.lines`, or (a report recorded
 * without them: a large run's rows are stored apart) the chunks `rows` reads.
 */
export type SettledRows = () => Iterable<readonly RunReport['settled']['lines'][number][]>;

function* chunksOf(r: RunReport, rows?: SettledRows): Generator<readonly RunReport['settled']['lines'][number][]> {
  if (rows !== undefined) {
    for (const chunk of rows()) if (chunk.length > 0) yield chunk;
    return;
  }
  for (let i = 0; i < r.settled.lines.length; i += ROWS_PER_CHUNK) yield r.settled.lines.slice(i, i + ROWS_PER_CHUNK);
}

/** a bulk table's rows, ROWS_PER_CHUNK at a time, `\n` between rows */
function* bulkChunks(r: RunReport, id: BulkTable, rows?: SettledRows): Generator<string> {
  let first = true;
  if (id === 'settled') {
    for (const chunk of chunksOf(r, rows)) {
      yield joinedAfter(first ? '' : '\n', chunk, settledRow, '\n');
      first = false;
    }
    return;
  }
  let parts: string[] = [];
  for (const row of bulkRows(r, id)) {
    parts.push(parts.length === 0 && !first ? `\n${row}` : row);
    first = false;
    if (parts.length === ROWS_PER_CHUNK) {
      yield parts.join('\n');
      parts = [];
    }
  }
  if (parts.length > 0) yield parts.join('\n');
}

/**
 * `lead + items.map(row).join(sep)` made as ONE flat string by the join: a string added in front of
 * a joined chunk (or rows added one by one) is a rope, which the file stream flattens into a copy
 * of the whole chunk before encoding it (bench/README.md "Session 23 — alloc").
 */
function joinedAfter<T>(lead: string, items: readonly T[], row: (item: T) => string, sep: string): string {
  if (items.length === 0) return lead;
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) parts[i] = row(items[i]!);
  parts[0] = lead + parts[0]!;
  return parts.join(sep);
}

/** The page chunk by chunk, byte for byte `renderReportHtml`'s: the bulk tables' rows are rendered as they are written. */
export function* reportHtmlChunks(r: RunReport, rows?: SettledRows): Generator<string> {
  const count = (id: BulkTable) => (id !== 'settled' ? bulkCount(r, id) : rows === undefined ? r.settled.lines.length : r.settled.count);
  // an empty table has its own row (`—`): no placeholder
  const page = renderPage(r, (id) => (count(id) === 0 ? [] : [placeholderOf(id)]));
  let from = 0;
  for (const id of BULK_TABLES) {
    if (count(id) === 0) continue;
    const mark = placeholderOf(id);
    // looked for inside its table (in page order): a runId or a cell before it could spell it (escapeHtml keeps it), never `<table`
    const at = page.indexOf(mark, page.indexOf(`<table id="${id}">`, from));
    yield page.slice(from, at);
    yield* bulkChunks(r, id, rows);
    from = at + mark.length;
  }
  yield page.slice(from);
}

/**
 * report.json chunk by chunk, byte for byte `JSON.stringify(r, null, 2)` and a newline. Nothing
 * that grows with the run is one string: the settled lines (one per due line) come a chunk at a
 * time, the other long arrays (the transferred orders, the withheld lines…) a few elements at a
 * time (`jsonChunks`); the rest of the document is a few kB.
 */
export function* reportJsonChunks(r: RunReport, rows?: SettledRows): Generator<string> {
  if ((rows === undefined ? r.settled.lines.length : r.settled.count) === 0) {
    yield* jsonChunks(r, '', new Map());
    yield '\n';
    return;
  }
  // the settled lines' array, told by its identity (a runId or a note can spell any text)
  const settledLines: unknown[] = [];
  const own = new Map<unknown, (indent: string) => Iterable<string>>([[settledLines, (indent) => settledChunks(r, rows, indent)]]);
  yield* jsonChunks({ ...r, settled: { ...r.settled, lines: settledLines } }, '', own);
  yield '\n';
}

/** The settled lines' array at `indent`, a chunk of rows at a time (the bulk of report.json). */
function* settledChunks(r: RunReport, rows: SettledRows | undefined, indent: string): Generator<string> {
  const inner = `${indent}  `;
  const settled = settledElement(inner);
  const element = (l: RunReport['settled']['lines'][number]) => settled(l) ?? flatElement(l, inner) ?? indented(l, inner);
  let first = true;
  for (const chunk of chunksOf(r, rows)) {
    yield joinedAfter(first ? `[\n${inner}` : `,\n${inner}`, chunk, element, `,\n${inner}`);
    first = false;
  }
  yield first ? '[]' : `\n${indent}]`;
}

/** elements per chunk of a long array of report.json other than the settled lines (a few tens of kB) */
const ELEMENTS_PER_CHUNK = 256;

/** `JSON.stringify(v, null, 2)` with `indent` after each newline (a JSON string holds no raw newline: each is the layout's) */
const indented = (v: unknown, indent: string): string => {
  const s = JSON.stringify(v, null, 2) as string | undefined;
  return s === undefined ? 'null' : indent === '' ? s : s.replace(/\n/g, `\n${indent}`);
};

/** an object JSON.stringify walks key by key: no toJSON, Object's prototype (or none) */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `JSON.stringify(v, null, 2)` of a value at `indent`, as chunks: a plain object is walked key by
 * key, an array of more than ELEMENTS_PER_CHUNK elements yields that many at a time (each element
 * stringified whole), anything else is stringified whole; `own` replaces a value (by identity) with
 * its own chunks. Same bytes: the keys JSON.stringify keeps, in its order (Object.keys), a key
 * whose value stringifies to nothing (undefined, a function) left out, such an element `null`.
 */
function* jsonChunks(v: unknown, indent: string, own: ReadonlyMap<unknown, (indent: string) => Iterable<string>>): Generator<string> {
  const replaced = own.get(v);
  if (replaced !== undefined) {
    yield* replaced(indent);
    return;
  }
  const inner = `${indent}  `;
  if (isPlainObject(v)) {
    let first = true;
    for (const k of Object.keys(v)) {
      const x = v[k];
      // a member JSON.stringify leaves out (what `indented` would make `null`)
      if (!own.has(x) && !isPlainObject(x) && !Array.isArray(x) && JSON.stringify(x) === undefined) continue;
      yield `${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `;
      first = false;
      yield* jsonChunks(x, inner, own);
    }
    yield first ? '{}' : `\n${indent}}`;
    return;
  }
  if (Array.isArray(v) && v.length > ELEMENTS_PER_CHUNK && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    const element = (x: unknown) => (isPlainObject(x) ? flatElement(x, inner) : null) ?? indented(x, inner);
    for (let i = 0; i < v.length; i += ELEMENTS_PER_CHUNK) {
      let s = i === 0 ? `[\n${inner}` : `,\n${inner}`;
      const end = Math.min(v.length, i + ELEMENTS_PER_CHUNK);
      // (a sparse array's hole is undefined: `null`, as JSON.stringify writes it)
      for (let j = i; j < end; j++) s += (j === i ? '' : `,\n${inner}`) + element(v[j]);
      yield s;
    }
    yield `\n${indent}]`;
    return;
  }
  yield indented(v, indent);
}

/**
 * `flatElement` for a settled row of exactly its fields, in their order (one per due line, the
 * bulk of report.json): one template with the field names and the indentation made once, where
 * the loop stringified each name and made a string per field (four times the allocation; bench/
 * README.md, "Session 13 — payments"). null for any other object (the caller falls back).
 */
function settledElement(indent: string): (l: RunReport['settled']['lines'][number]) => string | null {
  const head = SETTLED_FIELDS.map((k) => `\n${indent}  ${JSON.stringify(k)}: `);
  const [lineKey, version, amcAmount, entitled, paidBefore, movement, note] = head.map((h, i) => (i === 0 ? `{${h}` : `,${h}`));
  const end = `\n${indent}}`;
  return (l) => {
    let i = 0;
    for (const k in l) if (k !== SETTLED_FIELDS[i++]) return null;
    if (i !== SETTLED_FIELDS.length) return null;
    const v = l.version;
    if (typeof l.lineKey !== 'string' || typeof v !== 'number' || !Number.isFinite(v) || typeof l.amcAmount !== 'string' || typeof l.entitled !== 'string' || typeof l.paidBefore !== 'string' || typeof l.movement !== 'string' || (l.note !== null && typeof l.note !== 'string')) return null;
    return `${lineKey}${JSON.stringify(l.lineKey)}${version}${JSON.stringify(v)}${amcAmount}${JSON.stringify(l.amcAmount)}${entitled}${JSON.stringify(l.entitled)}${paidBefore}${JSON.stringify(l.paidBefore)}${movement}${JSON.stringify(l.movement)}${note}${l.note === null ? 'null' : JSON.stringify(l.note)}${end}`;
  };
}

/**
 * `JSON.stringify(l, null, 2)` with `indent` after each newline, for an object whose fields are all
 * strings, finite numbers, booleans, null or undefined (a settled row: one per due line, the bulk
 * of report.json) — the same bytes, without the indented text made then re-scanned for newlines;
 * null when a field is anything else (the caller stringifies it whole).
 */
function flatElement(l: object, indent: string): string | null {
  let out = '{';
  let first = true;
  const inner = `\n${indent}  `;
  for (const k in l) {
    const v = (l as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const t = typeof v;
    if (v !== null && t !== 'string' && t !== 'boolean' && !(t === 'number' && Number.isFinite(v))) return null;
    out += `${first ? '' : ','}${inner}${JSON.stringify(k)}: ${JSON.stringify(v)}`;
    first = false;
  }
  return first ? '{}' : `${out}\n${indent}}`;
}

function renderPage(r: RunReport, rowsOf: (id: BulkTable) => string[]): string {
  const eq = r.reconciliation;
  const verdict = eq.reconciled
    ? `<p class="ok" id="verdict">Rapprochement au centime : vérifié.</p>`
    : `<p class="alarm" id="verdict">LE PAIEMENT NE SE RAPPROCHE PAS : ${escapeHtml(eq.checks.filter((c) => !c.holds).map((c) => `${c.name} (${c.left} ≠ ${c.right})`).join(' ; '))}</p>`;
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapport du paiement ${escapeHtml(r.runId)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Rapport du paiement ${escapeHtml(r.runId)}</h1>
<p class="meta">Arrêté au ${escapeHtml(r.at)}</p>
${verdict}
<p class="meta">${escapeHtml(eq.equation)}</p>
${table('checks', ['Contrôle', '#Gauche', '#Droite', 'Vérifié'], eq.checks.map((c) => `<tr>${td(c.name)}${num(c.left)}${num(c.right)}${td(c.holds ? 'oui' : 'NON')}</tr>`))}
${flowChart(r)}
<h2>Réglé (${r.settled.count} ligne${r.settled.count > 1 ? 's' : ''})</h2>
${table('settled', ['Ligne', '#Version', '#Part mutuelle', '#Dû', '#Déjà payé', '#Mouvement', 'Note'],
  rowsOf('settled'),
  `<tr><td colspan="2">Total</td>${num(r.settled.amcAmount)}${num(r.settled.entitled)}${num(r.settled.paidBefore)}${num(r.settled.movement)}<td></td></tr>`)}
<h2>Retenu / exception</h2>
${table('withheld', ['Ligne', 'Motif', '#Part mutuelle'], rowsOf('withheld'))}
${table('held', ['Ordre retenu pour approbation', 'Bénéficiaire', '#Montant', 'Plafond', 'Motif'],
  r.held.items.map((h) => `<tr>${td(h.paymentId)}${td(h.payee)}${num(h.amount)}${td(`${h.ceiling}${h.limit ? ` ${h.limit}` : ''}`)}${td(h.reason)}</tr>`),
  `<tr><td colspan="2">Total (${r.held.count})</td>${num(r.held.total)}<td colspan="2"></td></tr>`)}
<h2>Viré</h2>
${table('debtors', ['Compte débiteur', '#Virements', '#Montant'], r.transferred.byDebtor.map((d) => `<tr>${td(`${d.debtorName} ${d.debtorIban}`)}<td class="num">${d.count}</td>${num(d.total)}</tr>`))}
${table('files', ['Fichier pain.001', 'MsgId', 'Compte débiteur', 'Exécution', '#Virements', '#Montant'],
  r.transferred.files.map((f) => `<tr>${tdId(f.fileName)}${tdId(f.messageId)}${td(f.debtorIban)}${td(f.executionDate)}<td class="num">${f.count}</td>${num(f.total)}</tr>`),
  `<tr><td colspan="4">Total</td><td class="num">${r.transferred.count}</td>${num(r.transferred.total)}</tr>`)}
${table('transfers', ['Ordre', 'Bénéficiaire', 'IBAN', 'EndToEndId', 'MsgId', '#Montant'],
  rowsOf('transfers'))}
<h2>Bloqué (${r.blocked.count})</h2>
${table('blocked', ['Bénéficiaire', '#Montant', 'Motif'],
  r.blocked.items.map((b) => `<tr data-payee="${escapeHtml(b.payee)}">${td(b.payee)}${num(b.amount)}<td>${escapeHtml(b.reason)}<br><span class="reason">${b.lines} ligne(s)</span></td></tr>`),
  `<tr><td>Total</td>${num(r.blocked.total)}<td></td></tr>`)}
${r.carried === undefined || r.carried.count === 0 ? '' : `<h2>Bloqué ou retenu depuis un paiement précédent (${r.carried.count})</h2>
<p class="meta">Rien n'a changé pour ces bénéficiaires (ni ligne, ni compte, ni retour, ni dette ; pour un ordre retenu, ni approbation ni plafond) : ils ne sont pas décidés à nouveau et leurs lignes ne figurent pas dans les mouvements réglés ci-dessus.</p>
${table('carried', ['Bénéficiaire', '#Montant', 'Motif'],
  r.carried.items.map((b) => `<tr data-payee="${escapeHtml(b.payee)}">${td(b.payee)}${num(b.amount)}<td>${escapeHtml(b.reason)}<br><span class="reason">${b.kind === 'held' ? 'retenu pour approbation, ' : ''}${b.lines} ligne(s), depuis ${escapeHtml(b.since)}</span></td></tr>`),
  `<tr><td>Total</td>${num(r.carried.total)}<td></td></tr>`)}
`}<h2>Récupérations et dettes</h2>
${table('recoveries', ['Ordre', 'Bénéficiaire', '#Dette avant', '#Récupéré', '#Dette reportée'],
  rowsOf('recoveries'),
  `<tr><td colspan="3">Dettes reprises : ${eur(r.debts.broughtForward)} — dettes reportées : ${eur(r.debts.carried)}</td>${num(r.recoveries.total)}<td></td></tr>`)}
<h2>Retours bancaires</h2>
<p class="meta">Virements retournés par la banque depuis le paiement précédent (leurs lignes sont à nouveau dues : elles figurent dans les mouvements réglés ci-dessus).</p>
${table('returned', ['EndToEndId', 'Ordre retourné', 'Bénéficiaire', '#Montant', 'Motif', 'Fichier'],
  r.returned.items.map((x) => `<tr>${tdId(x.endToEndId)}${td(x.paymentId)}${td(x.payee)}${num(x.amount)}${td(x.reason)}${tdId(`${x.file} (${x.record})`)}</tr>`),
  `<tr><td colspan="3">Total (${r.returned.count})</td>${num(r.returned.total)}<td colspan="2"></td></tr>`)}
${table('repaid', ['Ordre (nouveau virement)', 'Bénéficiaire', 'Nouvel EndToEndId', 'EndToEndId retourné(s)', '#Retourné', '#Payé à nouveau'],
  (r.returned.repaid?.items ?? []).map((x) => `<tr>${td(x.paymentId)}${td(x.payee)}${tdId(x.transfer ? x.endToEndId : `${x.kind} (pas de virement)`)}${tdId(x.returnedEndToEndIds.join(' '))}${num(x.returnedAmount)}${num(x.amount)}</tr>`),
  r.returned.repaid === undefined ? undefined : `<tr><td colspan="4">Total (${r.returned.repaid.count})</td><td></td>${num(r.returned.repaid.total)}</tr>`)}
${r.returned.implemented ? '' : '<p class="meta">Paiement décidé avant la lecture des retours bancaires : section vide.</p>'}
</body>
</html>
`;
}
