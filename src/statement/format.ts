/**
 * French display of Money strings and ISO dates, done on the text: "1234.50" → "1 234,50 €"
 * without going through a float (Intl.NumberFormat would need a number).
 *
 * Both run several times per statement line (bench/README.md, "Session 11 — statements": `euros`
 * was the largest self time of the rendering): a Money string ("-?d+.dd") and an ISO date take a
 * path of slices; anything else the general one, which gives the same text for those too.
 */
export function euros(money: string, space = ' '): string {
  const n = money.length;
  const negative = money.charCodeAt(0) === 45; /* - */
  // a Money string up to 999: its one dot three from the end, nothing to group
  if (n >= 4 && money.charCodeAt(n - 3) === 46 /* . */ && n - 3 - (negative ? 1 : 0) <= 3 && money.indexOf('.') === n - 3) {
    return `${negative ? '−' : ''}${money.slice(negative ? 1 : 0, n - 3)},${money.slice(n - 2)}${space}€`;
  }
  const [int = '0', frac = '00'] = (negative ? money.slice(1) : money).split('.');
  // up to 999 there is nothing to group: most amounts of a statement, spared the regular expression
  const grouped = int.length <= 3 ? int : int.replace(/\B(?=(\d{3})+(?!\d))/g, space);
  return `${negative ? '−' : ''}${grouped},${frac}${space}€`;
}

export function frenchDate(iso: string): string {
  // YYYY-MM-DD
  if (iso.length === 10 && iso.charCodeAt(4) === 45 && iso.charCodeAt(7) === 45) return `${iso.slice(8)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const HTML_SPECIAL = /[&<>"']/;

export function escapeHtml(text: string): string {
  // most texts (amounts, dates, names) hold none of the five: returned as they are
  return HTML_SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c) : text;
}
