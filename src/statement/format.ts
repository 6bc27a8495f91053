/**
 * French display of Money strings and ISO dates, done on the text: "1234.50" → "1 234,50 €"
 * without going through a float (Intl.NumberFormat would need a number).
 */
export function euros(money: string, space = ' '): string {
  const negative = money.startsWith('-');
  const [int = '0', frac = '00'] = (negative ? money.slice(1) : money).split('.');
  // up to 999 there is nothing to group: most amounts of a statement, spared the regular expression
  const grouped = int.length <= 3 ? int : int.replace(/\B(?=(\d{3})+(?!\d))/g, space);
  return `${negative ? '−' : ''}${grouped},${frac}${space}€`;
}

export function frenchDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const HTML_SPECIAL = /[&<>"']/;

export function escapeHtml(text: string): string {
  // most texts (amounts, dates, names) hold none of the five: returned as they are
  return HTML_SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c) : text;
}
