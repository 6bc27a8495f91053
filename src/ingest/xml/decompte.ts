import { XMLValidator } from 'fast-xml-parser';
import { safeXmlParser, type XmlNode } from '../../model/xml.js';
import { ActLineSchema, candidateFromText, type ActLine } from '../../model/act-line.js';
import { fromZodIssues, type Origin, type RecordIssue } from '../../model/issues.js';
import type { IngestEvent } from '../types.js';
import { BENEFICIARY_ATTRS, DECOMPTE_ATTRS, FIELD_TO_XML, LINE_ATTRS, decodeAttribute, type XmlElement } from './fields.js';
import { countNewlines, startTagEnd } from './scanner.js';

/**
 * Turns one `<decompte>` element (cut out by the scanner) into events: one per `<line>`, in order.
 * Record numbering (documented in schemas/decomptes.xsd): record = ordinal of the `<line>` element
 * in the file, counting the lines of rejected décomptes too; a décompte rejected whole gives one
 * reject at the ordinal of its first `<line>` and uses up as many ordinals as it has `<line>`s (one
 * when it has none). `textLine` is the text line where the element starts.
 */
// Never let the parser expand anything: the scanner refused DTDs, and entities are decoded by us.
const parser = safeXmlParser();

export interface DecompteText {
  where: { file: string; entry?: string };
  index: number;
  textLine: number;
  xml: string;
}

const LINE_START = /<line[\s/>]/g;

/** A décompte is 2 levels deep (décompte > beneficiary, line); anything far deeper is hostile. */
export const MAX_DECOMPTE_DEPTH = 16;

/** Whether elements nest deeper than `limit`: one pass over the tags, no recursion, no tree. */
export function tooDeep(xml: string, limit: number): boolean {
  let depth = 0;
  for (let i = xml.indexOf('<'); i !== -1; i = xml.indexOf('<', i + 1)) {
    const next = xml.charAt(i + 1);
    if (next === '/') depth -= 1;
    else if (next === '!') {
      // comment or CDATA: their text may hold '<'
      const end = xml.startsWith('<!--', i) ? xml.indexOf('-->', i + 4) : xml.startsWith('<![CDATA[', i) ? xml.indexOf(']]>', i + 9) : xml.indexOf('>', i);
      if (end === -1) return false; // the validator says what is wrong
      i = end;
    } else if (next === '?') {
      const end = xml.indexOf('?>', i + 2);
      if (end === -1) return false;
      i = end;
    } else {
      const end = startTagEnd(xml, i);
      if (end === -1) return false;
      if (xml.charAt(end - 1) !== '/') depth += 1;
      if (depth > limit) return true;
      i = end;
    }
  }
  return false;
}

/** ` (id D123)` from the start tag when its id attribute can be read, for messages about the whole décompte. */
function idLabel(xml: string): string {
  const end = startTagEnd(xml, 0);
  const id = /\sid\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/.exec(xml.slice(0, end === -1 ? Math.min(xml.length, 1000) : end));
  const text = id?.[1] ?? id?.[2];
  if (text === undefined || text === '') return '';
  return ` (id ${JSON.stringify(text.slice(0, 64)).slice(1, -1)})`;
}

