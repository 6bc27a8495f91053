import type { ActLine } from '../../model/act-line.js';
import { BENEFICIARY_ATTRS, DECOMPTE_ATTRS, LINE_ATTRS, escapeAttribute } from './fields.js';

/**
 * Writes act lines as décompte XML (schemas/decomptes.xsd). Consecutive lines that share the
 * décompte and beneficiary attributes go into one `<decompte>`; a null value is left out (the
 * decoder reads a missing optional attribute as null). One string per element, for backpressure.
 */
export function* encodeXml(lines: Iterable<ActLine>): Generator<string> {
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<decomptes>\n';
  let open: string | null = null;
  for (const line of lines) {
    const head = `  <decompte${attributes(line, DECOMPTE_ATTRS)}>\n    <beneficiary${attributes(line, BENEFICIARY_ATTRS)}/>\n`;
    if (head !== open) {
      if (open !== null) yield '  </decompte>\n';
      yield head;
      open = head;
    }
    yield `    <line${attributes(line, LINE_ATTRS)}/>\n`;
  }
  if (open !== null) yield '  </decompte>\n';
  yield '</decomptes>\n';
}

function attributes(line: ActLine, names: Record<string, keyof ActLine>): string {
  let out = '';
  for (const [attr, field] of Object.entries(names)) {
    const v = line[field];
    if (v === null || v === undefined) continue;
    const text = typeof v === 'boolean' ? (v ? 'Y' : 'N') : String(v);
    out += ` ${attr}="${escapeAttribute(text)}"`;
  }
  return out;
}
