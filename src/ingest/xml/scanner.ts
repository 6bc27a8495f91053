import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { IngestError } from '../types.js';
import type { ErrorContext } from '../../model/errors.js';

/**
 * Cuts a `<decomptes>` document into its `<decompte>` elements without holding more than one of
 * them (fast-xml-parser builds a whole tree, so it only ever sees one décompte at a time).
 *
 * The scanner knows just enough XML to find the cuts: the prolog (declaration, comments), the
 * root element, whitespace and comments between décomptes, and the end of each `<decompte>`. It
 * refuses a DOCTYPE or ENTITY declaration anywhere (entity expansion), any other content outside
 * the décomptes, and a document that ends early. What sits inside a décompte is left to the
 * parser. A décompte longer than `maxDecompteChars` is skipped without being kept (an
 * `oversize` item) so that a hostile element cannot grow memory.
 */
export type ScanItem =
  | { kind: 'decompte'; index: number; textLine: number; xml: string }
  | { kind: 'oversize'; index: number; textLine: number; chars: number; lineElements: number };

type State = 'prolog' | 'root' | 'decompte' | 'skip' | 'epilog';

const DTD = /<!(DOCTYPE|ENTITY)/i;
/** Tokens that may start at the scan position in each state between décomptes (name ends excluded). */
const NEXT_TOKENS: Record<State, readonly string[]> = {
  prolog: ['<!--', '<?', '<decomptes'],
  root: ['<!--', '<?', '</decomptes', '<decompte'],
  epilog: ['<!--', '<?'],
  decompte: [],
  skip: [],
};
const LINE_START = /<line[\s/>]/g;
const CLOSE = /<\/decompte\s*>/g;
/** Long enough to hold `</decompte` plus whitespace split across two chunks. */
const TAIL = 32;

export async function* scanDecomptes(stream: Readable, maxDecompteChars: number, where: ErrorContext): AsyncGenerator<ScanItem> {
  const scanner = new Scanner(maxDecompteChars, where);
  const decoder = new StringDecoder('utf8');
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    yield* scanner.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk));
  }
  yield* scanner.feed(decoder.end());
  scanner.end();
}

class Scanner {
  private buf = '';
  private pos = 0;
  private line = 1;
  private state: State = 'prolog';
  private index = 0;
  /** décompte state: where to look for the closing tag next, relative to pos */
  private searchFrom = 0;
  private startLine = 0;
  private skipped = 0;
  private skippedLines = 0;
  private dtdTail = '';
  private linesFed = 1;

  constructor(
    private readonly maxChars: number,
    private readonly where: ErrorContext,
  ) {}

