import { ReconError } from './errors.js';

/**
 * Instants are ISO-8601 UTC strings normalised to `toISOString()` form, so comparing two of them
 * as strings compares the times. Parsing a given string is not reading a clock: the core stays pure.
 */
export function instant(text: string, field: string): string {
  // the events of a batch mostly share their instant (records appended together): the last one
  // normalised is remembered, a parse and a format less per event (a pure function's memo)
  if (text === lastText) return lastInstant;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new ReconError('RECON_BAD_INSTANT', `${field}: "${text}" is not an ISO-8601 instant`, { field });
  lastInstant = new Date(ms).toISOString();
  lastText = text;
  return lastInstant;
}
let lastText: string | undefined;
let lastInstant = '';

export function plusDays(at: string, days: number): string {
  return new Date(Date.parse(at) + days * 86_400_000).toISOString();
}

/** The calendar day of an instant, for reasons people read. */
export function dayOf(at: string): string {
  return at.slice(0, 10);
}