export function decodeDecompte(d: DecompteText, firstRecord: number): { events: IngestEvent[]; records: number } {
  const lineTags = findLineTags(d);
  const records = Math.max(1, lineTags.length);
  const whole = (issue: RecordIssue): { events: IngestEvent[]; records: number } => ({
    events: [reject({ ...d.where, record: firstRecord, textLine: lineTags[0]?.textLine ?? d.textLine }, [issue], d.xml)],
    records,
  });

  const label = `décompte #${d.index}${idLabel(d.xml)}`;
  // Checked before any parser sees it: fast-xml-parser throws past its own nesting limit (and its
  // validator recurses), which would refuse the whole file for one hostile décompte.
  if (tooDeep(d.xml, MAX_DECOMPTE_DEPTH)) {
    return whole({ code: 'too_deep', path: ['decompte'], message: `${label} nests elements deeper than ${MAX_DECOMPTE_DEPTH} levels: rejected unread` });
  }
  let root: XmlNode;
  try {
    const valid = XMLValidator.validate(d.xml);
    if (valid !== true) {
      const { msg, line, col } = valid.err;
      const message = `${label} is not well-formed XML: ${msg} (text line ${d.textLine + line - 1}, column ${col})`;
      return whole({ code: 'xml_malformed', path: ['decompte'], message });
    }
    root = ((parser.parse(d.xml) as { decompte?: XmlNode[] }).decompte ?? [])[0] ?? {};
  } catch (e) {
    // whatever else the parser trips on is this décompte's problem, not the file's
    return whole({ code: 'xml_malformed', path: ['decompte'], message: `${label} cannot be parsed: ${e instanceof Error ? e.message : String(e)}` });
  }
  const shared: RecordIssue[] = [];
  const fields: Partial<Record<keyof ActLine, string>> = {};
  readAttributes(root, 'decompte', DECOMPTE_ATTRS, fields, shared);

  const beneficiaries = children(root, 'beneficiary');
  if (beneficiaries.length !== 1) {
    shared.push({ code: 'invalid_structure', path: ['beneficiary'], input: beneficiaries.length, message: `décompte #${d.index} must hold exactly one <beneficiary>, found ${beneficiaries.length}` });
  }
  if (beneficiaries[0] !== undefined) readAttributes(beneficiaries[0], 'beneficiary', BENEFICIARY_ATTRS, fields, shared);
  for (const [name, value] of Object.entries(root)) {
    if (name === '@' || name === 'beneficiary' || name === 'line') continue;
    const what = name === '#text' ? `text "${String(value).slice(0, 20)}"` : `element <${name}>`;
    shared.push({ code: 'invalid_structure', path: ['decompte', name], message: `unexpected ${what} in décompte #${d.index}` });
  }

  const lines = children(root, 'line');
  if (lines.length === 0) return whole({ code: 'invalid_structure', path: ['line'], message: `${label} has no <line>` });

  const events = lines.map((node, i): IngestEvent => {
    const tag = lineTags[i];
    const origin: Origin = { ...d.where, record: firstRecord + i, textLine: tag?.textLine ?? d.textLine };
    const issues = [...shared];
    const own = { ...fields };
    readAttributes(node, 'line', LINE_ATTRS, own, issues);
    if (node['#text'] !== undefined || Object.keys(node).some((k) => k !== '@' && k !== '#text')) {
      issues.push({ code: 'invalid_structure', path: ['line'], message: '<line> holds content: all its data are attributes' });
    }
    const parsed = ActLineSchema.safeParse(candidateFromText(own, 'noemie'), { reportInput: true });
    if (parsed.success && issues.length === 0) return { kind: 'line', line: parsed.data, origin };
    const zodIssues = parsed.success ? [] : fromZodIssues(parsed.error.issues, toXmlPath).map(missingAttribute);
    // An attribute that could not be decoded already has its issue; zod's echo of it adds nothing.
    const said = new Set(issues.map((x) => x.path.join('.')));
    return reject(origin, [...issues, ...zodIssues.filter((x) => !said.has(x.path.join('.')))], `${tag?.context ?? ''}${tag?.text ?? ''}`);
  });
  return { events, records };
}

function readAttributes(node: XmlNode, element: XmlElement, names: Record<string, keyof ActLine>, into: Partial<Record<keyof ActLine, string>>, issues: RecordIssue[]): void {
  for (const [attr, raw] of Object.entries(node['@'] ?? {})) {
    const field = names[attr];
    if (field === undefined) {
      issues.push({ code: 'unrecognized_keys', path: [element, attr], input: raw, message: `unknown attribute ${attr} on <${element}>` });
      continue;
    }
    const decoded = decodeAttribute(raw);
    if ('error' in decoded) issues.push({ code: 'invalid_entity', path: [element, attr], input: raw, message: decoded.error });
    else into[field] = decoded.value;
  }
}

function children(node: XmlNode, name: string): XmlNode[] {
  const c = node[name];
  return Array.isArray(c) ? (c as XmlNode[]).map((x) => (typeof x === 'object' && x !== null ? x : {})) : [];
}

function missingAttribute(issue: RecordIssue): RecordIssue {
  if (issue.code !== 'invalid_type' || issue.input !== undefined || issue.path.length !== 2) return issue;
  return { ...issue, message: `missing attribute ${String(issue.path[1])} on <${String(issue.path[0])}>` };
}

function toXmlPath(path: PropertyKey[]): (string | number)[] {
  const head = path[0];
  return typeof head === 'string' && FIELD_TO_XML[head] !== undefined ? [...FIELD_TO_XML[head]] : path.map((p) => (typeof p === 'number' ? p : String(p)));
}

/** Text line and source text of each `<line>` start tag, in document order (the parser keeps that order). */
function findLineTags(d: DecompteText): { textLine: number; text: string; context: string }[] {
  const xml = d.xml;
  const headEnd = startTagEnd(xml, 0);
  const benAt = xml.search(/<beneficiary[\s/>]/);
  const benEnd = benAt === -1 ? -1 : startTagEnd(xml, benAt);
  // Each rejected line carries the décompte and beneficiary tags, so its raw text stands alone.
  const context = `${xml.slice(0, headEnd + 1)}\n${benEnd === -1 ? '' : `${xml.slice(benAt, benEnd + 1)}\n`}`;
  const tags: { textLine: number; text: string; context: string }[] = [];
  let line = d.textLine;
  let from = 0;
  LINE_START.lastIndex = 0;
  for (let m = LINE_START.exec(xml); m !== null; m = LINE_START.exec(xml)) {
    line += countNewlines(xml, from, m.index);
    from = m.index;
    const end = startTagEnd(xml, m.index);
    tags.push({ textLine: line, text: xml.slice(m.index, end === -1 ? m.index + 200 : end + 1), context });
  }
  return tags;
}

function reject(origin: Origin, issues: RecordIssue[], raw: string): IngestEvent {
  return { kind: 'reject', rejected: { origin, issues, raw } };
}