  *feed(text: string): Generator<ScanItem> {
    if (text === '') return;
    const probe = this.dtdTail + text;
    const dtd = DTD.exec(probe);
    if (dtd !== null) {
      const at = this.linesFed + countNewlines(probe, 0, dtd.index) - countNewlines(this.dtdTail, 0, this.dtdTail.length);
      throw this.error('INGEST_XML_DOCTYPE', `declares a ${dtd[1]!.toUpperCase()} at text line ${at}: DTDs and entities are refused (entity expansion attack)`, {
        textLine: at,
      });
    }
    this.linesFed += countNewlines(text, 0, text.length);
    this.dtdTail = probe.slice(-9);

    if (this.state === 'prolog' && this.buf === '' && this.line === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    this.buf = this.pos === 0 ? this.buf + text : this.buf.slice(this.pos) + text;
    this.pos = 0;
    for (;;) {
      const item = this.step();
      if (item === 'more') break;
      if (item !== null) yield item;
    }
    if (this.state !== 'decompte' && this.state !== 'skip' && this.buf.length - this.pos > this.maxChars) {
      throw this.error('INGEST_XML_MALFORMED', `has more than ${this.maxChars} characters of unfinished markup at text line ${this.line}`);
    }
  }

  end(): void {
    this.skipWhitespace();
    if (this.state === 'epilog' && this.pos >= this.buf.length) return;
    const why =
      this.state === 'prolog'
        ? 'has no <decomptes> root element'
        : this.state === 'root'
          ? `ends without </decomptes> after décompte #${this.index} (truncated?)`
          : this.state === 'epilog'
            ? `has unexpected content after </decomptes> at text line ${this.line}`
            : `ends inside décompte #${this.index} opened at text line ${this.startLine} (truncated?)`;
    throw this.error('INGEST_XML_MALFORMED', why, { record: this.index });
  }

  /** One move of the state machine: an item, null (moved without an item) or 'more' (needs text). */
  private step(): ScanItem | null | 'more' {
    switch (this.state) {
      case 'prolog':
      case 'root':
      case 'epilog':
        return this.between();
      case 'decompte':
        return this.inDecompte();
      case 'skip':
        return this.skipping();
    }
  }

  private between(): null | 'more' {
    this.skipWhitespace();
    const b = this.buf;
    const p = this.pos;
    if (p >= b.length) return 'more';
    // Too little text yet to tell which token comes next: wait for the next chunk.
    const rest = b.slice(p, p + 12);
    if (NEXT_TOKENS[this.state].some((t) => rest.length <= t.length && t.startsWith(rest))) return 'more';
    if (b.startsWith('<!--', p)) return this.jumpPast('-->', p + 4);
    if (b.startsWith('<?', p)) return this.jumpPast('?>', p + 2, (decl) => this.checkDeclaration(decl));
    if (this.state === 'prolog' && b.startsWith('<decomptes', p) && isNameEnd(b.charAt(p + 10))) {
      return this.jumpPast('>', p + 10, (tag) => {
        this.state = tag.endsWith('/>') ? 'epilog' : 'root';
      });
    }
    if (this.state === 'root') {
      if (b.startsWith('</decomptes', p)) return this.jumpPast('>', p + 11, () => (this.state = 'epilog'));
      if (b.startsWith('<decompte', p) && isNameEnd(b.charAt(p + 9))) {
        this.index += 1;
        this.state = 'decompte';
        this.startLine = this.line;
        this.searchFrom = 0;
        return null;
      }
    }
    return this.unexpected();
  }

  private inDecompte(): ScanItem | 'more' {
    const b = this.buf;
    const p = this.pos;
    let end = -1;
    if (this.searchFrom === 0) {
      // A self-closing <decompte …/> has no closing tag to look for.
      const tagEnd = startTagEnd(b, p);
      if (tagEnd === -1) return this.tooLongOrMore();
      if (b.charAt(tagEnd - 1) === '/') end = tagEnd + 1;
      else this.searchFrom = tagEnd + 1 - p;
    }
    if (end === -1) {
      CLOSE.lastIndex = p + this.searchFrom;
      const m = CLOSE.exec(b);
      if (m === null) {
        this.searchFrom = Math.max(this.searchFrom, b.length - p - TAIL);
        return this.tooLongOrMore();
      }
      end = m.index + m[0].length;
    }
    this.state = 'root';
    if (end - p > this.maxChars) {
      // Arrived whole in one big chunk: same verdict as one that grew past the bound.
      this.skipped = 0;
      this.skippedLines = 0;
      this.drop(end);
      return { kind: 'oversize', index: this.index, textLine: this.startLine, chars: this.skipped, lineElements: this.skippedLines };
    }
    const xml = b.slice(p, end);
    this.line += countNewlines(b, p, end);
    this.pos = end;
    return { kind: 'decompte', index: this.index, textLine: this.startLine, xml };
  }

  private tooLongOrMore(): 'more' {
    if (this.buf.length - this.pos > this.maxChars) {
      this.state = 'skip';
      this.skipped = 0;
      this.skippedLines = 0;
      this.drop(this.buf.length - TAIL);
    }
    return 'more';
  }

  private skipping(): ScanItem | 'more' {
    CLOSE.lastIndex = this.pos;
    const m = CLOSE.exec(this.buf);
    if (m === null) {
      this.drop(this.buf.length - TAIL);
      return 'more';
    }
    const end = m.index + m[0].length;
    this.drop(end);
    this.state = 'root';
    return { kind: 'oversize', index: this.index, textLine: this.startLine, chars: this.skipped, lineElements: this.skippedLines };
  }

  /** Forgets buf[pos, to) of an oversize décompte, keeping only its counts. */
  private drop(to: number): void {
    if (to <= this.pos) return;
    LINE_START.lastIndex = this.pos;
    for (let m = LINE_START.exec(this.buf); m !== null && m.index < to; m = LINE_START.exec(this.buf)) this.skippedLines += 1;
    this.line += countNewlines(this.buf, this.pos, to);
    this.skipped += to - this.pos;
    this.buf = this.buf.slice(to);
    this.pos = 0;
  }

  private jumpPast(marker: string, from: number, onDone?: (text: string) => void): null | 'more' {
    const at = this.buf.indexOf(marker, from);
    if (at === -1) return 'more';
    const end = at + marker.length;
    const text = this.buf.slice(this.pos, end);
    this.line += countNewlines(this.buf, this.pos, end);
    this.pos = end;
    onDone?.(text);
    return null;
  }

  private checkDeclaration(decl: string): void {
    const enc = /encoding\s*=\s*["']([^"']+)["']/.exec(decl)?.[1];
    if (enc !== undefined && !/^(utf-?8|us-ascii)$/i.test(enc)) {
      throw this.error('INGEST_XML_MALFORMED', `declares encoding ${enc}: décompte XML must be UTF-8`);
    }
  }

  private skipWhitespace(): void {
    const b = this.buf;
    let p = this.pos;
    while (p < b.length) {
      const c = b.charCodeAt(p);
      if (c === 0x0a) this.line += 1;
      else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
      p += 1;
    }
    this.pos = p;
  }

  private unexpected(): never {
    const found = this.buf.slice(this.pos, this.pos + 30).replace(/\s+/g, ' ');
    const place = this.state === 'prolog' ? 'before the <decomptes> root' : this.state === 'root' ? `after décompte #${this.index}` : 'after </decomptes>';
    throw this.error('INGEST_XML_MALFORMED', `has unexpected content ${place} at text line ${this.line}: "${found}"`, { record: this.index });
  }

  private error(code: 'INGEST_XML_DOCTYPE' | 'INGEST_XML_MALFORMED', why: string, extra: ErrorContext = {}): IngestError {
    const name = this.where.entry ? `${String(this.where.file)}!${this.where.entry}` : String(this.where.file);
    return new IngestError(code, `${name} ${why}`, { ...this.where, textLine: this.line, ...extra });
  }
}

/** Index of the `>` closing the start tag at `from`, quote-aware (`>` is legal in attribute values), or -1. */
export function startTagEnd(b: string, from: number): number {
  let quote = '';
  for (let i = from + 1; i < b.length; i += 1) {
    const c = b.charAt(i);
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  return -1;
}

function isNameEnd(c: string): boolean {
  return c === '>' || c === '/' || c === ' ' || c === '\n' || c === '\r' || c === '\t';
}

export function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i !== -1 && i < to; i = s.indexOf('\n', i + 1)) n += 1;
  return n;
}
