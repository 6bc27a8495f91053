import type { CounterChange, Settlement, SettlementPart } from '../model/settlement.js';

/**
 * `JSON.stringify(settlement)`, the same text byte for byte, written from the settlement's fields
 * in the order both engines give them (decide.ts / kernel decide.ts, liquidate.ts `{ ...settlement,
 * version, counters }`). Why: the workers and noemie liquidate's shards serialise every new
 * settlement, and V8's (Node 20) JSON.stringify walks it generically (≈ 4–6 µs a settlement here,
 * a third of deciding it; bench/README.md "Session 16 — kernel").
 *
 * Exact for any plain data (objects, arrays, strings, numbers, null: what a settlement is): the settlement's own keys are checked first against that order with the
 * type each field has there (one for…in, no allocation); any other shape — an annulation's order,
 * `invoiceNo`, `reliquidation`, a value of another type — is JSON.stringify's. Inside, a part with
 * slices or in another order, a counter move or a beneficiary of another shape is JSON.stringify's
 * too (an array element's JSON is the same alone). Texts are copied between quotes and the whole
 * text is tested once for anything JSON escapes (then the settlement is JSON.stringify's). test/engine/settlement-json.test.ts
 * compares it to JSON.stringify on every settlement of generated drops and on odd shapes.
 */
export function settlementJson(s: Settlement): string {
  if (!decideShape(s)) return JSON.stringify(s);
  const b = s.beneficiary;
  const text =
    `{"lineKey":${string(s.lineKey)},"beneficiary":${beneficiaryShape(b) ? `{"nir":${string(b.nir)},"rang":${b.rang}}` : JSON.stringify(b)}` +
    `,"adherentId":${nullable(s.adherentId)},"careDate":${string(s.careDate)},"actCode":${string(s.actCode)},"poste":${nullable(s.poste)}` +
    `,"status":${string(s.status)},"reason":${nullable(s.reason)},"expense":${string(s.expense)},"roAmount":${string(s.roAmount)}` +
    `,"amcAmount":${string(s.amcAmount)},"parts":${parts(s.parts)},"restToPay":${string(s.restToPay)},"payee":${string(s.payee)}` +
    `${optional(',"operation":', s.operation)}${optional(',"tp":', s.tp)}${optional(',"psId":', s.psId)}${optional(',"inputHash":', s.inputHash)}` +
    `,"version":${s.version},"counters":${counters(s.counters)}}`;
  // One test of the whole text instead of one per field: no backslash, control character or
  // surrogate anywhere means no text needed escaping (a quote was escaped by `string`, so it shows
  // here as a backslash); otherwise JSON.stringify decides. The test also makes the text flat
  // (the regular expression reads a flat string: the concatenation's pieces die young, and a
  // worker keeps one flat text per settlement until its task ends — `Number(text)`, cents.ts
  // `flat`, was optimised away here: its result is unused and it has no effect).
  return ESCAPED.test(text) ? JSON.stringify(s) : text;
}

/** The fields in the engines' order and what each holds: s string, n string or null, o string or absent, i safe integer, b/p/c object/array. */
const DECIDE_KEYS = ['lineKey', 'beneficiary', 'adherentId', 'careDate', 'actCode', 'poste', 'status', 'reason', 'expense', 'roAmount', 'amcAmount', 'parts', 'restToPay', 'payee', 'operation', 'tp', 'psId', 'inputHash', 'version', 'counters'] as const;
const DECIDE_KINDS = 'sbnssnsnssspssooooic';

function decideShape(s: Settlement): boolean {
  if (Object.getPrototypeOf(s) !== Object.prototype) return false;
  const o = s as unknown as Record<string, unknown>;
  let i = 0;
  for (const key in o) {
    if (i >= DECIDE_KEYS.length || key !== DECIDE_KEYS[i]) return false;
    const v = o[key];
    switch (DECIDE_KINDS.charCodeAt(i)) {
      case 0x73 /* s */:
        if (typeof v !== 'string') return false;
        break;
      case 0x6e /* n */:
        if (v !== null && typeof v !== 'string') return false;
        break;
      case 0x6f /* o */:
        if (v !== undefined && typeof v !== 'string') return false;
        break;
      case 0x69 /* i */:
        if (!Number.isSafeInteger(v)) return false;
        break;
      case 0x62 /* b */:
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
        break;
      default /* p, c */:
        if (!Array.isArray(v)) return false;
    }
    i++;
  }
  return i === DECIDE_KEYS.length;
}

/** What JSON.stringify does not copy as it is, but for the quote: backslash, controls, any surrogate (a lone one is escaped; a pair is left to it, by the fallback). */
const ESCAPED = /[\\\u0000-\u001f\ud800-\udfff]/;

/** A text between quotes; one holding a quote escaped (the backslash sends the settlement to JSON.stringify). */
function string(text: string): string {
  return text.indexOf('"') < 0 ? `"${text}"` : JSON.stringify(text);
}

function nullable(text: string | null): string {
  return text === null ? 'null' : string(text);
}

function optional(key: string, text: string | undefined): string {
  return text === undefined ? '' : `${key}${string(text)}`;
}

function beneficiaryShape(b: unknown): b is Settlement['beneficiary'] {
  if (Object.getPrototypeOf(b) !== Object.prototype) return false;
  const o = b as Record<string, unknown>;
  let i = 0;
  for (const key in o) {
    if (i === 0 ? key !== 'nir' || typeof o[key] !== 'string' : i !== 1 || key !== 'rang' || !Number.isSafeInteger(o[key])) return false;
    i++;
  }
  return i === 2;
}

function parts(list: readonly SettlementPart[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const p = list[i]!;
    const text = partShape(p) ? `{"contract":${string(p.contract)},"amount":${string(p.amount)}${optional(',"rule":', p.rule)}${optional(',"formula":', p.formula)}}` : (JSON.stringify(p) ?? 'null');
    out += i === 0 ? text : `,${text}`;
  }
  return `${out}]`;
}

/** contract, amount, then rule and formula (each a string or absent), in that order: a part without slices. */
function partShape(p: unknown): p is SettlementPart {
  if (typeof p !== 'object' || p === null || Object.getPrototypeOf(p) !== Object.prototype) return false;
  const o = p as Record<string, unknown>;
  let at = 0;
  for (const key in o) {
    const v = o[key];
    const next = at === 0 ? (key === 'contract' ? 1 : -1) : at === 1 ? (key === 'amount' ? 2 : -1) : key === 'rule' && at === 2 ? 3 : key === 'formula' && at <= 3 ? 4 : -1;
    if (next < 0) return false;
    if (next <= 2 ? typeof v !== 'string' : v !== undefined && typeof v !== 'string') return false;
    at = next;
  }
  return at >= 2;
}

function counters(list: readonly CounterChange[]): string {
  if (list.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const text = moveShape(c) ? `{"key":${string(c.key)},"before":${string(c.before)},"after":${string(c.after)}}` : (JSON.stringify(c) ?? 'null');
    out += i === 0 ? text : `,${text}`;
  }
  return `${out}]`;
}

function moveShape(c: unknown): c is CounterChange {
  if (typeof c !== 'object' || c === null || Object.getPrototypeOf(c) !== Object.prototype) return false;
  const o = c as Record<string, unknown>;
  let i = 0;
  for (const key in o) {
    if (key !== (i === 0 ? 'key' : i === 1 ? 'before' : i === 2 ? 'after' : '') || typeof o[key] !== 'string') return false;
    i++;
  }
  return i === 3;
}
