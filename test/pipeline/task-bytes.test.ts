import { describe, expect, it } from 'vitest';
import { textOfBytes, utf8Views } from '../../src/pipeline/task-bytes.js';

describe('a task’s texts as UTF-8 views on one buffer (task-bytes.ts)', () => {
  it('gives each text back exactly, multi-byte characters and empty texts included, all on one buffer laid end to end', () => {
    const texts = ['{"a":1}', '', 'é', 'régularisation — 9,00 €', '😀 plane 1 and 2', 'x'.repeat(5000)];
    const { buffer, views } = utf8Views(texts);
    expect(views.map(textOfBytes)).toEqual(texts);
    for (const v of views) expect(v.buffer).toBe(buffer);
    expect(buffer.byteLength).toBe(texts.reduce((n, t) => n + Buffer.byteLength(t), 0));
    // laid end to end, in order: each view starts where the previous one ended
    views.reduce((at, v) => (expect(v.byteOffset).toBe(at), at + v.byteLength), 0);
    // é is 2 bytes, the emoji 4: a view is the UTF-8, not one byte per UTF-16 unit
    expect(views[2]!.byteLength).toBe(2);
  });

  it('survives a transfer: the views arrive on the moved buffer, as a worker sends them', () => {
    const { buffer, views } = utf8Views(['{"settlement":1}', '{"key":"F#L","value":"{\\"v\\":3}"}']);
    const moved = structuredClone({ views, buffer }, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(0); // detached here: nothing was copied
    expect(moved.views.map(textOfBytes)).toEqual(['{"settlement":1}', '{"key":"F#L","value":"{\\"v\\":3}"}']);
    expect(moved.views[1]!.buffer).toBe(moved.buffer);
  });

  it('a string is its own text', () => {
    expect(textOfBytes('déjà')).toBe('déjà');
  });
});
