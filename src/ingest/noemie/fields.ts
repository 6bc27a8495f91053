import { compactToIso } from '../../model/dates.js';
import type { FieldSpec } from './layout.js';

/**
 * Field values between their fixed-width text and the textual form `candidateFromText` takes
 * (ISO dates, "12.30" amounts, "1.5" decimals). Pure string work on purpose: it runs for every
 * field of every record, and digits moved around a decimal point are exact without decimal.js.
 */

/** A signed amount in cents read from `digits + P|N`; null when it is not that. */
export function parseSignedCents(raw: string): bigint | null {
  const digits = raw.slice(0, -1);
  const sign = raw.slice(-1);
  if (!/^\d+$/.test(digits) || (sign !== 'P' && sign !== 'N')) return null;
  const cents = BigInt(digits);
  return sign === 'N' ? -cents : cents;
}

/** Cents to a Money string ("-12.30"); negative zero is zero. */
export function centsToText(cents: bigint): string {
  const neg = cents < 0n;
  const abs = (neg ? -cents : cents).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`;
}

export function amountMessage(spec: FieldSpec, raw: string): string {
  return `${spec.name}: expected ${spec.length - 1} digits of cents then a sign P or N, found "${raw}"`;
}

/**
 * Text of one field for `candidateFromText`: the value when it reads, the raw slice otherwise so
 * zod reports what the file held. Amounts that do not read are reported by the caller.
 */
export function fieldText(spec: FieldSpec, raw: string): string {
  switch (spec.kind) {
    case 'text':
    case 'code':
    case 'int':
    case 'flag':
    case 'enum':
      return raw.trim();
    case 'date': {
      const t = raw.trim();
      return t === '' ? '' : compactToIso(t);
    }
    case 'decimal':
      return impliedDecimalToText(raw, spec.scale ?? 0);
    case 'amount': {
      const cents = parseSignedCents(raw);
      return cents === null ? raw : centsToText(cents);
    }
    default: {
      const unreachable: never = spec.kind;
      return unreachable;
    }
  }
}

function impliedDecimalToText(raw: string, scale: number): string {
  if (!/^\d+$/.test(raw) || raw.length <= scale) return raw;
  const int = raw.slice(0, raw.length - scale).replace(/^0+(?=\d)/, '');
  const frac = raw.slice(raw.length - scale).replace(/0+$/, '');
  return frac === '' ? int : `${int}.${frac}`;
}

/** Text a fixed-width field may hold: printable Latin-1, nothing that would break a record. */
const LATIN1_PRINTABLE = /^[\x20-\x7E\xA0-\xFF]*$/;

/**
 * Value (as the ActLine or the header holds it) → the unpadded raw text of the field; throws a
 * plain message when the value cannot be written (the encoder wraps it with the field's name).
 */
export function valueToRaw(spec: FieldSpec, value: string | number | boolean | null): string {
  if (value === null || value === '') {
    if (spec.nullable || spec.kind === 'text' || spec.kind === 'code') return '';
    throw new Error('a value is required');
  }
  switch (spec.kind) {
    case 'text':
    case 'code':
      if (typeof value !== 'string') throw new Error('expected text');
      if (!LATIN1_PRINTABLE.test(value)) throw new Error('only printable ISO-8859-1 characters can be written');
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error('expected an unsigned integer');
      return String(value);
    case 'date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new Error('expected a date YYYY-MM-DD');
      return value.replaceAll('-', '');
    case 'amount':
      return moneyToRaw(String(value));
    case 'decimal':
      return decimalToRaw(String(value), spec.scale ?? 0);
    case 'flag':
      if (typeof value !== 'boolean') throw new Error('expected a boolean');
      return value ? 'Y' : 'N';
    case 'enum':
      if (typeof value !== 'string' || !spec.values?.includes(value)) throw new Error(`expected one of ${spec.values?.join(', ')}`);
      return value;
    default: {
      const unreachable: never = spec.kind;
      return unreachable;
    }
  }
}

function moneyToRaw(money: string): string {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(money);
  if (!m) throw new Error('expected an amount with two decimals');
  const cents = `${m[2]}${m[3]}`.replace(/^0+(?=\d)/, '');
  return `${cents}${m[1] === '-' && /[1-9]/.test(cents) ? 'N' : 'P'}`;
}

function decimalToRaw(value: string, scale: number): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!m) throw new Error('expected an unsigned decimal');
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > scale) throw new Error(`at most ${scale} decimals fit`);
  return `${m[1]}${frac.padEnd(scale, '0')}`.replace(/^0+(?=\d)/, '');
}

/** Pads an unpadded raw value to the field's width: numbers to the right with zeros, text to the left. */
export function padRaw(spec: FieldSpec, raw: string): string {
  if (raw.length > spec.length) throw new Error(`"${raw}" is ${raw.length} characters, the field holds ${spec.length}`);
  const numeric = spec.kind === 'int' || spec.kind === 'amount' || spec.kind === 'decimal';
  // an absent nullable number stays blank rather than becoming zero
  return numeric && raw !== '' ? raw.padStart(spec.length, '0') : raw.padEnd(spec.length, ' ');
}
