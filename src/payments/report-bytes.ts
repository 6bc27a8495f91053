import { escapeHtml, euros } from '../statement/format.js';

/**
 * The bulk of report.json and report.html — one settled row per due line — written as UTF-8 bytes
 * straight into the chunk's buffer. As strings, each row was a template (a rope of a dozen pieces),
 * a JSON.stringify or an `euros` per field, then the chunk's join, all on the main thread's heap
 * and garbage once the chunk was written: the payment stage's largest allocator after its store
 * reads (bench/README.md "Session 23 — alloc"). The bytes are the strings' own, field for field:
 * what this writer cannot write as the string path would (an escape, a field that is not plain
 * text, an amount that is not Money), it writes from that path's string.
 */
export class ChunkBytes {
  private buf: Buffer;
  private n = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 256));
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.n + k));
    this.buf.copy(grown, 0, 0, this.n);
    this.buf = grown;
  }

  /** bytes made once (a row's fixed parts) */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  /** a string as UTF-8 (ASCII byte by byte: a native call per short field costs more) */
  text(s: string): void {
    const len = s.length;
    this.room(3 * len);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.n += buf.write(s, this.n);
        return;
      }
      buf[n++] = c;
    }
    this.n = n;
  }

  /** JSON.stringify(s)'s bytes: quoted as it is when nothing in it is escaped (no quote, backslash, control character, surrogate) */
  jsonString(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
        this.text(JSON.stringify(s));
        return;
      }
    }
    this.byte(0x22);
    this.text(s);
    this.byte(0x22);
  }

  /** `${v}` / JSON.stringify(v) of a finite number: a small whole one digit by digit */
  number(v: number): void {
    if (Number.isInteger(v) && v >= 0 && v < 1e15) {
      let digits = 1;
      for (let p = 10; p <= v; p *= 10) digits++;
      this.room(digits);
      for (let i = this.n + digits - 1, x = v; i >= this.n; i--, x = Math.floor(x / 10)) this.buf[i] = 0x30 + (x % 10);
      this.n += digits;
      return;
    }
    this.text(String(v));
  }

  /** escapeHtml(s)'s bytes */
  html(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // & < > " '
      if (c === 0x26 || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x27) {
        this.text(escapeHtml(s));
        return;
      }
    }
    this.text(s);
  }

  /**
   * escapeHtml(euros(m, '\u00a0'))'s bytes: for a Money string (`-?d+.dd`) the French form written
   * here — `−` for a minus, the whole euros grouped by three with no-break spaces, a comma, the
   * cents, a no-break space and `€` — as `euros` makes it; anything else through `euros` itself.
   */
  eurosHtml(m: string): void {
    const len = m.length;
    const negative = len > 0 && m.charCodeAt(0) === 0x2d;
    const from = negative ? 1 : 0;
    const dot = len - 3;
    let money = dot > from && m.charCodeAt(dot) === 0x2e && isDigit(m.charCodeAt(len - 2)) && isDigit(m.charCodeAt(len - 1));
    for (let i = from; money && i < dot; i++) money = isDigit(m.charCodeAt(i));
    if (!money) {
      this.html(euros(m, '\u00a0'));
      return;
    }
    this.room(3 + 2 * (dot - from) + 3 + 2 + 3);
    const buf = this.buf;
    let n = this.n;
    if (negative) n = put(buf, n, MINUS);
    for (let i = from; i < dot; i++) {
      // a no-break space before each group of three counted from the cents (none before the first digit)
      if (i > from && (dot - i) % 3 === 0) n = put(buf, n, NBSP);
      buf[n++] = m.charCodeAt(i);
    }
    buf[n++] = 0x2c;
    buf[n++] = m.charCodeAt(len - 2);
    buf[n++] = m.charCodeAt(len - 1);
    n = put(buf, n, NBSP);
    this.n = put(buf, n, EURO);
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }

  /** the bytes written (a view: the buffer is this chunk's alone) */
  take(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const MINUS = Buffer.from('−');
const NBSP = Buffer.from('\u00a0');
const EURO = Buffer.from('€');

function put(buf: Buffer, n: number, b: Buffer): number {
  for (let i = 0; i < b.length; i++) buf[n + i] = b[i]!;
  return n + b.length;
}
