import { Buffer } from 'node:buffer';

/**
 * The texts a liquidation task sends back (settlements' JSON, ledger pieces' text and changelog
 * records: ≈ 3.4 KB a line), as UTF-8 views on an ArrayBuffer that the worker transfers to the
 * service's thread instead of cloning the strings (workers/liquidate.worker.ts). Cloned, every
 * text was copied into the message, then into a new string on the service's heap, where it lived
 * through the batch's produce and the store's staging — young-generation copies and promotions
 * that the GC helper threads paid (bench/README.md "Session 14 — liquidation"). As bytes they are
 * off the heap, and the bus writes them into its log as they are (`OutgoingText.json`), the store
 * into LevelDB (level-store.ts `put` of bytes): nothing encodes them to UTF-8 again.
 */
export function utf8Views(texts: readonly string[]): { buffer: ArrayBuffer; ends: Uint32Array; views: Uint8Array[] } {
  const { buffer, ends } = packUtf8(texts);
  return { buffer, ends, views: viewsOf(buffer, ends) };
}

/** The texts `packUtf8` put back to back in `buffer` (or their first `ends.length`), each as a view: where each starts is where the one before ends. */
export function viewsOf(buffer: ArrayBuffer, ends: ArrayLike<number>): Uint8Array[] {
  const views = new Array<Uint8Array>(ends.length);
  let at = 0;
  for (let i = 0; i < ends.length; i++) {
    views[i] = new Uint8Array(buffer, at, ends[i]! - at);
    at = ends[i]!;
  }
  return views;
}

/**
 * Texts (strings written as UTF-8, bytes copied as they are) back to back in one new ArrayBuffer,
 * with where each ends (it starts where the one before ends): what crosses between the service's
 * thread and a liquidation worker as one transferable buffer, both ways (`utf8Views` back,
 * task-lines.ts `packRaw` out).
 */
export function packUtf8(texts: readonly (string | Uint8Array)[]): { buffer: ArrayBuffer; ends: Uint32Array } {
  let total = 0;
  for (const t of texts) total += typeof t === 'string' ? Buffer.byteLength(t, 'utf8') : t.byteLength;
  const buffer = new ArrayBuffer(total);
  const out = Buffer.from(buffer);
  const ends = new Uint32Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    if (typeof t === 'string') at += out.write(t, at, 'utf8');
    else {
      out.set(t, at);
      at += t.byteLength;
    }
    ends[i] = at;
  }
  return { buffer, ends };
}

/** A text given as a string or as its UTF-8 bytes, as a string: the bus codec's reader of `OutgoingText.json`. */
export { textOfBytes } from '../bus/codec.js';
