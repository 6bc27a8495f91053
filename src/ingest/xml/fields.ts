import type { ActLine } from '../../model/act-line.js';

/**
 * Where each act-line field sits in the décompte XML (schemas/decomptes.xsd). What a whole
 * décompte shares is on `<decompte>` (as in a NOEMIE 100 header, the operation included) and
 * `<beneficiary>` (as in a 103); the rest is on each `<line>`. Attribute names are the model field
 * names (the CSV columns in camelCase), except the décompte number, `<decompte id>`.
 */
export const DECOMPTE_ATTRS = {
  id: 'decompteId',
  caisse: 'caisse',
  roPaymentDate: 'roPaymentDate',
  operation: 'operation',
} as const satisfies Record<string, keyof ActLine>;

export const BENEFICIARY_ATTRS = {
  nir: 'nir',
  nirKey: 'nirKey',
  rang: 'rang',
  birthDate: 'birthDate',
  amcMemberId: 'amcMemberId',
} as const satisfies Record<string, keyof ActLine>;

export const LINE_ATTRS = {
  lineNo: 'lineNo',
  psId: 'psId',
  psSpecialty: 'psSpecialty',
  psDptm: 'psDptm',
  actCode: 'actCode',
  side: 'side',
  careStart: 'careStart',
  careEnd: 'careEnd',
  quantity: 'quantity',
  coefficient: 'coefficient',
  expense: 'expense',
  br: 'br',
  roRate: 'roRate',
  roAmount: 'roAmount',
  pf: 'pf',
  franchise: 'franchise',
  pathway: 'pathway',
  tp: 'tp',
  accident: 'accident',
  /** optional (issue 10): the FINESS of the establishment of a stay; a line without it reads as before */
  finess: 'finess',
} as const satisfies Record<string, keyof ActLine>;

export type XmlElement = 'decompte' | 'beneficiary' | 'line';

/** Model field → [element, attribute], so issues name what the sender wrote. */
export const FIELD_TO_XML: Record<string, [XmlElement, string]> = Object.fromEntries([
  ...Object.entries(DECOMPTE_ATTRS).map(([attr, field]) => [field, ['decompte', attr]]),
  ...Object.entries(BENEFICIARY_ATTRS).map(([attr, field]) => [field, ['beneficiary', attr]]),
  ...Object.entries(LINE_ATTRS).map(([attr, field]) => [field, ['line', attr]]),
]);

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REFERENCE = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z]+));/g;

/**
 * Decodes an attribute value. The parser runs with processEntities off (nothing it reads can
 * expand), so the five predefined entities and character references — all a document without a
 * DTD may use — are decoded here. Anything else is an error message, not a value.
 */
export function decodeAttribute(raw: string): { value: string } | { error: string } {
  if (raw.includes('<')) return { error: 'a "<" in an attribute value must be written &lt;' };
  if (!raw.includes('&')) return { value: raw };
  let error: string | undefined;
  const value = raw.replace(REFERENCE, (whole, hex: string | undefined, decimal: string | undefined, name: string | undefined) => {
    if (name !== undefined) {
      const known = PREDEFINED[name];
      if (known === undefined) error ??= `undefined entity ${whole} (only &lt; &gt; &amp; &quot; &apos; and character references)`;
      return known ?? whole;
    }
    const code = hex !== undefined ? parseInt(hex, 16) : parseInt(decimal ?? '', 10);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || code === 0) {
      error ??= `character reference ${whole} is not a character`;
      return whole;
    }
    return String.fromCodePoint(code);
  });
  if (error === undefined && /&/.test(raw.replace(REFERENCE, ''))) error = 'a bare "&" in an attribute value must be written &amp;';
  return error === undefined ? { value } : { error };
}

const ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

export function escapeAttribute(value: string): string {
  return /[&<>"']/.test(value) ? value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : value;
}
