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
export function utf8Views(texts: readonly string[]): { buffer: ArrayBuffer; views: Uint8Array[] } {
  const sizes = new Array<number>(texts.length);
  let total = 0;
  for (let i = 0; i < texts.length; i++) total += sizes[i] = Buffer.byteLength(texts[i]!, 'utf8');
  const buffer = new ArrayBuffer(total);
  const bytes = Buffer.from(buffer);
  const views = new Array<Uint8Array>(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const size = sizes[i]!;
    bytes.write(texts[i]!, at, size, 'utf8');
    views[i] = new Uint8Array(buffer, at, size);
    at += size;
  }
  return { buffer, views };
}

/** A text given as a string or as its UTF-8 bytes, as a string: the bus codec's reader of `OutgoingText.json`. */
export { textOfBytes } from '../bus/codec.js';
