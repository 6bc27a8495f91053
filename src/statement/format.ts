/**
 * French display of Money strings and ISO dates, done on the text: "1234.50" → "1 234,50 €"
 * without going through a float (Intl.NumberFormat would need a number).
 */
export function euros(money: string, space = ' '): string {
  const negative = money.startsWith('-');
  const [int = '0', frac = '00'] = (negative ? money.slice(1) : money).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, space);
  return `${negative ? '−' : ''}${grouped},${frac}${space}€`;
}

export function frenchDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
